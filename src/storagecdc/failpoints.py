"""Failpoints: kill the process with SIGKILL at a chosen object write, to prove crash safety.

In the style of TiCDC's ``failpoint`` package, but configured only by the environment variable
``STORAGECDC_FAILPOINTS``, so a test or an operator reproducing an incident can stop ``storagecdc run`` at an
exact point without any code or config change. When the variable is unset or empty, ``open_store`` returns
the store itself: nothing is wrapped and nothing costs anything.

Syntax: terms separated by ``;``, each ``OP:KIND:N=ACTION``::

    STORAGECDC_FAILPOINTS="put:data:3=kill-mid"
    STORAGECDC_FAILPOINTS="put:index:2=kill-after;put:metadata:4=kill-before"

- ``OP``: ``put`` (``put`` and ``put_if_version`` both count).
- ``KIND``: which object, classified by ``storage.paths``: ``data`` (a data file), ``index`` (an index file),
  ``schema`` (a table or database schema file), ``metadata`` (the checkpoint), ``syncpoint`` (a syncpoint
  marker), ``resume`` (the resume record ``_storagecdc/resume.json``), ``owner`` (the owner record),
  ``other`` (any other key) or ``any``.
- ``N``: the N-th write of that kind by this process, counting from 1.
- ``ACTION``:

  - ``kill-before``: SIGKILL before the write starts (the object is not written);
  - ``kill-after``: SIGKILL right after the write returned (the object is durable, nothing after it ran);
  - ``kill-mid``: write the first half of the object's bytes the way the store writes a large object, then
    SIGKILL: a local store's temporary file beside the target (fsynced, never renamed into place), an S3
    store's multipart upload with one part uploaded and never completed. Other stores die as ``kill-before``.

Before it kills, the process writes one line to stderr: ``failpoint put:data:3=kill-mid fired at KEY``.
A malformed variable is a ``ConfigError`` naming the bad term.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storagecdc.errors import ConfigError
from storagecdc.runtime.resume import RESUME_KEY
from storagecdc.storage.base import ForwardingStore, ObjectStore
from storagecdc.storage.local import LocalStore
from storagecdc.storage.paths import (
    METADATA_KEY,
    OWNER_KEY,
    DateSeparator,
    parse_data_file_key,
    parse_index_file_key,
    parse_schema_file_key,
    parse_syncpoint_key,
)
from storagecdc.storage.s3 import S3Store

FAILPOINTS_ENV = "STORAGECDC_FAILPOINTS"
KINDS = frozenset({"data", "index", "schema", "metadata", "syncpoint", "resume", "owner", "other", "any"})
ACTIONS = frozenset({"kill-before", "kill-after", "kill-mid"})


@dataclass(frozen=True, slots=True)
class Failpoint:
    """One ``put:KIND:N=ACTION`` term."""

    kind: str
    nth: int
    action: str

    def __str__(self) -> str:
        return f"put:{self.kind}:{self.nth}={self.action}"


def parse_failpoints(text: str) -> tuple[Failpoint, ...]:
    """The failpoints ``text`` names (the variable's syntax); ``ConfigError`` on a malformed term."""
    out: list[Failpoint] = []
    for term in (t.strip() for t in text.split(";")):
        if not term:
            continue
        where, _, action = term.partition("=")
        parts = where.strip().split(":")
        if (len(parts) != 3 or parts[0] != "put" or parts[1] not in KINDS or not parts[2].isdigit()
                or int(parts[2]) < 1 or action.strip() not in ACTIONS):
            raise ConfigError(f"{FAILPOINTS_ENV}: bad term {term!r} (want put:KIND:N=ACTION, KIND one of "
                              f"{', '.join(sorted(KINDS))}, N >= 1, ACTION one of {', '.join(sorted(ACTIONS))})")
        out.append(Failpoint(parts[1], int(parts[2]), action.strip()))
    return tuple(out)


def classify(key: str) -> str:
    """The failpoint KIND of an object key."""
    if key == METADATA_KEY:
        return "metadata"
    if key == RESUME_KEY:
        return "resume"
    if key == OWNER_KEY:
        return "owner"
    if parse_syncpoint_key(key) is not None:
        return "syncpoint"
    if parse_schema_file_key(key) is not None:
        return "schema"
    for separator in DateSeparator:
        if parse_index_file_key(key, separator) is not None:
            return "index"
        if parse_data_file_key(key, separator) is not None:
            return "data"
    return "other"


def _kill(point: Failpoint, key: str) -> None:
    os.write(2, f"failpoint {point} fired at {key}\n".encode("utf-8", "backslashreplace"))
    os.kill(os.getpid(), signal.SIGKILL)


def _write_half(store: ObjectStore, key: str, data: bytes) -> None:
    """Half of ``data`` through the store's own large-write path, never completed (``kill-mid``)."""
    half = data[: len(data) // 2]
    # The stores' private write paths are used on purpose: the point is to die inside them.
    if isinstance(store, LocalStore):
        store._write_temp(store._path(key), half)
    elif isinstance(store, S3Store):
        client: Any = store._client
        full = store._full(key)
        upload = client.create_multipart_upload(Bucket=store.bucket, Key=full)
        client.upload_part(Bucket=store.bucket, Key=full, UploadId=upload["UploadId"], PartNumber=1, Body=half)


class FailpointStore(ForwardingStore):
    """An ``ObjectStore`` that passes every call to ``inner`` and kills the process at its failpoints."""

    def __init__(self, inner: ObjectStore, points: tuple[Failpoint, ...]) -> None:
        super().__init__(inner)
        self._points = {(p.kind, p.nth): p for p in points}
        self._kinds = {p.kind for p in points}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def _armed(self, key: str) -> list[Failpoint]:
        kind = classify(key)
        fired = []
        with self._lock:
            for k in (kind, "any"):
                if k in self._kinds:
                    n = self._counts[k] = self._counts.get(k, 0) + 1
                    point = self._points.get((k, n))
                    if point is not None:
                        fired.append(point)
        return fired

    def _before(self, points: list[Failpoint], key: str, data: bytes) -> None:
        for point in points:
            if point.action == "kill-mid":
                _write_half(self.inner, key, data)
                _kill(point, key)
            if point.action == "kill-before":
                _kill(point, key)

    def _after(self, points: list[Failpoint], key: str) -> None:
        for point in points:
            _kill(point, key)

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        points = self._armed(key)
        self._before(points, key, data)
        self.inner.put(key, data, create_only=create_only)
        self._after(points, key)

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        points = self._armed(key)
        self._before(points, key, data)
        token = self.inner.put_if_version(key, data, version)
        self._after(points, key)
        return token

    def __getattr__(self, name: str) -> Any:
        # Optional capabilities of the inner store (``conditional_writes``, ``ordered_listing``...).
        return getattr(self.inner, name)


def with_failpoints(store: ObjectStore, env: Mapping[str, str] = os.environ) -> ObjectStore:
    """``store`` wrapped in a ``FailpointStore`` when ``STORAGECDC_FAILPOINTS`` names any, else ``store``."""
    points = parse_failpoints(env.get(FAILPOINTS_ENV, ""))
    return FailpointStore(store, points) if points else store
