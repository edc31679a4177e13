"""The storage sink: ``sink.base.Sink`` over an ``ObjectStore``.

- ``table_writer``: a ``StorageTableWriter`` for one (dispatcher, table, version); the encoder is built once
  per table version (Parquet refuses metadata-column names here, at start).
- ``write_table_schema`` / ``write_ddl``: schema files, create-only and idempotent (a key already written,
  by this process or an earlier one, is left as it is). The barrier protocol calls them before any data
  file of the new version exists.
- ``write_syncpoint``: the syncpoint marker of a consistent cut (create-only, idempotent).
- ``write_checkpoint``: the root ``metadata``; never backwards (also across restarts: the stored value is
  read first), at most every ``checkpoint_interval_ms`` unless forced; a held-back value is written by the
  next call that may write, or by ``close``. ``fence`` (e.g. the owner lease's check) runs before each
  checkpoint write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from storagecdc import ddl_types
from storagecdc.errors import ConsumerError, ObjectExistsError
from storagecdc.model import BlockScope, DDLEvent, TableInfo, TableName
from storagecdc.sink.formats import TableEncoder, encoder_for
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.writer import Clock, StorageTableWriter, wall_clock_ms
from storagecdc.storage import checkpoint, schema_file, syncpoint
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.names import decode_segment
from storagecdc.storage.paths import (
    META_DIR,
    DataDir,
    DataFileKey,
    DateSeparator,
    parse_data_file_key,
    parse_schema_file_key,
)

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_MS = 2000
_DATABASE_DDL = frozenset({ddl_types.CREATE_SCHEMA, ddl_types.DROP_SCHEMA,
                           ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE})


class StorageSink:
    """Writes change files, schema files, syncpoint markers and the checkpoint to one store."""

    def __init__(self, store: ObjectStore, options: SinkOptions, *, clock: Clock = wall_clock_ms,
                 checkpoint_interval_ms: int = CHECKPOINT_INTERVAL_MS,
                 fence: Callable[[], None] | None = None) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self._checkpoint_interval_ms = checkpoint_interval_ms
        self._encoders: dict[tuple[TableName, int], TableEncoder] = {}
        self._written: set[str] = set()
        self._checkpoint = checkpoint.CheckpointWriter(store, fence=fence)
        self._checkpoint_written_ms: int | None = None
        self._pending_checkpoint: int | None = None

    @property
    def store(self) -> ObjectStore:
        return self._store

    @property
    def options(self) -> SinkOptions:
        return self._options

    def table_writer(self, table: TableInfo, dispatcher_id: str | None = None) -> StorageTableWriter:
        key = (table.name, table.version)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = encoder_for(table, self._options)
        return StorageTableWriter(self._store, table, self._options, encoder, dispatcher_id=dispatcher_id,
                                  clock=self._clock)

    # -- block events ----------------------------------------------------------------------------------

    def _create(self, key: str, data: bytes) -> str:
        """Create-only and idempotent: an object already at ``key`` is the same block event's, keep it."""
        if key in self._written:
            return key
        try:
            self._store.put(key, data, create_only=True)
        except ObjectExistsError:
            log.info("%s already exists; keeping it", key)
        self._written.add(key)
        return key

    def write_table_schema(self, table: TableInfo, query: str = "", ddl_type: int = 0) -> str:
        file = schema_file.schema_file_for_table(table, query, ddl_type)
        return self._create(file.key(), file.to_json())

    def write_ddl(self, ddl: DDLEvent) -> list[str]:
        if ddl.scope is BlockScope.DATABASE and ddl.ddl_type in _DATABASE_DDL:
            file = schema_file.schema_file_for_database(ddl.schema, ddl.commit_ts, ddl.query, ddl.ddl_type)
            return [self._create(file.key(), file.to_json())]
        keys = [self.write_table_schema(t.with_version(ddl.commit_ts), ddl.query, ddl.ddl_type)
                for t in ddl.new_tables]
        for name in ddl.dropped:
            if all(t.name != name for t in ddl.new_tables):
                empty = TableInfo(name, (), ddl.commit_ts)
                keys.append(self.write_table_schema(empty, ddl.query, ddl.ddl_type))
        return keys

    def write_syncpoint(self, commit_ts: int, cut: dict[TableName, dict[str, int]]) -> str:
        """The marker of the consistent cut at ``commit_ts`` (create-only, idempotent).

        Called by the barrier writer while every dispatcher waits at ``commit_ts``, so each table's files
        in storage are exactly its cut: the marker names, per table of ``cut``, its version at
        ``commit_ts`` and, per span and data directory, the last data file. Storage is listed once for all
        tables (not once per table: 10,000 tables would be 10,000 listings).
        """
        separator = DateSeparator(self._options.date_separator)
        # Keyed by the tables' key prefixes (``<schema>/<table>/``): comparing and hashing strings, not
        # TableNames, keeps the pass over every key cheap.
        wanted = {(name.schema, name.table) for name in cut}
        prefix_of: dict[tuple[str, str], str] = {}
        seen: dict[str, bool] = {}
        versions: dict[str, int] = {}
        files: dict[str, list[DataFileKey]] = {}
        for info in self._store.list(""):
            key = info.key
            prefix = key[:key.find("/", key.find("/") + 1) + 1]
            in_cut = seen.get(prefix)
            if in_cut is None:
                table = _table_of(prefix)
                in_cut = seen[prefix] = table in wanted
                if table is not None and in_cut:
                    prefix_of[table] = prefix
            if not in_cut:
                continue
            if _SCHEMA_FILE_MARK in key:
                schema_key = parse_schema_file_key(key)
                if schema_key is not None:
                    if schema_key.table and versions.get(prefix, 0) < schema_key.version <= commit_ts:
                        versions[prefix] = schema_key.version
                    continue
            data_key = parse_data_file_key(key, separator)
            if data_key is not None and data_key.dir.version <= commit_ts:
                files.setdefault(prefix, []).append(data_key)
        tables = []
        for name, spans in sorted(cut.items(), key=lambda item: (item[0].schema, item[0].table)):
            prefix = prefix_of.get((name.schema, name.table), "")
            tables.append(_cut_of(name, versions.get(prefix, 0), files.get(prefix, []), spans))
        marker = syncpoint.SyncpointMarker(commit_ts, tuple(tables))
        return self._create(marker.key, marker.to_json())

    # -- checkpoint --------------------------------------------------------------------------------------

    def write_checkpoint(self, checkpoint_ts: int, *, force: bool = False) -> None:
        """Advance ``metadata`` to ``checkpoint_ts`` (every change below it is durable everywhere).

        A value not above the stored one is ignored. Unless ``force``, a write less than
        ``checkpoint_interval_ms`` after the previous one is held back (``close`` writes it).
        """
        current = self._checkpoint.current
        if current is not None and checkpoint_ts <= current:
            return
        now = self._clock()
        last = self._checkpoint_written_ms
        if not force and last is not None and now - last < self._checkpoint_interval_ms:
            self._pending_checkpoint = max(checkpoint_ts, self._pending_checkpoint or 0)
            return
        self._checkpoint.write(checkpoint_ts)
        self._checkpoint_written_ms = now
        self._pending_checkpoint = None

    @property
    def checkpoint_ts(self) -> int | None:
        """The checkpoint in storage as this sink knows it (None when there is none yet)."""
        return self._checkpoint.current

    def close(self) -> None:
        """Write a checkpoint that the interval held back. The store stays open (its owner closes it)."""
        if self._pending_checkpoint is not None:
            self.write_checkpoint(self._pending_checkpoint, force=True)


