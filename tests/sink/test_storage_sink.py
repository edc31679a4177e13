"""The storage sink: writers per table version, schema files, syncpoint markers and the checkpoint."""

from __future__ import annotations

import json

import pytest

from storagecdc import ddl_types
from storagecdc.errors import ConfigError
from storagecdc.model import BlockScope, DDLEvent, Op, TableName, make_ts
from storagecdc.sink.base import Sink, TableWriter
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import METADATA_KEY, build_syncpoint_key
from storagecdc.storage.schema_file import parse_schema_file
from storagecdc.storage.syncpoint import parse_syncpoint
from tests.sink.tables import batch, col, table

T = table("orders", col("id", "INT", is_pk=True, nullable=False), col("note", "VARCHAR", length=20),
          version=100)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def sink(store: MemoryStore | None = None, clock: Clock | None = None, **opts: object) -> StorageSink:
    options = SinkOptions(**{"protocol": "csv", **opts})  # type: ignore[arg-type]
    return StorageSink(store or MemoryStore("sink"), options, clock=clock or Clock())


def test_table_writer_writes_under_the_table_version() -> None:
    s = sink()
    w = s.table_writer(T, "span-1")
    w.append(batch(T, Op.INSERT, [(1, "a")], ts=make_ts(1_700_000_000_000)))
    (ref,) = w.flush()
    assert ref.key == "test/orders/100/2023-11-14/CDC_span-1_00000000000000000001.csv"
    assert w.dispatcher_id == "span-1"
    assert w.table == T.name


def test_parquet_refuses_metadata_column_names_at_start() -> None:
    bad = table("t", col("_seq", "INT"))
    with pytest.raises(ConfigError, match="_seq"):
        sink(protocol="parquet").table_writer(bad)


def test_table_schema_file_is_create_only_and_idempotent() -> None:
    store = MemoryStore("schema")
    s = sink(store)
    key = s.write_table_schema(T, "CREATE TABLE orders (...)", ddl_types.CREATE_TABLE)
    assert key.startswith("test/orders/meta/schema_100_") and key.endswith(".json")
    parsed = parse_schema_file(store.get(key), key)
    assert (parsed.table, parsed.table_version, parsed.query, parsed.ddl_type) == (
        "orders", 100, "CREATE TABLE orders (...)", ddl_types.CREATE_TABLE)
    assert s.write_table_schema(T, "CREATE TABLE orders (...)", ddl_types.CREATE_TABLE) == key
    # Another process wrote the same version from the DML path (no query): same key, kept as it is.
    assert sink(store).write_table_schema(T) == key
    assert parse_schema_file(store.get(key), key).query == "CREATE TABLE orders (...)"


def test_database_ddl_matches_the_reference_checksum() -> None:
    store = MemoryStore("db")
    ddl = DDLEvent(100, "CREATE DATABASE schema1", "schema1", ddl_types.CREATE_SCHEMA, BlockScope.DATABASE)
    assert sink(store).write_ddl(ddl) == ["schema1/meta/schema_100_3233644819.json"]


def test_table_ddl_writes_new_and_dropped_tables() -> None:
    store = MemoryStore("ddl")
    renamed = table("orders2", *T.columns, version=0)
    ddl = DDLEvent(200, "RENAME TABLE orders TO orders2", "test", ddl_types.RENAME_TABLE, BlockScope.TABLE,
                   tables=(T.name,), new_tables=(renamed,), dropped=(T.name,))
    keys = sink(store).write_ddl(ddl)
    assert [k.split("/meta/")[0] for k in keys] == ["test/orders2", "test/orders"]
    assert all("/schema_200_" in k for k in keys)
    new = parse_schema_file(store.get(keys[0]), keys[0])
    assert new.table_version == 200 and new.total_columns == 2
    assert parse_schema_file(store.get(keys[1]), keys[1]).total_columns == 0


def test_syncpoint_marker_names_each_spans_last_files() -> None:
    store = MemoryStore("sp")
    s = sink(store)
    ts = make_ts(1_700_000_000_000)
    hostile = table("a/b", *T.columns, version=100)
    s.write_table_schema(T)
    for span, count in (("span-1", 2), ("span-2", 1)):
        w = s.table_writer(T, span)
        for k in range(count):
            w.append(batch(T, Op.INSERT, [(k, "x")], ts=ts + k))
            w.flush()
    w = s.table_writer(hostile)
    w.append(batch(hostile, Op.INSERT, [(1, "y")], ts=ts))
    w.flush()
    cut = {T.name: {"span-1": 2, "span-2": 1}, hostile.name: {"": 1}, TableName("test", "empty"): {"": 0}}
    key = s.write_syncpoint(ts + 10, cut)
    assert key == build_syncpoint_key(ts + 10)
    marker = parse_syncpoint(store.get(key), key)
    by_name = {t.name: t for t in marker.tables}
    assert by_name[T.name].version == 100
    assert by_name[T.name].spans == {
        "span-1": ("test/orders/100/2023-11-14/CDC_span-1_00000000000000000002.csv",),
        "span-2": ("test/orders/100/2023-11-14/CDC_span-2_00000000000000000001.csv",),
    }
    assert by_name[hostile.name].spans == {"": ("test/a%2Fb/100/2023-11-14/CDC00000000000000000001.csv",)}
    assert by_name[TableName("test", "empty")].spans == {"": ()}
    assert s.write_syncpoint(ts + 10, cut) == key, "idempotent"


def test_checkpoint_rate_limit_monotonic_and_close() -> None:
    store = MemoryStore("ckpt")
    clock = Clock()
    s = sink(store, clock)
    s.write_checkpoint(10)
    assert json.loads(store.get(METADATA_KEY)) == {"checkpoint-ts": 10}
    clock.now = 1000
    s.write_checkpoint(20)
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 10, "at most every 2 s"
    s.write_checkpoint(25, force=True)
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 25
    s.write_checkpoint(5, force=True)
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 25, "never backwards"
    clock.now = 1500
    s.write_checkpoint(30)
    s.close()
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 30
    assert s.checkpoint_ts == 30


def test_checkpoint_never_goes_below_the_stored_one_after_restart() -> None:
    store = MemoryStore("restart")
    sink(store).write_checkpoint(1000)
    fresh = sink(store)
    fresh.write_checkpoint(900, force=True)
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 1000
    fresh.write_checkpoint(1100)
    assert json.loads(store.get(METADATA_KEY))["checkpoint-ts"] == 1100


def test_implements_the_sink_protocols() -> None:
    s: Sink = sink()
    w: TableWriter = s.table_writer(T)
    assert w.last_file_index() == 0
