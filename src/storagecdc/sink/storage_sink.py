"""The storage sink: ``sink.base.Sink`` over an ``ObjectStore``.

- ``table_writer``: a ``StorageTableWriter`` for one (dispatcher, table, version); the encoder is built once
  per table version (Parquet refuses metadata-column names here, at start). Its files upload on the sink's
  ``uploads`` pool (``worker-count`` threads, ``sink.uploads``), in a lane of its own.
- ``write_table_schema`` / ``write_ddl``: schema files, create-only and idempotent (a key already written,
  by this process or an earlier one, is left as it is). The barrier protocol calls them before any data
  file of the new version exists.
- ``write_syncpoint``: the syncpoint marker of a consistent cut (create-only, idempotent).
- ``write_checkpoint``: the root ``metadata``; never backwards (also across restarts: the stored value is
  read first), at most every ``checkpoint_interval_ms`` unless forced; a held-back value is written by the
  next call that may write, or by ``close``. ``fence`` (e.g. the owner lease's check) runs before each
  checkpoint write. ``close`` also waits for the uploads in flight and stops the upload threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from storagecdc import ddl_types
from storagecdc.errors import ObjectExistsError
from storagecdc.model import BlockScope, DDLEvent, TableInfo, TableName
from storagecdc.sink.base import TableCut
from storagecdc.sink.formats import TableEncoder, encoder_for
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.resume_probe import TableCensus
from storagecdc.sink.syncpoint_cut import SyncpointCuts
from storagecdc.sink.uploads import Uploads
from storagecdc.sink.writer import Clock, StorageTableWriter, wall_clock_ms
from storagecdc.storage import checkpoint, schema_file
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import build_syncpoint_key

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_MS = 2000
UPLOAD_FILES_IN_FLIGHT = 3
"""Bytes in flight on the upload pool, in files of ``file-size``: two cut files (a cut ends a bit past
``file-size``) upload while the writer fills the next; a third cut waits for the first to be durable."""
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
        self._cuts = SyncpointCuts(store, options)
        self._uploads = Uploads(options.worker_count, UPLOAD_FILES_IN_FLIGHT * options.file_size)
        self._census = TableCensus(store)
        """The tables with data directories when the first writer resumed (no probes for the others)."""

    @property
    def store(self) -> ObjectStore:
        return self._store

    @property
    def uploads(self) -> Uploads:
        """The upload pool of every writer of this sink (``deferred()`` batches many tables' flushes)."""
        return self._uploads

    @property
    def options(self) -> SinkOptions:
        return self._options

    def table_writer(self, table: TableInfo, dispatcher_id: str | None = None) -> StorageTableWriter:
        key = (table.name, table.version)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = encoder_for(table, self._options)
        return StorageTableWriter(self._store, table, self._options, encoder, dispatcher_id=dispatcher_id,
                                  clock=self._clock, lane=self._uploads.lane(), census=self._census)

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
        ``commit_ts`` and, per span and data directory, the last data file, from one listing of the store
        (``sink.syncpoint_cut``).
        """
        return self._create(build_syncpoint_key(commit_ts), self._cuts.listed(commit_ts, cut))

    def write_syncpoint_cut(self, commit_ts: int, cut: Sequence[TableCut]) -> str:
        """The same marker from what the spans reported (``sink.syncpoint_cut``: storage is listed only for
        tables whose span instances changed since this sink's previous marker, and once at the first)."""
        return self._create(build_syncpoint_key(commit_ts), self._cuts.reported(commit_ts, cut))

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
        """Wait for the uploads in flight, then write a checkpoint that the interval held back. The store
        stays open (its owner closes it)."""
        self._uploads.close()
        if self._pending_checkpoint is not None:
            self.write_checkpoint(self._pending_checkpoint, force=True)

