"""Flush by age and size (``flush-interval``, ``min-file-size``, ``max-flush-interval``) and the resume probe
that a fresh table skips."""

from __future__ import annotations

import logging

import pytest

from storagecdc.model import make_ts
from storagecdc.sink.flush_policy import buffer_due
from storagecdc.sink.options import KIB, MIB, SinkOptions, parse_sink_options
from storagecdc.sink.resume_probe import TableCensus
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import DataDir
from tests.sink.test_writer import DIR1, Clock, txn, writer

DAY1 = make_ts(1_700_000_000_000)


class RecordingStore(MemoryStore):
    """A real in-memory store that records the keys of writes, reads and existence probes."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.puts: list[str] = []
        self.gets: list[str] = []
        self.heads: list[str] = []

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        super().put(key, data, create_only=create_only)
        self.puts.append(key)

    def get(self, key: str) -> bytes:
        self.gets.append(key)
        return super().get(key)

    def exists(self, key: str) -> bool:
        self.heads.append(key)
        return super().exists(key)


def test_options_parse_and_default_to_the_old_behaviour() -> None:
    o = parse_sink_options("protocol=csv")
    assert (o.min_file_size, o.max_flush_interval_ms) == (0, 60_000)
    o = parse_sink_options("protocol=csv&min-file-size=1MiB&max-flush-interval=5m",
                           {"cloud-storage-config": {"min-file-size": "2MiB"}})
    assert (o.min_file_size, o.max_flush_interval_ms) == (MIB, 300_000)
    o = parse_sink_options("", {"protocol": "csv", "min-file-size": 4096, "max-flush-interval": "90s"})
    assert (o.min_file_size, o.max_flush_interval_ms) == (4096, 90_000)


def test_max_flush_interval_below_flush_interval_is_raised_to_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        o = parse_sink_options("protocol=csv&flush-interval=30s&max-flush-interval=10s")
    assert o.max_flush_interval_ms == 30_000
    assert "max-flush-interval" in caplog.text
    assert parse_sink_options("protocol=csv&max-flush-interval=2h").max_flush_interval_ms == 3_600_000


def test_policy() -> None:
    default = SinkOptions()
    assert not buffer_due(default, 4_999, 10)
    assert buffer_due(default, 5_000, 0)  # min-file-size 0: every buffer at flush-interval
    batching = SinkOptions(min_file_size=64 * KIB, max_flush_interval_ms=60_000)
    assert not buffer_due(batching, 4_999, 10 * MIB)  # never before flush-interval, however big
    assert buffer_due(batching, 5_000, 64 * KIB)  # a busy table: at flush-interval
    assert not buffer_due(batching, 59_999, 64 * KIB - 1)  # a cold one waits...
    assert buffer_due(batching, 60_000, 1)  # ...up to max-flush-interval
    odd = SinkOptions(flush_interval_ms=10_000, min_file_size=KIB, max_flush_interval_ms=1_000)
    assert not buffer_due(odd, 5_000, 1) and buffer_due(odd, 10_000, 1)  # never before flush-interval


def test_writer_holds_a_small_buffer_until_max_flush_interval_and_a_big_one_until_flush_interval() -> None:
    clock = Clock()
    cold = writer(MemoryStore("c"), clock, min_file_size=4 * KIB, flush_interval_ms=1000, max_flush_interval_ms=8000)
    cold.append(txn(DAY1, 0, 3))  # about 200 bytes
    clock.now += 1000
    assert not cold.flush_due(clock.now)
    clock.now += 6999
    assert not cold.flush_due(clock.now)
    clock.now += 1
    assert cold.flush_due(clock.now)

    busy = writer(MemoryStore("b"), clock, min_file_size=4 * KIB, flush_interval_ms=1000, max_flush_interval_ms=8000)
    busy.append(txn(DAY1, 0, 100))  # about 6 KiB
    clock.now += 999
    assert not busy.flush_due(clock.now)
    clock.now += 1
    assert busy.flush_due(clock.now)


def test_fresh_table_is_written_without_a_probe() -> None:
    store = RecordingStore()
    store.put("test/orders/meta/schema_42_0000000000.json", b"{}")  # schema files alone: still fresh
    census = TableCensus(store)  # the sink's, which its writers share
    w = writer(store, census=census)
    w.append(txn(DAY1, 0, 3))
    w.flush()
    assert store.gets == [] and store.heads == []  # nothing to resume from: no index GET, no HEAD
    assert store.puts[1:] == [DIR1 + "CDC00000000000000000001.csv", DIR1 + "meta/CDC.index"]
    again = writer(store, census=census)  # another writer of the sink in the same directory probes
    again.append(txn(DAY1, 3, 1))
    again.flush()
    assert store.gets == [DIR1 + "meta/CDC.index"]
    assert store.puts[-2:] == [DIR1 + "CDC00000000000000000002.csv", DIR1 + "meta/CDC.index"]


def test_table_with_earlier_files_is_probed() -> None:
    store = RecordingStore()
    store.put("test/customers/42/2023-11-14/CDC00000000000000000001.csv", b"x")
    earlier = DIR1 + "CDC00000000000000000007.csv"
    store.put(earlier, b"earlier")
    store.put(DIR1 + "meta/CDC.index", b"CDC00000000000000000007.csv\n")
    census = TableCensus(store)
    w = writer(store, census=census)
    w.append(txn(DAY1, 0, 1))
    w.flush()
    assert store.get(earlier) == b"earlier"
    assert store.puts[-2] == DIR1 + "CDC00000000000000000008.csv"
    assert census.claim(DataDir("test", "fresh", 42), None)
    assert not census.claim(DataDir("test", "customers", 42, date="2023-11-15"), None)


def test_a_writer_without_a_census_probes_every_directory() -> None:
    store = RecordingStore()
    w = writer(store)
    w.append(txn(DAY1, 0, 1))
    w.flush()
    assert store.gets == [DIR1 + "meta/CDC.index"] and store.heads


def test_census_that_gives_up_probes_everything() -> None:
    store = MemoryStore("big")
    for i in range(5):
        store.put(f"other/t{i}/1/CDC00000000000000000001.csv", b"x")
    census = TableCensus(store, max_keys=3)
    assert not census.claim(DataDir("test", "orders", 42), None)
    assert TableCensus(store, max_keys=10).claim(DataDir("test", "orders", 42), None)
