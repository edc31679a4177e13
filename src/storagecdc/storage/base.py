"""The object-store seam. Keys are relative to the store's root prefix and always use ``/``.

Implementations: ``storage.s3.S3Store`` (the only module that imports boto3) and ``storage.local.LocalStore``.
Every implementation passes the same conformance suite (tests/storage/test_conformance.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One listed object."""

    key: str
    size: int


class ObjectStore(Protocol):
    """Create-only-capable blob storage under one root prefix."""

    @property
    def display_uri(self) -> str:
        """The store's URI with every secret removed, for logs and errors."""
        ...

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """Write ``data`` at ``key``, durably, all or nothing.

        With ``create_only``, an existing object is never replaced: if one exists with identical bytes the
        call succeeds (a retried PUT that already landed), otherwise it raises ``ObjectExistsError``.
        """
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFoundError`` when it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in ascending key order."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when it does not exist."""
        ...

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and an opaque version token (the ETag on S3)."""
        ...

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        """Replace the object only if its version token is still ``version`` (``None``: only if absent).

        Returns the new version token; raises ``ObjectExistsError`` when the condition fails. Used for the
        owner record that fences concurrent changefeeds.
        """
        ...

    def close(self) -> None: ...


MAX_KEY_BYTES = 1024
"""S3's limit on a full key; stores refuse longer keys up front."""


def check_key(key: str) -> None:
    """Refuse a key no store can hold safely: empty, absolute, ``.``/``..``/empty segments, NUL, over-long.

    A caller's mistake, so ``ValueError``; keys built by ``storage.paths`` always pass.
    """
    if not key or key.startswith("/") or key.endswith("/"):
        raise ValueError(f"invalid object key {key!r}: empty or starts/ends with '/'")
    if "\x00" in key or "\\" in key:
        raise ValueError(f"invalid object key {key!r}: contains NUL or backslash")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"invalid object key {key!r}: empty, '.' or '..' segment")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise ValueError(f"invalid object key {key[:80]!r}...: longer than {MAX_KEY_BYTES} bytes")


class ForwardingStore:
    """An ``ObjectStore`` that passes every call to ``inner``: wrappers (fencing, metrics, failpoints, the
    simulator's recorder) subclass it and override only the calls they watch or guard."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    @property
    def display_uri(self) -> str:
        return self.inner.display_uri

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        self.inner.put(key, data, create_only=create_only)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        return self.inner.get_versioned(key)

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        return self.inner.put_if_version(key, data, version)

    def close(self) -> None:
        self.inner.close()
