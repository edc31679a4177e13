"""A real MariaDB binlog end to end, consumed into SQLite and compared with the final state the decoder's own
change stream implies (every type, ALTERs, a table without a key, a key-changing UPDATE, RENAME, TRUNCATE,
DROP, CREATE ... SELECT, CREATE/DROP DATABASE):

- through ``storagecdc.runtime.replicate`` (dispatchers, barrier, split tables) into a local directory;
- through the bare sink (flush before each DDL, a schema file from the DML path per table version), the
  minimum wiring, in every format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storagecdc.config import load_config
from storagecdc.consumer import ConsumerOptions, Replayer, SqliteApplier, options_from_uri
from storagecdc.consumer.values import text_parser
from storagecdc.model import ColumnInfo, DDLEvent, Op, RowChanges, TableInfo, TableName
from storagecdc.runtime.replicate import replicate
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.uri import open_store
from storagecdc.table_filter import TableFilter

FIXTURE = "mariadb/mariadb-10.11-types.000001"
SYSBENCH = "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010"
DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"


class Model:
    """The tables the change stream describes, keyed rows per table (a list for tables without a key)."""

    def __init__(self) -> None:
        self.tables: dict[TableName, TableInfo] = {}
        self.rows: dict[TableName, list[tuple[Any, ...]]] = {}

    def _key(self, info: TableInfo, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in info.pk_indexes) if info.pk_indexes else row

    def _remove(self, info: TableInfo, row: tuple[Any, ...]) -> None:
        rows = self.rows[info.name]
        key = self._key(info, row)
        for i, have in enumerate(rows):
            if self._key(info, have) == key:
                del rows[i]
                return
        raise AssertionError(f"{info.name}: no row {row}")

    def change(self, batch: RowChanges) -> None:
        info = batch.table
        self.tables[info.name] = info
        rows = self.rows.setdefault(info.name, [])
        for i, row in enumerate(batch.rows):
            if batch.op is Op.INSERT:
                if info.pk_indexes:
                    rows[:] = [r for r in rows if self._key(info, r) != self._key(info, row)]
                rows.append(row)
            elif batch.op is Op.DELETE:
                self._remove(info, row)
            else:
                assert batch.before is not None
                self._remove(info, batch.before[i])
                rows.append(row)

    def ddl(self, event: DDLEvent) -> None:
        if event.ddl_type == 11:  # TRUNCATE
            self.rows[event.tables[0]] = []
        moved = {old: self.rows.pop(old, []) for old in event.tables}
        for name in event.dropped:
            self.tables.pop(name, None)
            self.rows.pop(name, None)
        for info in event.new_tables:
            old_info = self.tables.get(info.name) or next(
                (self.tables[t] for t in event.tables if t in self.tables), None)
            source = moved.get(info.name) if info.name in moved else next(iter(moved.values()), [])
            if old_info is not None and old_info.column_names != info.column_names:
                names = old_info.column_names
                fill = [(names.index(c.name) if c.name in names else None, _default(c)) for c in info.columns]
                source = [tuple(d if i is None else r[i] for i, d in fill) for r in source]
            self.tables[info.name] = info.with_version(event.commit_ts)
            self.rows[info.name] = list(source)
        if event.ddl_type == 2:  # DROP DATABASE
            for name in [n for n in self.tables if n.schema == event.schema]:
                del self.tables[name]
                self.rows.pop(name, None)


def _default(col: ColumnInfo) -> Any:
    """What MySQL puts in existing rows for an added column: its declared literal default, else NULL."""
    if not col.has_default or col.default is None:
        return None
    return text_parser(col, binary="latin1")([col.default])[0]


def write_with_sink(path: Path, store: MemoryStore, options: SinkOptions) -> tuple[Model, int]:
    """Decode the binlog and write it with the real sink; returns the model and the checkpoint written."""
    sink = StorageSink(store, options, clock=lambda: 0)
    writers: dict[tuple[TableName, int], StorageTableWriter] = {}
    typed: set[tuple[TableName, int]] = set()
    model = Model()
    assembler = TransactionAssembler(SchemaOptions().tracker_factory, table_filter=TableFilter(["*.*"]))
    last = 0
    for change in assembler.feed(file_events(str(path), EventCounter())):
        if isinstance(change, RowChanges):
            info = change.table
            key = (info.name, info.version)
            if key not in typed:
                sink.write_table_schema(info)  # from the DML path: the version's columns
                typed.add(key)
            writer = writers.get(key)
            if writer is None:
                writer = writers[key] = sink.table_writer(info)
            writer.append(change)
            model.change(change)
            last = max(last, change.commit_ts)
        elif isinstance(change, DDLEvent):
            for writer in writers.values():
                writer.flush()
            sink.write_ddl(change)
            typed.update((t.name, change.commit_ts) for t in change.new_tables if t.columns)
            model.ddl(change)
            last = max(last, change.commit_ts)
    for writer in writers.values():
        writer.flush()
    sink.write_checkpoint(last + 1, force=True)
    return model, last + 1


def decoder_model(path: Path) -> Model:
    """The final state the decoder's change stream implies, with no sink involved."""
    model = Model()
    assembler = TransactionAssembler(SchemaOptions().tracker_factory, table_filter=TableFilter(["*.*"]))
    for change in assembler.feed(file_events(str(path), EventCounter())):
        if isinstance(change, RowChanges):
            model.change(change)
        elif isinstance(change, DDLEvent):
            model.ddl(change)
    return model


