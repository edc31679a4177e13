"""The file writer against the in-memory and the local store: cuts, ordering, resume, determinism, memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from storagecdc.errors import ObjectExistsError, SinkError
from storagecdc.model import Op, RowChanges, make_ts
from storagecdc.sink.formats import encoder_for
from storagecdc.sink.options import KIB, MIB, SinkOptions
from storagecdc.sink.resume_probe import TableCensus
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import MemoryStore
from tests.sink.tables import batch, col, table

T = table("orders", col("id", "INT", is_pk=True), col("note", "VARCHAR", charset="utf8mb4"), version=42)
DAY1 = make_ts(1_700_000_000_000)  # 2023-11-14
DAY2 = make_ts(1_700_000_000_000 + 86_400_000)  # 2023-11-15
DIR1 = "test/orders/42/2023-11-14/"


class RecordingStore(MemoryStore):
    """A real in-memory store that also records the order of writes."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.puts: list[str] = []

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        super().put(key, data, create_only=create_only)
        self.puts.append(key)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def writer(store: ObjectStore, clock: Clock | None = None, *, dispatcher_id: str | None = None,
           census: TableCensus | None = None, **opts: object) -> StorageTableWriter:
    options = SinkOptions(**{"protocol": "csv", **opts})  # type: ignore[arg-type]
    return StorageTableWriter(store, T, options, encoder_for(T, options), dispatcher_id=dispatcher_id,
                              clock=clock or Clock(), census=census)


def txn(ts: int, first: int, count: int, note: str = "x" * 50) -> RowChanges:
    return batch(T, Op.INSERT, [(i, note) for i in range(first, first + count)], ts=ts)


def data_keys(store: MemoryStore) -> list[str]:
    return [o.key for o in store.list() if not o.key.endswith(".index")]


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    s: ObjectStore = MemoryStore("w") if request.param == "memory" else LocalStore(tmp_path / "out")
    yield s
    s.close()


def test_flush_writes_data_then_index() -> None:
    store = RecordingStore()
    w = writer(store)
    w.append(txn(DAY1, 0, 3))
    refs = w.flush()
    assert store.puts == [DIR1 + "CDC00000000000000000001.csv", DIR1 + "meta/CDC.index"]
    assert store.get(DIR1 + "meta/CDC.index") == b"CDC00000000000000000001.csv\n"
    assert [(r.index, r.rows, r.min_commit_ts, r.max_commit_ts) for r in refs] == [(1, 3, DAY1, DAY1)]
    assert w.last_file_index() == 1
    assert w.flush() == []


