"""The checkpoint, syncpoint markers and the owner record (fencing), on every store."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from storagecdc.errors import ConsumerError, FencedError, StorageError
from storagecdc.model import TableName
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.checkpoint import CheckpointWriter, build_checkpoint, parse_checkpoint, read_checkpoint
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.owner import OwnerLease, OwnerRecord, parse_owner
from storagecdc.storage.paths import METADATA_KEY, OWNER_KEY
from storagecdc.storage.syncpoint import SyncpointMarker, SyncpointTable, parse_syncpoint


class Clock:
    def __init__(self, ms: int = 1_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += int(seconds * 1000) + 1


def test_checkpoint_bytes() -> None:
    assert build_checkpoint(433305438660591626) == b'{"checkpoint-ts":433305438660591626}'
    assert parse_checkpoint(b'{"checkpoint-ts":433305438660591626}') == 433305438660591626
    for bad in (b"", b"{}", b'{"checkpoint-ts":-1}', b'{"checkpoint-ts":"5"}', b"[1]"):
        with pytest.raises(ConsumerError):
            parse_checkpoint(bad)


def test_checkpoint_never_goes_backwards(store: ObjectStore) -> None:
    assert read_checkpoint(store) is None
    writer = CheckpointWriter(store)
    assert writer.write(100)
    assert not writer.write(100)
    assert writer.write(200)
    with pytest.raises(StorageError, match="backwards"):
        writer.write(150)
    assert store.get(METADATA_KEY) == b'{"checkpoint-ts":200}'
    restarted = CheckpointWriter(store)
    with pytest.raises(StorageError, match="backwards"):
        restarted.write(199)
    assert restarted.current == 200


def test_syncpoint_marker_round_trip() -> None:
    marker = SyncpointMarker(500, (
        SyncpointTable(TableName("db", "z"), 400, {"": ("db/z/400/2024-01-01/CDC000002.csv",)}),
        SyncpointTable(TableName("..", "a/b"), 300, {
            "d-2": ("%2E%2E/a%2Fb/300/2024-01-01/CDC_d-2_000001.csv",),
            "d-1": ("%2E%2E/a%2Fb/300/2024-01-01/CDC_d-1_000004.csv",)}),
        SyncpointTable(TableName("db", "empty"), 450),
    ))
    assert marker.key == "_storagecdc/syncpoint/00000000000000000500.json"
    data = marker.to_json()
    assert data == (
        b'{"commit-ts":500,"tables":['
        b'{"schema":"..","table":"a/b","version":300,"spans":['
        b'{"dispatcher":"d-1","files":["%2E%2E/a%2Fb/300/2024-01-01/CDC_d-1_000004.csv"]},'
        b'{"dispatcher":"d-2","files":["%2E%2E/a%2Fb/300/2024-01-01/CDC_d-2_000001.csv"]}]},'
        b'{"schema":"db","table":"empty","version":450,"spans":[]},'
        b'{"schema":"db","table":"z","version":400,"spans":[{"dispatcher":"","files":'
        b'["db/z/400/2024-01-01/CDC000002.csv"]}]}]}')
    back = parse_syncpoint(data, marker.key)
    assert back.commit_ts == 500
    assert {t.name: t for t in back.tables} == {t.name: t for t in marker.tables}
    with pytest.raises(ConsumerError, match="00000000000000000500"):
        parse_syncpoint(b'{"commit-ts":"x"}', marker.key)


def test_owner_record_bytes() -> None:
    record = OwnerRecord("cf", 3, "h:1:ab", 99)
    assert record.to_json() == b'{"changefeed":"cf","epoch":3,"holder":"h:1:ab","lease-expires-ms":99}'
    assert parse_owner(record.to_json()) == record
    with pytest.raises(ConsumerError):
        parse_owner(b"{}")


def test_newer_epoch_fences_the_older_holder(store: ObjectStore) -> None:
    clock = Clock()
    a = OwnerLease(store, "cf", holder="A", lease_ms=10_000, now_ms=clock, sleep=clock.sleep)
    b = OwnerLease(store, "cf", holder="B", lease_ms=10_000, now_ms=clock, sleep=clock.sleep)
    assert a.acquire().epoch == 1
    a.check()
    with pytest.raises(FencedError, match="owned by A"):
        b.acquire()
    clock.ms += 4_000
    a.check()
    clock.ms += 2_000
    a.check()  # past half the lease: renews
    assert a.record is not None
    assert a.record.lease_expires_ms == clock.ms + 10_000
    clock.ms += 10_001  # A died: its lease is stale
    assert b.acquire().epoch == 2
    with pytest.raises(FencedError, match="owned by B"):
        a.check()
    with pytest.raises(FencedError, match="owned by B"):
        a.renew()
    b.check()
    writer = CheckpointWriter(store, fence=a.check)
    with pytest.raises(FencedError):
        writer.write(10)
    assert not store.exists(METADATA_KEY)


def test_waiting_for_a_stale_lease_and_release(store: ObjectStore) -> None:
    clock = Clock()
    a = OwnerLease(store, "cf", holder="A", lease_ms=5_000, now_ms=clock, sleep=clock.sleep)
    b = OwnerLease(store, "cf", holder="B", lease_ms=5_000, now_ms=clock, sleep=clock.sleep)
    a.acquire()
    assert b.acquire(wait_s=10).epoch == 2
    assert clock.ms >= 1_005_000
    b.release()
    c = OwnerLease(store, "cf", holder="C", lease_ms=5_000, now_ms=clock, sleep=clock.sleep)
    assert c.acquire().epoch == 3
    other = OwnerLease(store, "other-changefeed", holder="D", now_ms=clock, sleep=clock.sleep)
    with pytest.raises(FencedError, match="another changefeed"):
        other.acquire(wait_s=60)


def test_concurrent_acquire_has_one_winner() -> None:
    store = MemoryStore()
    winners: list[str] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(8)

    def run(name: str) -> None:
        lease = OwnerLease(store, "cf", holder=name)
        barrier.wait()
        try:
            lease.acquire()
            winners.append(name)
        except FencedError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert len(errors) == 7
    assert parse_owner(store.get(OWNER_KEY)).holder == winners[0]


def _race_for_owner(root: str, name: str, start: float) -> str:
    time.sleep(max(0.0, start - time.time()))
    try:
        OwnerLease(LocalStore(root), "cf", holder=name).acquire()
    except FencedError:
        return "fenced"
    return "won"


def test_processes_racing_for_a_local_prefix_have_one_winner(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = time.time() + 2.0
    with ctx.Pool(4) as pool:
        results = pool.starmap(_race_for_owner, [(str(tmp_path), f"p{i}", start) for i in range(4)])
    assert sorted(results) == ["fenced", "fenced", "fenced", "won"]
    winner = f"p{results.index('won')}"
    assert parse_owner(LocalStore(tmp_path).get(OWNER_KEY)).holder == winner