def assert_replayed(applier: SqliteApplier, model: Model, protocol: str) -> None:
    assert set(applier.tables()) == {f"{n.schema}.{n.table}" for n in model.tables}
    assert model.tables
    for name, info in model.tables.items():
        want = model.rows[name]
        if protocol == "parquet":  # Parquet has no zero dates: the sink writes them as null
            want = [tuple(None if isinstance(v, str) and v.startswith("0000-00-00") else v for v in r) for r in want]
        assert sorted(applier.rows(info), key=repr) == sorted(want, key=repr), name


RUNTIME_QUERIES = [
    pytest.param("protocol=csv&include-commit-ts=true&output-old-value=true", id="csv"),
    pytest.param("protocol=parquet", id="parquet"),
    pytest.param("protocol=canal-json&enable-tidb-extension=true", id="canal-json"),
]


@pytest.mark.parametrize("query", RUNTIME_QUERIES)
def test_replicated_by_the_runtime_and_consumed(query: str, binlog_fixtures: Path, tmp_path: Path) -> None:
    """``storagecdc run``'s engine with a split table (spans merged by commit-ts), then ``consume``."""
    uri = f"file://{tmp_path / 'out'}?{query}"
    result = replicate(load_config(None, source=str(binlog_fixtures / FIXTURE), sink_uri=uri,
                                   overrides={"split_tables": ["fixt.all_types=2", "fixt.t_big=3"]}))
    applier = SqliteApplier(tmp_path / "t.db")
    stats = Replayer(open_store(uri), applier, options_from_uri(uri)).run()
    assert stats.checkpoint == result.checkpoint_ts
    model = decoder_model(binlog_fixtures / FIXTURE)
    assert len(model.tables) == 4
    assert_replayed(applier, model, query.split("&", maxsplit=1)[0].split("=")[1])


@pytest.mark.parametrize("query", ["protocol=csv", "protocol=parquet&output-old-value=true", "protocol=canal-json"])
def test_the_bundled_demo_binlog_replicated_and_consumed(query: str, tmp_path: Path) -> None:
    """The demo's binlog (several tables, ALTER ... DEFAULT, updates, deletes) in the formats without commit-ts
    options too: files are applied whole, once each."""
    uri = f"file://{tmp_path / 'out'}?{query}"
    replicate(load_config(None, source=str(DEMO), sink_uri=uri))
    applier = SqliteApplier(tmp_path / "t.db")
    Replayer(open_store(uri), applier, options_from_uri(uri)).run()
    model = decoder_model(DEMO)
    assert len(model.tables) == 5
    assert_replayed(applier, model, query.split("&", maxsplit=1)[0].split("=")[1])


def test_sysbench_binlog_replicated_split_and_consumed(binlog_fixtures: Path, tmp_path: Path) -> None:
    """sysbench oltp_write_only (inserts, updates, deletes of two tables), one table split in three spans."""
    source = binlog_fixtures / SYSBENCH
    uri = f"file://{tmp_path / 'out'}?protocol=csv&include-commit-ts=true"
    replicate(load_config(None, source=str(source), sink_uri=uri, overrides={"split_tables": ["sbsmall.sbtest1=3"]}))
    assert any("CDC_" in p.name for p in (tmp_path / "out" / "sbsmall" / "sbtest1").rglob("*.csv"))
    applier = SqliteApplier(tmp_path / "t.db")
    stats = Replayer(open_store(uri), applier, options_from_uri(uri)).run()
    assert stats.rows > 1000
    assert_replayed(applier, decoder_model(source), "csv")


@pytest.mark.parametrize("protocol", ["csv", "parquet", "canal-json"])
def test_mariadb_types_binlog_replays_into_sqlite(protocol: str, binlog_fixtures: Path, tmp_path: Path) -> None:
    store = MemoryStore(f"e2e-{protocol}")
    options = SinkOptions(protocol=protocol, include_commit_ts=True, enable_tidb_extension=True,
                          output_old_value=protocol == "csv")
    model, _ = write_with_sink(binlog_fixtures / FIXTURE, store, options)
    applier = SqliteApplier(tmp_path / "t.db")
    stats = Replayer(store, applier, ConsumerOptions(include_commit_ts=True, enable_tidb_extension=True,
                                                     output_old_value=protocol == "csv")).run()
    assert stats.ddl >= 10
    assert_replayed(applier, model, protocol)
