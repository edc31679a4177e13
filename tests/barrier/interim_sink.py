"""A Sink built from the real file writer and CSV encoder, used until sink.storage_sink lands."""

from __future__ import annotations

import json
import zlib

from storagecdc.model import DDLEvent, TableInfo, TableName
from storagecdc.sink.formats import encoder_for
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import build_schema_file_key, build_syncpoint_key

OPTIONS = SinkOptions(include_commit_ts=True, date_separator="none")


class InterimSink:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def table_writer(self, table: TableInfo, dispatcher_id: str | None = None) -> StorageTableWriter:
        return StorageTableWriter(self.store, table, OPTIONS, encoder_for(table, OPTIONS),
                                  dispatcher_id=dispatcher_id, clock=lambda: 0)

    def _schema(self, *, schema: str, table: str, version: int, query: str, ddl_type: int, cols: list[str]) -> str:
        doc = {"Table": table, "Schema": schema, "TableVersion": version, "Query": query, "Type": ddl_type,
               "TableColumns": cols}
        data = json.dumps(doc, indent=4).encode()
        key = build_schema_file_key(schema, table, version, zlib.crc32(json.dumps(cols).encode()))
        self.store.put(key, data, create_only=True)
        return key

    def write_table_schema(self, table: TableInfo, query: str = "", ddl_type: int = 0) -> str:
        return self._schema(schema=table.name.schema, table=table.name.table, version=table.version,
                            query=query, ddl_type=ddl_type, cols=list(table.column_names))

    def write_ddl(self, ddl: DDLEvent) -> list[str]:
        if not ddl.new_tables and not ddl.tables:
            return [self._schema(schema=ddl.schema, table="", version=ddl.commit_ts, query=ddl.query,
                                 ddl_type=ddl.ddl_type, cols=[])]
        if ddl.new_tables:
            return [self.write_table_schema(t.with_version(ddl.commit_ts), ddl.query, ddl.ddl_type)
                    for t in ddl.new_tables]
        return [self._schema(schema=t.schema, table=t.table, version=ddl.commit_ts, query=ddl.query,
                             ddl_type=ddl.ddl_type, cols=[]) for t in ddl.tables]

    def write_syncpoint(self, commit_ts: int, cut: dict[TableName, dict[str, int]]) -> str:
        key = build_syncpoint_key(commit_ts)
        doc = {str(t): spans for t, spans in sorted(cut.items())}
        self.store.put(key, json.dumps({"commit-ts": commit_ts, "tables": doc}).encode(), create_only=True)
        return key

    def write_checkpoint(self, checkpoint_ts: int) -> None:
        self.store.put("metadata", json.dumps({"checkpoint-ts": checkpoint_ts}).encode())
