"""Builds real outputs for the consumer tests: the real StorageSink fed model batches and DDL events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storagecdc import ddl_types
from storagecdc.consumer import ConsumerOptions, Replayer, SqliteApplier
from storagecdc.model import BlockScope, ColumnInfo, DDLEvent, Op, RowChanges, TableInfo, TableName, make_ts
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.storage.base import ObjectStore

BASE_MS = 1_700_000_000_000


def ts(n: int) -> int:
    """The n-th commit-ts of a test (1 ms apart, so every one is its own transaction)."""
    return make_ts(BASE_MS + n)


def col(name: str, type_name: str, **kw: Any) -> ColumnInfo:
    if type_name in ("VARCHAR", "CHAR", "TEXT", "ENUM", "SET") and "charset" not in kw:
        kw["charset"] = "utf8mb4"
    return ColumnInfo(name, type_name, **kw)


def pk(name: str = "id", type_name: str = "INT", **kw: Any) -> ColumnInfo:
    return ColumnInfo(name, type_name, is_pk=True, nullable=False, **kw)


def table(name: str, *columns: ColumnInfo, schema: str = "db", version: int = 0) -> TableInfo:
    return TableInfo(TableName(schema, name), tuple(columns), version)


class Feed:
    """Drives a StorageSink like the dispatchers do: DML per span, flush before every block event."""

    def __init__(self, store: ObjectStore, **options: Any) -> None:
        self.store = store
        self.sink = StorageSink(store, SinkOptions(**{"protocol": "csv", **options}), clock=lambda: 0)
        self.writers: dict[tuple[TableName, int, str | None], StorageTableWriter] = {}

    def create(self, info: TableInfo, at: int, query: str = "") -> TableInfo:
        """CREATE TABLE at commit-ts ``at``; returns the table version."""
        version = info.with_version(at)
        self.ddl(at, query or f"CREATE TABLE {info.name.quoted()} (...)", ddl_types.CREATE_TABLE,
                 new_tables=(version,), schema=info.name.schema)
        return version

    def ddl(self, at: int, query: str, ddl_type: int, *, schema: str = "db", tables: tuple[TableName, ...] = (),
            new_tables: tuple[TableInfo, ...] = (), dropped: tuple[TableName, ...] = (),
            scope: BlockScope = BlockScope.TABLE) -> None:
        self.flush()
        event = DDLEvent(at, query, schema, ddl_type, scope, tables=tables,
                         new_tables=tuple(t.with_version(at) for t in new_tables), dropped=dropped)
        self.sink.write_ddl(event)

    def rows(self, info: TableInfo, op: Op, rows: list[tuple[Any, ...]], at: int, *,
             before: list[tuple[Any, ...]] | None = None, pk_changed: list[bool] | None = None,
             span: str | None = None, partition: int | None = None) -> None:
        key = (info.name, info.version, span)
        writer = self.writers.get(key)
        if writer is None:
            writer = self.writers[key] = self.sink.table_writer(info, span)
        writer.append(RowChanges(info, op, at, rows, before=before, pk_changed=pk_changed,
                                 partition_id=partition))

    def flush(self) -> None:
        for writer in self.writers.values():
            writer.flush()

    def checkpoint(self, at: int) -> None:
        self.flush()
        self.sink.write_checkpoint(at, force=True)


def consume(store: ObjectStore, db: Path, *, follow: bool = False, **options: Any) -> tuple[SqliteApplier, Replayer]:
    """One consume run into the SQLite file ``db``; returns the (open) applier and the replayer."""
    applier = SqliteApplier(db)
    replayer = Replayer(store, applier, ConsumerOptions(**options))
    replayer.run(follow=follow)
    return applier, replayer
