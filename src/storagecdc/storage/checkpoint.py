"""The root ``metadata`` checkpoint: ``{"checkpoint-ts":N}``, compact, no trailing newline.

Every transaction with a smaller commit-ts is durable in storage. The writer never moves it backwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from storagecdc.errors import ConsumerError, ObjectNotFoundError, StorageError
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import METADATA_KEY


def build_checkpoint(checkpoint_ts: int) -> bytes:
    if not 0 <= checkpoint_ts < 1 << 64:
        raise ValueError(f"checkpoint-ts {checkpoint_ts} is not an unsigned 64-bit value")
    return b'{"checkpoint-ts":%d}' % checkpoint_ts


def parse_checkpoint(data: bytes, key: str = METADATA_KEY) -> int:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConsumerError(f"checkpoint {key!r} is not valid JSON: {exc}") from exc
    ts = obj.get("checkpoint-ts") if isinstance(obj, dict) else None
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise ConsumerError(f"checkpoint {key!r} has no unsigned integer checkpoint-ts: {data[:80]!r}")
    return ts


def read_checkpoint(store: ObjectStore) -> int | None:
    """The stored checkpoint-ts, or None when no ``metadata`` object exists yet."""
    try:
        return parse_checkpoint(store.get(METADATA_KEY))
    except ObjectNotFoundError:
        return None


class CheckpointWriter:
    """Advances ``metadata``; refuses to move it backwards, skips writes that would not change it.

    ``fence`` (e.g. ``OwnerLease.check``) runs before every write and raises ``FencedError`` when this
    process no longer owns the prefix.
    """

    def __init__(self, store: ObjectStore, *, fence: Callable[[], None] | None = None) -> None:
        self._store = store
        self._fence = fence
        self._current: int | None = None
        self._loaded = False

    @property
    def current(self) -> int | None:
        """The last checkpoint written or read (None before the first)."""
        if not self._loaded:
            self._current = read_checkpoint(self._store)
            self._loaded = True
        return self._current

    def write(self, checkpoint_ts: int) -> bool:
        """Write ``checkpoint_ts``; False when it equals the current one. A smaller value is refused."""
        current = self.current
        if current is not None and checkpoint_ts < current:
            raise StorageError(f"refusing to move the checkpoint in {self._store.display_uri} backwards "
                               f"from {current} to {checkpoint_ts}")
        if checkpoint_ts == current:
            return False
        if self._fence is not None:
            self._fence()
        self._store.put(METADATA_KEY, build_checkpoint(checkpoint_ts))
        self._current = checkpoint_ts
        return True
