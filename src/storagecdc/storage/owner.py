"""The owner record (``_storagecdc/owner.json``) that fences concurrent changefeeds on one sink prefix.

A process takes the prefix by writing the record with a new epoch through a conditional write
(``put_if_version``: ``If-None-Match: *`` when absent, ``If-Match: <etag>`` otherwise), and keeps it by
renewing its lease. Before every checkpoint and block-event write it calls ``check``: if another process has
written a newer epoch, ``check`` raises ``FencedError`` and this process must stop. A record whose lease has
expired (its holder died) is taken over with epoch + 1; a live lease of another holder is never taken.
Lease expiry is wall-clock milliseconds, so hosts sharing a prefix need roughly synchronised clocks.

Record: compact JSON ``{"changefeed":..,"epoch":N,"holder":..,"lease-expires-ms":N}``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from storagecdc.errors import ConsumerError, FencedError, ObjectExistsError, ObjectNotFoundError
from storagecdc.storage import gojson
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import OWNER_KEY

DEFAULT_LEASE_MS = 30_000


@dataclass(frozen=True, slots=True)
class OwnerRecord:
    changefeed: str
    epoch: int
    holder: str
    lease_expires_ms: int

    def to_json(self) -> bytes:
        return gojson.marshal({"changefeed": self.changefeed, "epoch": self.epoch, "holder": self.holder,
                               "lease-expires-ms": self.lease_expires_ms})


def parse_owner(data: bytes) -> OwnerRecord:
    try:
        obj = json.loads(data)
        record = OwnerRecord(str(obj["changefeed"]), int(obj["epoch"]), str(obj["holder"]),
                             int(obj["lease-expires-ms"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ConsumerError(f"owner record {OWNER_KEY!r} is damaged: {data[:120]!r}") from exc
    return record


def default_holder() -> str:
    """``host:pid:random``: unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class OwnerLease:
    """This process's claim on a sink prefix. Not thread-safe; one owner object per changefeed process."""

    def __init__(self, store: ObjectStore, changefeed: str, *, holder: str | None = None,
                 lease_ms: int = DEFAULT_LEASE_MS, now_ms: Callable[[], int] = _wall_ms,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if lease_ms <= 0:
            raise ValueError(f"lease must be positive, got {lease_ms} ms")
        self._store = store
        self._changefeed = changefeed
        self._holder = holder or default_holder()
        self._lease_ms = lease_ms
        self._now = now_ms
        self._sleep = sleep
        self._record: OwnerRecord | None = None
        self._version: str | None = None

    @property
    def record(self) -> OwnerRecord | None:
        """The record this process last wrote (None before ``acquire``)."""
        return self._record

    def _read(self) -> tuple[OwnerRecord | None, str | None]:
        try:
            data, version = self._store.get_versioned(OWNER_KEY)
        except ObjectNotFoundError:
            return None, None
        return parse_owner(data), version

    def _fenced(self, current: OwnerRecord, why: str) -> FencedError:
        return FencedError(f"sink {self._store.display_uri} is owned by {current.holder} (changefeed "
                           f"{current.changefeed!r}, epoch {current.epoch}); this process "
                           f"({self._holder}) {why}")

    def acquire(self, wait_s: float = 0.0) -> OwnerRecord:
        """Take the prefix with a new epoch. A live lease of another holder is waited out for up to
        ``wait_s`` seconds, then ``FencedError``; an expired one is taken over."""
        deadline = self._now() + int(wait_s * 1000)
        while True:
            current, version = self._read()
            now = self._now()
            if current is not None:
                if current.changefeed != self._changefeed:
                    raise self._fenced(current, "cannot use a prefix that belongs to another changefeed")
                if current.lease_expires_ms > now and current.holder != self._holder:
                    if now >= deadline:
                        raise self._fenced(current, f"found its lease live until {current.lease_expires_ms}")
                    self._sleep(min(1.0, (min(current.lease_expires_ms, deadline) - now) / 1000 + 0.01))
                    continue
            epoch = (current.epoch if current is not None else 0) + 1
            record = OwnerRecord(self._changefeed, epoch, self._holder, now + self._lease_ms)
            try:
                self._version = self._store.put_if_version(OWNER_KEY, record.to_json(), version)
            except ObjectExistsError:
                continue  # another process wrote in between: look again
            self._record = record
            return record

    def renew(self) -> OwnerRecord:
        """Extend the lease; ``FencedError`` if another process took the prefix."""
        if self._record is None:
            raise ValueError("renew() before acquire()")
        record = replace(self._record, lease_expires_ms=self._now() + self._lease_ms)
        try:
            self._version = self._store.put_if_version(OWNER_KEY, record.to_json(), self._version)
        except ObjectExistsError:
            current, _ = self._read()
            if current is None:
                raise FencedError(f"the owner record of {self._store.display_uri} was deleted") from None
            raise self._fenced(current, f"held epoch {self._record.epoch} and is fenced") from None
        self._record = record
        return record

    def check(self) -> None:
        """Before a checkpoint or block-event write: renew when half the lease has passed, otherwise
        verify the stored record is still ours. ``FencedError`` when it is not."""
        if self._record is None:
            raise ValueError("check() before acquire()")
        if self._record.lease_expires_ms - self._now() < self._lease_ms // 2:
            self.renew()
            return
        current, version = self._read()
        if current is None:
            raise FencedError(f"the owner record of {self._store.display_uri} was deleted")
        if current != self._record:
            raise self._fenced(current, f"held epoch {self._record.epoch} and is fenced")
        self._version = version

    def release(self) -> None:
        """On clean shutdown: expire the lease now so the next process need not wait for it."""
        if self._record is None:
            return
        record = replace(self._record, lease_expires_ms=0)
        try:
            self._version = self._store.put_if_version(OWNER_KEY, record.to_json(), self._version)
        except ObjectExistsError:
            return  # fenced already; the newer owner keeps its record
        self._record = None
