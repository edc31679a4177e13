"""Fencing one ``storagecdc run`` process against every other on the same sink prefix.

``PrefixOwner`` holds the owner record (``storage.owner.OwnerLease``) for one run:

1. ``acquire()`` at start, before the resume record is read: the record is written with a new epoch by a
   conditional write. A live lease of another process is waited out for up to ``lease-wait``, then the run
   stops with ``FencedError``; a stale record (its holder died and stopped renewing) is taken over once its
   lease has expired.
2. A daemon thread renews the lease every third of ``lease``. When a renewal finds a newer epoch the process
   is fenced: the error is kept, the changefeed is asked to stop, and every later write raises it.
3. ``FencedStore`` wraps the changefeed's object store: the checkpoint (``metadata``) and syncpoint markers
   are written only after ``check()`` (the stored record is read back and must still be this process's);
   schema files, the resume record and the snapshot's records after ``check(recent=True)``, which skips
   that read while the lease was confirmed (by a conditional write of ours or a read that found the record
   ours) less than half a lease ago and at least half a lease is left; any other write (data and index
   files) only while this process's own lease has not run out (``guard()``: no request unless the lease
   must be renewed first). So a process that was paused past its lease (and was taken over meanwhile)
   writes nothing when it wakes up.

   Why skipping the read is safe: a takeover that follows the protocol waits until the lease has expired on
   the taker's clock, and a skipped check leaves at least half a lease (15 s by default) before that, so
   only a clock off by more than that (minus the write's own delay) lets a newer owner in first. A record
   rewritten by hand is still found by the next renewal (every third of a lease) and the next checkpoint
   write, which always reads. Without the skip, a changefeed of 10,000 tables would GET the owner record
   before each table's first schema file.
4. ``release()`` on exit (clean or not, unless fenced) expires the lease so the next run starts at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from storagecdc.errors import FencedError, ObjectNotFoundError, StorageCdcError
from storagecdc.runtime.resume import RESUME_KEY
from storagecdc.snapshot.state import SCHEMA_KEY as SNAPSHOT_SCHEMA_KEY
from storagecdc.snapshot.state import SNAPSHOT_KEY
from storagecdc.storage.base import ForwardingStore, ObjectStore
from storagecdc.storage.owner import OwnerLease, OwnerRecord, parse_owner
from storagecdc.storage.paths import METADATA_KEY, OWNER_KEY, SYNCPOINT_PREFIX, parse_schema_file_key

log = logging.getLogger(__name__)


class PrefixOwner:
    """This process's hold on a sink prefix. ``check``/``guard`` are thread-safe with the renewal thread."""

    def __init__(self, store: ObjectStore, changefeed_id: str, *, lease_ms: int, wait_ms: int) -> None:
        self._store = store
        self._lease = OwnerLease(store, changefeed_id, lease_ms=lease_ms)
        self._lease_ms = lease_ms
        self._wait_ms = wait_ms
        self._lock = threading.Lock()
        self._error: FencedError | None = None
        self._on_fenced: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._confirmed_ms: int | None = None
        """Wall-clock ms taken just before the last request that proved the prefix ours."""

    @property
    def record(self) -> OwnerRecord | None:
        return self._lease.record

    @property
    def fenced(self) -> FencedError | None:
        """The error that fenced this process, if one did."""
        return self._error

    def on_fenced(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (e.g. the changefeed's ``stop``) when the renewal thread finds a newer owner."""
        self._on_fenced.append(callback)

    def acquire(self) -> OwnerRecord:
        """Take the prefix (waiting for up to ``wait_ms``) and start renewing the lease."""
        self._warn_if_owned()
        record = self._lease.acquire(self._wait_ms / 1000)
        self._confirmed_ms = record.lease_expires_ms - self._lease_ms  # the moment before its write
        log.info("this process owns the sink prefix: epoch %d, holder %s", record.epoch, record.holder)
        self._thread = threading.Thread(target=self._renew_loop, name="storagecdc-lease", daemon=True)
        self._thread.start()
        return record

    def _warn_if_owned(self) -> None:
        """One line before waiting on another process's live lease (the wait may be long)."""
        if self._wait_ms <= 0:
            return
        try:
            current = parse_owner(self._store.get(OWNER_KEY))
        except ObjectNotFoundError:
            return
        left_s = (current.lease_expires_ms - _now_ms()) / 1000
        if left_s > 0:
            log.warning("the sink prefix is owned by %s (epoch %d, lease live for %.0f s more); waiting up to %.0f s",
                        current.holder, current.epoch, left_s, self._wait_ms / 1000)

    def check(self, *, recent: bool = False) -> None:
        """Before a checkpoint or block-event write: the stored owner record must still be ours. With
        ``recent``, no request while the lease was confirmed less than half a lease ago and at least half a
        lease is left (see the module's docstring, step 3)."""
        with self._lock:
            self._raise_if_fenced()
            if recent and self._confirmed_recently():
                return
            began = _now_ms()
            try:
                self._lease.check()
                self._confirmed_ms = began
            except FencedError as exc:
                self._recover_or_raise(exc)

    def _confirmed_recently(self) -> bool:
        record, confirmed = self._lease.record, self._confirmed_ms
        if record is None or confirmed is None:
            return False
        now = _now_ms()
        half = self._lease_ms // 2
        return now - confirmed < half and record.lease_expires_ms - now >= half

    def guard(self) -> None:
        """Before any other write: our lease must not have run out (it is renewed first when short)."""
        with self._lock:
            self._raise_if_fenced()
            record = self._lease.record
            if record is None:
                raise FencedError("the sink's owner lease was released; this process writes nothing more")
            if record.lease_expires_ms - _now_ms() < self._lease_ms // 3:
                self._renew_locked()

    def release(self, *, failing: bool = False) -> None:
        """Stop renewing; expire the lease unless another process fenced this one. ``failing``: the run is
        ending with an error already, so a failed release (the store is usually what failed) is not news."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._error is not None:
                return
            try:
                self._lease.release()
            except StorageCdcError as exc:  # the run is over either way; the lease then simply expires
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "could not release the owner lease (the next run waits for it to expire): %s", exc)

    def _raise_if_fenced(self) -> None:
        if self._error is not None:
            raise self._error

    def _renew_locked(self) -> None:
        began = _now_ms()
        try:
            self._lease.renew()
            self._confirmed_ms = began
        except FencedError as exc:
            self._recover_or_raise(exc)

    def _recover_or_raise(self, exc: FencedError) -> None:
        """A renewal of ours that landed although its answer was lost looks like a newer record: when the
        stored record still names this process's holder and epoch, take the prefix again (epoch + 1, by a
        conditional write); otherwise this process is fenced for good."""
        mine = self._lease.record
        try:
            current = parse_owner(self._store.get(OWNER_KEY))
        except ObjectNotFoundError:
            current = None
        if mine is not None and current is not None and (current.holder, current.epoch) == (mine.holder, mine.epoch):
            began = _now_ms()
            try:
                record = self._lease.acquire(0)
            except FencedError as again:
                self._error = again
                raise again from None
            self._confirmed_ms = began
            log.info("the owner record held an unacknowledged renewal of ours; now epoch %d", record.epoch)
            return
        self._error = exc
        raise exc

    def _renew_loop(self) -> None:
        while not self._stop.wait(self._lease_ms / 3000):
            with self._lock:
                if self._error is not None or self._lease.record is None:
                    return
                try:
                    self._renew_locked()
                    continue
                except FencedError:
                    pass
                except StorageCdcError as exc:  # a transient store error: the next round tries again
                    log.warning("renewing the owner lease failed: %s", exc)
                    continue
            log.debug("fenced: %s", self._error)
            for callback in self._on_fenced:
                callback()
            return


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def needs_check(key: str) -> bool:
    """True for the writes that ``check()`` guards: checkpoint, resume record, the snapshot's records, schema
    files, syncpoints."""
    return (key in (METADATA_KEY, RESUME_KEY, SNAPSHOT_KEY, SNAPSHOT_SCHEMA_KEY) or key.startswith(SYNCPOINT_PREFIX)
            or parse_schema_file_key(key) is not None)


def reads_owner_record(key: str) -> bool:
    """True for the guarded writes that always read the owner record first (the checkpoint and syncpoint
    markers, which consumers act on); the others (schema files, the resume record) may rely on a recently
    confirmed lease."""
    return key == METADATA_KEY or key.startswith(SYNCPOINT_PREFIX)


class FencedStore(ForwardingStore):
    """An ``ObjectStore`` whose writes happen only while ``owner`` holds the prefix (reads pass through)."""

    def __init__(self, store: ObjectStore, owner: PrefixOwner) -> None:
        super().__init__(store)
        self._owner = owner

    def _before_write(self, key: str) -> None:
        if needs_check(key):
            self._owner.check(recent=not reads_owner_record(key))
        else:
            self._owner.guard()

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        self._before_write(key)
        self.inner.put(key, data, create_only=create_only)

    def delete(self, key: str) -> None:
        self._before_write(key)
        self.inner.delete(key)

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        self._before_write(key)
        return self.inner.put_if_version(key, data, version)
