"""The writer on the upload pool: the same objects as inline, order per directory, overlap, waits, errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storagecdc.errors import StorageError
from storagecdc.model import Op, RowChanges, TableInfo, make_ts
from storagecdc.sink.base import FileRef
from storagecdc.sink.options import KIB, SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import DateSeparator, parse_data_file_key, parse_index_file_key
from tests.sink.gates import WAIT, returns_only_after
from tests.sink.tables import WIDE, batch, col, table, wide_row

TS = make_ts(1_700_000_000_000)
TABLES = [table(f"t{n}", col("id", "INT", is_pk=True), col("note", "VARCHAR", charset="utf8mb4"), version=7)
          for n in range(4)]


class GatedStore(MemoryStore):
    """A real in-memory store that records the order of writes and can hold data-file writes at a gate."""

    def __init__(self) -> None:
        super().__init__("gated")
        self.puts: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Semaphore(0)
        self.fail_data_put: int | None = None
        self._data_puts = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        if parse_data_file_key(key, DateSeparator.DAY) is not None:
            self.waiting.release()
            assert self.gate.wait(WAIT)
            with self._lock:
                self._data_puts += 1
                if self._data_puts == self.fail_data_put:
                    raise StorageError(f"write: S3 answered InternalError: key {key!r}")
        super().put(key, data, create_only=create_only)
        with self._lock:
            self.puts.append(key)


def _rows(info: TableInfo, k: int, count: int = 30) -> RowChanges:
    return batch(info, Op.INSERT, [(i, "note " * 10) for i in range(k * count, (k + 1) * count)], ts=TS + k)


def _replicate(store: ObjectStore, workers: int, protocol: str) -> dict[str, bytes]:
    """Four narrow tables and a wide one, interleaved, with size cuts (1 KiB files) and two flushes."""
    sink = StorageSink(store, SinkOptions(protocol=protocol, file_size=KIB, worker_count=workers), clock=lambda: 0)
    writers = [sink.table_writer(t) for t in TABLES] + [sink.table_writer(WIDE, "span-1")]
    for k in range(12):
        for w in writers[:-1]:
            w.append(_rows(w.table_info, k))
        writers[-1].append(batch(WIDE, Op.INSERT, [wide_row(i) for i in range(k * 5, k * 5 + 5)], ts=TS + k))
        if k == 5:
            for w in writers:
                w.flush()
    for w in writers:
        w.flush()
    sink.close()
    return {o.key: store.get(o.key) for o in store.list()}


@pytest.fixture(params=["memory", "local"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], ObjectStore]]:
    stores: list[ObjectStore] = []

    def make(name: str) -> ObjectStore:
        s: ObjectStore = MemoryStore(name) if request.param == "memory" else LocalStore(tmp_path / name)
        stores.append(s)
        return s

    yield make
    for s in stores:
        s.close()


@pytest.mark.parametrize("protocol", ["csv", "canal-json", "parquet"])
def test_concurrent_uploads_write_the_same_objects_as_inline(make_store: Callable[[str], ObjectStore],
                                                              protocol: str) -> None:
    inline = _replicate(make_store("inline"), 0, protocol)
    pooled = _replicate(make_store("pooled"), 4, protocol)
    assert pooled == inline
    data = [k for k in inline if parse_data_file_key(k, DateSeparator.DAY) is not None]
    assert len(data) > 2 * len(TABLES)


def test_each_directory_gets_data_then_index_in_index_order() -> None:
    store = GatedStore()
    _replicate(store, 4, "csv")
    last_data: dict[str, int] = {}
    for key in store.puts:
        data = parse_data_file_key(key, DateSeparator.DAY)
        if data is not None:
            slot = data.dir.key_prefix() + (data.dispatcher_id or "")
            assert data.index == last_data.get(slot, 0) + 1, f"{key} out of order"
            last_data[slot] = data.index
            continue
        index = parse_index_file_key(key, DateSeparator.DAY)
        assert index is not None
        slot = index.dir.key_prefix() + (index.dispatcher_id or "")
        assert slot in last_data, f"index {key} before any data file"
    named: dict[str, bytes] = {}
    for o in store.list():
        index = parse_index_file_key(o.key, DateSeparator.DAY)
        if index is not None:
            named[index.dir.key_prefix() + (index.dispatcher_id or "")] = store.get(o.key)
    assert named.keys() == last_data.keys()
    for slot, last in last_data.items():
        assert named[slot].decode().strip().endswith(f"{last:020d}.csv")


def test_a_size_cut_uploads_while_the_writer_goes_on_and_flush_waits() -> None:
    store = GatedStore()
    sink = StorageSink(store, SinkOptions(protocol="csv", file_size=KIB, worker_count=2), clock=lambda: 0)
    w = sink.table_writer(TABLES[0])
    store.gate.clear()
    w.append(_rows(TABLES[0], 0, 40))  # more than a file: cut, handed to the pool
    assert store.waiting.acquire(timeout=WAIT), "the cut file never started uploading"
    w.append(_rows(TABLES[0], 1, 5))  # encoded while the cut file is held in its upload
    assert store.puts == [] and w.last_file_index() == 0
    refs: list[FileRef] = []
    returns_only_after(store.gate, lambda: refs.extend(w.flush()),
                       "flush returned while files were still uploading")
    assert [r.index for r in refs] == [2] and w.last_file_index() == 2
    assert [k for k in store.puts if k.endswith(".csv")] == [
        f"test/t0/7/2023-11-14/CDC0000000000000000000{n}.csv" for n in (1, 2)]
    sink.close()


def test_a_failed_upload_surfaces_once_on_the_callers_thread_and_nothing_after_it_is_written() -> None:
    store = GatedStore()
    store.fail_data_put = 2
    sink = StorageSink(store, SinkOptions(protocol="csv", file_size=KIB, worker_count=2), clock=lambda: 0)
    w = sink.table_writer(TABLES[0])
    with pytest.raises(StorageError, match="InternalError") as info:
        for k in range(10):
            w.append(_rows(TABLES[0], k, 40))
        w.flush()
    assert "key" in str(info.value)
    data = [k for k in store.puts if k.endswith(".csv")]
    assert data == ["test/t0/7/2023-11-14/CDC00000000000000000001.csv"]
    assert store.get("test/t0/7/2023-11-14/meta/CDC.index") == b"CDC00000000000000000001.csv\n"
    with pytest.raises(StorageError, match="InternalError"):
        sink.close()


def test_close_waits_for_the_writers_uploads() -> None:
    store = GatedStore()
    sink = StorageSink(store, SinkOptions(protocol="csv", file_size=KIB, worker_count=2), clock=lambda: 0)
    w = sink.table_writer(TABLES[0])
    store.gate.clear()
    w.append(_rows(TABLES[0], 0, 40))
    assert store.waiting.acquire(timeout=WAIT)
    returns_only_after(store.gate, w.close, "close returned with an upload in flight")
    assert any(k.endswith(".index") for k in store.puts)
    sink.close()


def test_deferred_flushes_return_at_once_and_are_durable_at_the_end() -> None:
    store = GatedStore()
    sink = StorageSink(store, SinkOptions(protocol="csv", worker_count=4), clock=lambda: 0)
    writers = [sink.table_writer(t) for t in TABLES]
    for w in writers:
        w.append(_rows(w.table_info, 0))
    with sink.uploads.deferred():
        assert all(w.flush() == [] for w in writers)
    assert sorted(k for k in store.puts if k.endswith(".csv")) == [
        f"test/t{n}/7/2023-11-14/CDC00000000000000000001.csv" for n in range(len(TABLES))]
    assert all(w.last_file_index() == 1 for w in writers)
    sink.close()


def test_a_deferred_flush_with_nothing_new_still_waits_for_the_writers_cut_files() -> None:
    store = GatedStore()
    sink = StorageSink(store, SinkOptions(protocol="csv", file_size=KIB, worker_count=2), clock=lambda: 0)
    w = sink.table_writer(TABLES[0])
    store.gate.clear()
    w.append(_rows(TABLES[0], 0, 40))  # one transaction of more than a file: all of it cut, nothing left
    assert store.waiting.acquire(timeout=WAIT)

    def flush_deferred() -> None:
        with sink.uploads.deferred():
            w.flush()

    returns_only_after(store.gate, flush_deferred,
                       "the deferred block ended with the writer's cut file in flight")
    assert w.last_file_index() == 1
    sink.close()


def test_worker_count_zero_writes_inline_on_the_callers_thread() -> None:
    caller = threading.get_ident()
    threads: set[int] = set()

    class Watching(MemoryStore):
        def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
            threads.add(threading.get_ident())
            super().put(key, data, create_only=create_only)

    store = Watching("inline")
    sink = StorageSink(store, SinkOptions(protocol="csv", file_size=KIB, worker_count=0), clock=lambda: 0)
    w = sink.table_writer(TABLES[0])
    for k in range(5):
        w.append(_rows(TABLES[0], k, 40))
    assert w.last_file_index() >= 4  # cuts were written during append
    w.flush()
    sink.close()
    assert threads == {caller}
