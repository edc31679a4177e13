"""An in-memory object store with the same semantics as the real ones (for the simulator and tests).

``open_store("memory://<name>")`` returns the process-wide store of that name, so two opens share objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from storagecdc.errors import ObjectExistsError, ObjectNotFoundError
from storagecdc.storage.base import ObjectInfo, check_key


class MemoryStore:
    """A dict of bytes behind a lock; version tokens are a per-store generation counter."""

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def display_uri(self) -> str:
        return f"memory://{self._name}"

    def _next_version(self) -> str:
        self._generation += 1
        return f"g{self._generation}"

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        check_key(key)
        data = bytes(data)
        with self._lock:
            existing = self._objects.get(key)
            if create_only and existing is not None:
                if existing[0] == data:
                    return
                raise ObjectExistsError(f"object {key!r} already exists in {self.display_uri} "
                                        "with different content")
            self._objects[key] = (data, self._next_version())

    def get(self, key: str) -> bytes:
        return self.get_versioned(key)[0]

    def exists(self, key: str) -> bool:
        check_key(key)
        with self._lock:
            return key in self._objects

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            items = sorted((k, len(v[0])) for k, v in self._objects.items() if k.startswith(prefix))
        for key, size in items:
            yield ObjectInfo(key, size)

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        check_key(key)
        with self._lock:
            found = self._objects.get(key)
        if found is None:
            raise ObjectNotFoundError(f"object {key!r} not found in {self.display_uri}")
        return found

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        check_key(key)
        with self._lock:
            existing = self._objects.get(key)
            current = existing[1] if existing is not None else None
            if current != version:
                raise ObjectExistsError(f"conditional write of {key!r} in {self.display_uri} failed: "
                                        "the object changed")
            new_version = self._next_version()
            self._objects[key] = (bytes(data), new_version)
            return new_version

    def close(self) -> None:
        """Nothing to release; the objects stay for other holders of the same store."""


_REGISTRY: dict[str, MemoryStore] = {}
_REGISTRY_LOCK = threading.Lock()


def named_memory_store(name: str) -> MemoryStore:
    """The process-wide store called ``name`` (created on first use)."""
    with _REGISTRY_LOCK:
        store = _REGISTRY.get(name)
        if store is None:
            store = _REGISTRY[name] = MemoryStore(name)
        return store
