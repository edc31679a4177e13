"""Fencing without an owner-record read before every schema file: a recently confirmed lease is enough, and a
takeover still fences the old writer.

Real stores (a local directory) under a ``ForwardingStore`` that counts reads of the owner record and can cut
the process off from it (its requests fail as a network partition would), so the old owner's lease runs out
while it still runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.errors import FencedError, StorageError
from storagecdc.runtime.fencing import FencedStore, PrefixOwner, reads_owner_record
from storagecdc.storage import LocalStore
from storagecdc.storage.base import ForwardingStore, ObjectStore
from storagecdc.storage.owner import OwnerLease, parse_owner
from storagecdc.storage.paths import OWNER_KEY

SCHEMA = "shop/t/meta/schema_5_0000000001.json"
DATA = "shop/t/5/CDC00000000000000000001.csv"


class OwnerRecordLink(ForwardingStore):
    """Counts reads of the owner record; while ``cut``, every request for it fails (retryable)."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.reads = 0
        self.cut = False

    def _owner_request(self, key: str) -> None:
        if key == OWNER_KEY and self.cut:
            raise StorageError(f"{OWNER_KEY}: connection reset (the test cut the link)", retryable=True)

    def get(self, key: str) -> bytes:
        self._owner_request(key)
        self.reads += key == OWNER_KEY
        return self.inner.get(key)

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        self._owner_request(key)
        self.reads += key == OWNER_KEY
        return self.inner.get_versioned(key)

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        self._owner_request(key)
        return self.inner.put_if_version(key, data, version)


def _wait(what: str, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _sleep_until_ms(wall_ms: int) -> None:
    time.sleep(max(0.0, wall_ms / 1000 - time.time()))


def test_which_writes_always_read_the_owner_record() -> None:
    assert reads_owner_record("metadata") and reads_owner_record("_storagecdc/syncpoint/00000000000000000005.json")
    assert not reads_owner_record(SCHEMA) and not reads_owner_record("_storagecdc/resume.json")


def test_schema_files_need_no_owner_read_while_the_lease_is_fresh(tmp_path: Path) -> None:
    link = OwnerRecordLink(LocalStore(tmp_path))
    owner = PrefixOwner(link, "default", lease_ms=60_000, wait_ms=0)
    owner.acquire()
    store = FencedStore(link, owner)
    reads = link.reads
    for i in range(1, 101):
        store.put(f"shop/t{i}/meta/schema_5_0000000001.json", b"{}", create_only=True)
    store.put("_storagecdc/resume.json", b"{}")
    assert link.reads == reads  # 100 schema files and the resume record: no read of the owner record
    store.put("metadata", b'{"checkpoint-ts":1}')
    assert link.reads == reads + 1  # the checkpoint always reads it
    owner.release()


def test_takeover_after_the_lease_ran_out_fences_the_old_writer(tmp_path: Path) -> None:
    link = OwnerRecordLink(LocalStore(tmp_path))
    old = PrefixOwner(link, "default", lease_ms=1500, wait_ms=0)
    old.acquire()
    store = FencedStore(link, old)
    store.put(SCHEMA, b"{}", create_only=True)

    # The old owner loses the owner record (its renewals fail) and its lease runs out while it keeps running.
    link.cut = True
    expires = parse_owner(LocalStore(tmp_path).get(OWNER_KEY)).lease_expires_ms  # no renewal lands any more
    _sleep_until_ms(expires - 750 + 50)  # past half the lease: a schema file needs the record it cannot reach
    with pytest.raises(StorageError, match="cut the link"):
        store.put("shop/u/meta/schema_5_0000000001.json", b"{}", create_only=True)
    _sleep_until_ms(expires + 50)
    newer = OwnerLease(LocalStore(tmp_path), "default", holder="newer:1:x", lease_ms=60_000)
    assert newer.acquire().epoch == 2  # the lease had expired: taken over by the protocol

    # The link comes back: the old writer's next schema file, data file and checkpoint are all refused.
    link.cut = False
    for key in ("shop/v/meta/schema_5_0000000001.json", DATA, "metadata"):
        with pytest.raises(FencedError, match="epoch 2"):
            store.put(key, b"late")
    assert not any((tmp_path / key).exists() for key in ("shop/u", "shop/v", DATA, "metadata"))
    old.release()
    assert parse_owner(LocalStore(tmp_path).get(OWNER_KEY)).holder == "newer:1:x"


def test_record_rewritten_under_a_live_lease_is_found_by_the_renewal(tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    owner = PrefixOwner(local, "default", lease_ms=1500, wait_ms=0)
    owner.acquire()
    fenced_by_thread: list[bool] = []
    owner.on_fenced(lambda: fenced_by_thread.append(True))
    store = FencedStore(local, owner)
    # Not the protocol (a live lease is never taken), but a skewed clock or a hand edit can do it.
    _, version = local.get_versioned(OWNER_KEY)
    record = json.loads(local.get(OWNER_KEY))
    record.update(epoch=record["epoch"] + 1, holder="other:1:x")
    local.put_if_version(OWNER_KEY, json.dumps(record).encode(), version)
    _wait("the renewal thread to find the newer epoch", lambda: owner.fenced is not None, timeout=3.0)
    assert fenced_by_thread == [True]
    for key in (SCHEMA, DATA, "_storagecdc/resume.json", "metadata"):
        with pytest.raises(FencedError, match="epoch 2"):
            store.put(key, b"late")
    owner.release()
    assert parse_owner(local.get(OWNER_KEY)).holder == "other:1:x"