def test_rotation_by_size_keeps_transactions_whole(store: ObjectStore) -> None:
    w = writer(store, file_size=KIB)
    for k in range(10):
        w.append(txn(DAY1 + k, k * 6, 6))  # ~6 * 70 bytes per transaction
    w.flush()
    files = [o.key for o in store.list(DIR1) if o.key.endswith(".csv")]
    assert len(files) > 2
    file_of_txn: dict[int, set[str]] = {}
    for key in files:
        text = store.get(key).decode()
        assert len(text) < 2 * KIB
        for line in text.splitlines():
            file_of_txn.setdefault(int(line.split(",")[3]) // 6, set()).add(key)
    assert sorted(file_of_txn) == list(range(10))
    assert all(len(keys) == 1 for keys in file_of_txn.values()), "a transaction was split across files"


def test_transaction_larger_than_file_size_is_split(store: ObjectStore) -> None:
    w = writer(store, file_size=KIB)
    big = txn(DAY1, 0, 10_000)
    w.append(big)
    w.flush()
    files = [o for o in store.list(DIR1) if o.key.endswith(".csv")]
    assert len(files) >= 2
    total = sum(len(store.get(o.key).decode().splitlines()) for o in files)
    assert total == 10_000


def test_flush_due_by_age_of_oldest_change() -> None:
    clock = Clock()
    w = writer(MemoryStore("age"), clock, flush_interval_ms=1000)
    assert not w.flush_due(clock.now + 10_000)
    w.append(txn(DAY1, 0, 1))
    clock.now += 600
    w.append(txn(DAY1 + 1, 1, 1))
    assert not w.flush_due(clock.now)
    clock.now += 400
    assert w.flush_due(clock.now)
    w.flush()
    assert not w.flush_due(clock.now + 5000)


def test_resume_reads_index_then_probes(store: ObjectStore) -> None:
    store.put(DIR1 + "CDC00000000000000000001.csv", b"one")
    store.put(DIR1 + "meta/CDC.index", b"CDC00000000000000000001.csv\n")
    store.put(DIR1 + "CDC00000000000000000002.csv", b"two: written, index not updated before a crash")
    store.put(DIR1 + "CDC00000000000000000003.csv", b"three")
    w = writer(store)
    w.append(txn(DAY1, 0, 1))
    (ref,) = w.flush()
    assert ref.key == DIR1 + "CDC00000000000000000004.csv"
    assert store.get(DIR1 + "CDC00000000000000000002.csv").startswith(b"two")
    assert store.get(DIR1 + "meta/CDC.index") == b"CDC00000000000000000004.csv\n"
    w.append(txn(DAY1 + 1, 1, 1))
    assert [r.index for r in w.flush()] == [5]


def test_existing_file_with_other_content_is_never_overwritten() -> None:
    store = MemoryStore("race")
    w = writer(store)
    w.append(txn(DAY1, 0, 1))
    w.flush()
    store.put(DIR1 + "CDC00000000000000000002.csv", b"another writer got here first")
    w.append(txn(DAY1 + 1, 1, 1))
    (ref,) = w.flush()
    assert ref.index == 3
    assert store.get(DIR1 + "CDC00000000000000000002.csv") == b"another writer got here first"
    with pytest.raises(ObjectExistsError):
        store.put(ref.key, b"other", create_only=True)


def test_new_date_directory_restarts_index() -> None:
    store = MemoryStore("dates")
    w = writer(store)
    w.append(txn(DAY1, 0, 1))
    w.flush()
    w.append(txn(DAY2, 1, 1))
    w.flush()
    assert data_keys(store) == [DIR1 + "CDC00000000000000000001.csv",
                                "test/orders/42/2023-11-15/CDC00000000000000000001.csv"]


@pytest.mark.parametrize(("separator", "directory"), [("none", ""), ("year", "2023/"), ("month", "2023-11/")])
def test_date_separator(separator: str, directory: str) -> None:
    store = MemoryStore("sep")
    w = writer(store, date_separator=separator, file_index_digit=6)
    w.append(txn(DAY1, 0, 1))
    w.flush()
    assert data_keys(store) == [f"test/orders/42/{directory}CDC000001.csv"]


def test_partitions_and_split_spans() -> None:
    store = MemoryStore("parts")
    w = writer(store, dispatcher_id="d7")
    b = txn(DAY1, 0, 1)
    b.partition_id = 103
    w.append(b)
    w.append(txn(DAY1, 1, 1))
    w.flush()
    assert sorted(o.key for o in store.list()) == [
        "test/orders/42/103/2023-11-14/CDC_d7_00000000000000000001.csv",
        "test/orders/42/103/2023-11-14/meta/CDC_d7.index",
        "test/orders/42/2023-11-14/CDC_d7_00000000000000000001.csv",
        "test/orders/42/2023-11-14/meta/CDC_d7.index",
    ]
    w2 = writer(MemoryStore("noparts"), enable_partition_separator=False)
    w2.append(b)
    assert [r.key for r in w2.flush()] == [DIR1 + "CDC00000000000000000001.csv"]


def test_wall_clock_date_source() -> None:
    clock = Clock()
    clock.now = 86_400_000 * 3  # 1970-01-04
    store = MemoryStore("wall")
    w = writer(store, clock, date_source="wall-clock")
    w.append(txn(DAY1, 0, 1))
    w.flush()
    assert data_keys(store) == ["test/orders/42/1970-01-04/CDC00000000000000000001.csv"]


@pytest.mark.parametrize("protocol", ["csv", "canal-json", "parquet"])
def test_two_runs_write_identical_objects(protocol: str) -> None:
    def run() -> dict[str, bytes]:
        store = MemoryStore("det")
        w = writer(store, protocol=protocol, file_size=4 * KIB)
        for k in range(20):
            w.append(txn(DAY1 + k, k * 10, 10))
        w.flush()
        return {o.key: store.get(o.key) for o in store.list()}

    first, second = run(), run()
    assert first == second
    assert len(first) > 2


def test_batch_of_another_table_version_is_refused() -> None:
    w = writer(MemoryStore("v"))
    other = batch(T.with_version(43), Op.INSERT, [(1, "a")])
    with pytest.raises(SinkError, match="version 42"):
        w.append(other)


def _rows(total: int, per_batch: int) -> Iterator[RowChanges]:
    note = "n" * 60
    for start in range(0, total, per_batch):
        yield batch(T, Op.INSERT, [(i, note) for i in range(start, start + per_batch)], ts=DAY1, seq=start)


@pytest.mark.slow
def test_million_row_transaction_has_bounded_memory() -> None:
    store = MemoryStore("big")
    w = writer(store, file_size=MIB)
    files_bytes = 0
    tracemalloc.start()
    try:
        for b in _rows(1_000_000, 10_000):
            w.append(b)
            for o in list(store.list()):
                if o.key.endswith(".csv"):
                    files_bytes += o.size
                    store.delete(o.key)  # keep the store's own memory out of the measurement
        w.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert files_bytes > 60 * MIB
    assert peak < 20 * MIB, f"peak {peak / MIB:.1f} MiB"