_SCHEMA_FILE_MARK = f"/{META_DIR}/schema_"


def _table_of(prefix: str) -> tuple[str, str] | None:
    """(schema, table) of the objects under ``prefix`` (``<schema>/<table>/``); None when it names none."""
    schema, _, table = prefix[:-1].partition("/")
    try:
        return decode_segment(schema), decode_segment(table)
    except ConsumerError:
        return None  # not a table directory (no writer produces such a segment)


def _cut_of(
    name: TableName, version: int, files: list[DataFileKey], spans: dict[str, int]
) -> syncpoint.SyncpointTable:
    """A table's part of a marker: its version at the cut (the newest of its schema files ``version`` and
    its data files) and each span's last data file per directory."""
    if not files:
        return syncpoint.SyncpointTable(name, version, dict.fromkeys(spans, ()))
    version = max(version, *(f.dir.version for f in files))
    last: dict[tuple[str, DataDir], DataFileKey] = {}
    for f in files:
        if f.dir.version == version:
            slot = (f.dispatcher_id or "", f.dir)
            if slot not in last or last[slot].index < f.index:
                last[slot] = f
    by_span: dict[str, list[str]] = {span: [] for span in spans}
    for (span, _), f in sorted(last.items(), key=lambda item: item[1].dir.key_prefix()):
        by_span.setdefault(span, []).append(f.dir.key_prefix() + f.name)
    return syncpoint.SyncpointTable(name, version, {k: tuple(v) for k, v in by_span.items()})
