"""``file:///dir``: a local directory as an object store.

Every write goes to a temporary file in the target's directory, is fsynced, then renamed into place (or, for
create-only writes, hard-linked, which fails instead of replacing an existing file, so a concurrent writer
never overwrites), and the directory is fsynced. Temporary and lock files start with ``.storagecdc-`` and are
never listed. Conditional writes (``put_if_version``) serialise on an ``fcntl`` lock file at the root, so
they are safe across processes on one host; version tokens are SHA-256 digests of the content.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from storagecdc.errors import ObjectExistsError, ObjectNotFoundError, StorageError
from storagecdc.storage.base import ObjectInfo, check_key

_HIDDEN = ".storagecdc-"
_LOCK_NAME = ".storagecdc-lock"


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """Objects are files under ``root``; keys map to relative paths segment by segment."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).resolve()
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error("", "cannot create the root directory", exc) from exc

    @property
    def root(self) -> Path:
        return self._root

    @property
    def display_uri(self) -> str:
        return self._root.as_uri()

    def _error(self, key: str, what: str, exc: OSError) -> StorageError:
        reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or type(exc).__name__)
        return StorageError(f"{what} for key {key!r} in {self.display_uri}: {reason}",
                            retryable=exc.errno in (errno.EAGAIN, errno.EINTR))

    def _path(self, key: str) -> Path:
        check_key(key)
        if any(seg.startswith(_HIDDEN) for seg in key.split("/")):
            raise ValueError(f"invalid object key {key!r}: segments starting with {_HIDDEN!r} are reserved")
        return self._root.joinpath(*key.split("/"))

    def _makedirs(self, directory: Path) -> None:
        missing = []
        d = directory
        while not d.is_dir():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):
                d.mkdir()
            _fsync_dir(d.parent)

    def _write_temp(self, path: Path, data: bytes) -> Path:
        self._makedirs(path.parent)
        tmp = path.parent / f"{_HIDDEN}tmp-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        path = self._path(key)
        try:
            tmp = self._write_temp(path, data)
            try:
                if create_only:
                    try:
                        os.link(tmp, path)
                    except FileExistsError:
                        if path.read_bytes() == bytes(data):
                            return
                        raise ObjectExistsError(f"object {key!r} already exists in {self.display_uri} "
                                                "with different content") from None
                else:
                    os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            _fsync_dir(path.parent)
        except StorageError:
            raise
        except OSError as exc:
            raise self._error(key, "write failed", exc) from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFoundError(f"object {key!r} not found in {self.display_uri}") from None
        except OSError as exc:
            raise self._error(key, "read failed", exc) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base, _, _ = prefix.rpartition("/")
        start = self._root.joinpath(*base.split("/")) if base else self._root
        rel = base + "/" if base else ""
        if not start.is_dir():
            return
        yield from self._walk(start, rel, prefix)

    def _walk(self, directory: Path, rel: str, prefix: str) -> Iterator[ObjectInfo]:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._error(rel, "listing failed", exc) from exc
        keyed = []
        for entry in entries:
            if entry.name.startswith(_HIDDEN):
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            keyed.append((entry.name + "/" if is_dir else entry.name, is_dir, entry))
        keyed.sort(key=lambda item: item[0])
        for name, is_dir, entry in keyed:
            full = rel + name
            if is_dir:
                if full.startswith(prefix) or prefix.startswith(full):
                    yield from self._walk(Path(entry.path), full, prefix)
            elif full.startswith(prefix):
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
                yield ObjectInfo(full, size)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise self._error(key, "delete failed", exc) from exc

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        data = self.get(key)
        return data, _version(data)

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        path = self._path(key)
        try:
            lock_fd = os.open(self._root / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise self._error(key, "cannot open the lock file", exc) from exc
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                current: str | None = _version(path.read_bytes())
            except FileNotFoundError:
                current = None
            if current != version:
                raise ObjectExistsError(f"conditional write of {key!r} in {self.display_uri} failed: "
                                        "the object changed")
            self.put(key, data)
            return _version(bytes(data))
        except StorageError:
            raise
        except OSError as exc:
            raise self._error(key, "conditional write failed", exc) from exc
        finally:
            os.close(lock_fd)

    def close(self) -> None:
        """Nothing to release."""
