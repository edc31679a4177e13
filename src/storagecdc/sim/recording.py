"""``RecordingStore``: an ``ObjectStore`` wrapper that logs every successful put in order."""

from __future__ import annotations

from dataclasses import dataclass

from storagecdc.storage.base import ForwardingStore, ObjectStore


@dataclass(frozen=True, slots=True)
class PutRecord:
    """One put that succeeded: its position in the store's write order, and whether it created the key."""

    seq: int
    key: str
    created: bool
    data: bytes


class RecordingStore(ForwardingStore):
    """Delegates to ``inner`` and appends a ``PutRecord`` per successful put (the virtual write clock)."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.puts: list[PutRecord] = []

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        existed = self.inner.exists(key)
        self.inner.put(key, data, create_only=create_only)
        if not (existed and create_only):
            self.puts.append(PutRecord(len(self.puts), key, not existed, bytes(data)))

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        existed = self.inner.exists(key)
        token = self.inner.put_if_version(key, data, version)
        self.puts.append(PutRecord(len(self.puts), key, not existed, bytes(data)))
        return token
