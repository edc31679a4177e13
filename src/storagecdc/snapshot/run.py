"""The initial snapshot: every selected table's rows at one consistent point, then the stream from there.

``plan_snapshot`` decides from the config and the sink's records whether a snapshot runs (or continues), takes
the consistent point (``snapshot.point``), reads the schema in it and returns an ``InitialSnapshot``;
``InitialSnapshot.changes(feed, assembler)`` yields the rows as INSERT ``RowChanges`` and, at the end, one
``TxnCommit``; for a Parquet sink the readers' Arrow record batches go to writers of the snapshot's own
instead (``snapshot.arrow_sink``: the changefeed sees one empty batch per table, which makes its dispatcher).
Tables with an integer key are read in key ranges by both readers at once (``reader.key_ranges``). The
assembler that reads the binlog afterwards starts at the point, with the snapshot's schema, so its first
transaction is the first one after the snapshot.

Commit-ts: the first attempt's point gets ``start_ts = server clock ms << 18`` (logical 0): every table's
first version (schema file) is ``start_ts``, as for any changefeed that starts with existing tables, and the
rows carry ``start_ts + 1`` (logical 1, as the first transaction of a millisecond; logical 0 is left to
syncpoints). Streamed transactions come after, with larger commit-ts.

Crash and restart (``snapshot.state``): a table's rows become durable in the sink as it is read; a table is
marked ``started`` before its first row goes to the sink and ``done`` after its last row was flushed. A run
that finds an unfinished record takes a new consistent point and reads the tables not done there, with
commit-ts above the previous rows': a ``started`` table with an integer key continues after the largest key
in storage (``snapshot.durable``); any other ``started`` table with rows in storage first gets a TRUNCATE
TABLE version (one commit-ts each, from ``previous rows-ts + 1`` on, so a consumer drops the partial rows)
and is read from the start. Streaming still starts at the first point; changes of rows read at a later point
are dropped until the stream reaches that point (``snapshot.gap``). A DDL on such a table between the two
points is refused (the tables' columns and CREATE_TIME at the new point must equal the recorded ones).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from storagecdc.config import ChangefeedConfig
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.errors import ConfigError, SourceError, StorageCdcError
from storagecdc.model import (
    ChangeEvent,
    Op,
    RowChanges,
    SourcePosition,
    TableInfo,
    TableName,
    TxnCommit,
    make_ts,
    ts_physical_ms,
)
from storagecdc.runtime.changefeed import Changefeed
from storagecdc.snapshot.arrow_sink import ArrowTables
from storagecdc.snapshot.durable import continuable, durable_max_key, has_rows
from storagecdc.snapshot.point import ConsistentPoint, take_point
from storagecdc.snapshot.progress import SnapshotProgress, watch
from storagecdc.snapshot.reader import (
    ArrowTarget,
    TablePlan,
    key_ranges,
    same_columns,
    selected_schemas,
    table_facts,
)
from storagecdc.snapshot.reader_kind import use_threads
from storagecdc.snapshot.state import DONE, PENDING, STARTED, SnapshotRecord, TableState
from storagecdc.snapshot.workers import read_tables
from storagecdc.source.live import LiveSource
from storagecdc.source.schema import SchemaTracker
from storagecdc.source.stream import SchemaOptions
from storagecdc.source.txn import AssemblerState, TransactionAssembler
from storagecdc.storage.base import ObjectStore

log = logging.getLogger(__name__)

MARK_AHEAD = 16
"""Pending tables marked started together with the one a reader starts."""


class SnapshotStopped(StorageCdcError):
    """The snapshot was asked to stop (SIGINT/SIGTERM); what is durable is recorded and the next run continues."""


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    readers: int = 2
    """Readers reading tables at once, each with a connection in its own snapshot of the same point."""
    chunk_rows: int = 20_000
    """Rows per chunk (one query of a keyed table, one fetch of an unkeyed one); memory holds a few chunks."""
    progress_interval_s: float = 5.0


def wants_snapshot(config: ChangefeedConfig, has_resume: bool) -> bool:
    """Whether a changefeed without a snapshot record should take one."""
    mode = config.source.snapshot
    if mode == "never" or has_resume:
        return False
    if not config.source.is_live:
        raise ConfigError("source.snapshot needs a live source (mysql://...); binlog files have no tables to read")
    if mode == "initial" and config.source.start:
        raise ConfigError("source.snapshot = \"initial\" reads the tables now: it cannot start at --start; "
                          "use \"when-needed\" or leave --start out")
    return not config.source.start


@dataclass
class InitialSnapshot:
    """One attempt of the snapshot: its consistent point is taken; ``changes()`` reads the tables."""

    store: ObjectStore
    record: SnapshotRecord
    point: ConsistentPoint
    plans: list[TablePlan]
    """The tables to read, largest first."""
    truncate: list[TableName]
    """Tables an earlier attempt started: truncated (a new version) before they are read again."""
    base_ts: int
    """The commit-ts below this attempt's: its TRUNCATE versions are ``base_ts + 1``, ``+ 2``..., its rows'
    the next one."""
    options: SnapshotOptions
    progress: SnapshotProgress | None = None
    """Rows and tables done of the estimates, once ``changes()`` runs (for metrics)."""
    arrow: ArrowTables | None = None
    """The writers of tables read as Arrow record batches (a Parquet sink), once ``changes()`` runs."""

    @property
    def start_state(self) -> AssemblerState:
        """Where the assembler starts: the first point, with commit-ts below this attempt's rows."""
        return AssemblerState(self.base_ts, self.record.position, self.record.schema_json)

    def close(self) -> None:
        self.point.close()

    def changes(self, feed: Changefeed, assembler: TransactionAssembler) -> Iterator[ChangeEvent]:
        """The attempt's record, TRUNCATE versions of partly read tables, every row as an INSERT, then the
        snapshot's commit. The record is written through the changefeed's store, which ``storagecdc run`` fences
        (a process that lost the sink prefix writes no snapshot state) and meters."""
        record = self.record
        store = self.store = feed.store
        record.save(store, with_schema=True)
        tracker = assembler.tracker
        assert tracker is not None
        for i, name in enumerate(self.truncate):
            ddl = tracker.apply_query(f"TRUNCATE TABLE {name.quoted()}", name.schema, self.base_ts + 1 + i)
            if ddl is not None:
                yield ddl
        if self.truncate:
            record.schema_json = tracker.to_json()
            record.save(store, with_schema=True)
        rows_ts = record.rows_ts
        infos = {p.info.name: tracker.table(p.info.name) or p.info for p in self.plans}
        progress = self.progress = SnapshotProgress(len(self.plans), sum(p.estimated_rows for p in self.plans),
                                                    self.options.progress_interval_s)
        watch(feed, progress)
        commit_ms = ts_physical_ms(rows_ts)
        total = 0
        order = [p.info.name for p in self.plans]
        saved = time.monotonic()
        finished: list[TableName] = []
        arrow = self.arrow = ArrowTables(feed)
        seqs: dict[TableName, int] = {}
        """Rows of each table handed to the sink in this attempt: the next row's ``seq`` in the transaction."""
        pieces = key_ranges(self.point.meta, self.plans, self.options.chunk_rows)
        for name, rows in read_tables(self.point.workers, pieces, self.options.chunk_rows):
            state = record.tables[name]
            if rows is None:
                finished.append(name)
                progress.table_done()
                if time.monotonic() - saved >= self.options.progress_interval_s:
                    self._record_done(feed, finished)
                    saved = time.monotonic()
                continue
            if state.state == PENDING:
                self._mark_started(order, name)
            count = len(rows) if isinstance(rows, list) else rows.num_rows
            state.rows += count
            total += count
            seq = seqs.get(name, 0)
            seqs[name] = seq + count
            if isinstance(rows, list):
                yield RowChanges(infos[name], Op.INSERT, rows_ts, rows, seq=seq, commit_time_ms=commit_ms)
            else:
                if not arrow.started(name):  # the table's dispatcher and schema file first
                    yield RowChanges(infos[name], Op.INSERT, rows_ts, [], commit_time_ms=commit_ms)
                arrow.append(infos[name], rows, rows_ts, seq)
            progress.add_rows(count)
            if feed.stopping:
                self._flush(feed, {n for n, s in record.tables.items() if s.state == STARTED})
                self._record_done(feed, finished)
                raise SnapshotStopped("snapshot stopped: the next run continues with the tables not done")
        self.point.close()
        self._record_done(feed, finished)
        progress.finished()
        assembler.last_ts = rows_ts
        record.complete = True
        record.save(store)
        yield TxnCommit(rows_ts, record.position, total)

    def _record_done(self, feed: Changefeed, finished: list[TableName]) -> None:
        """Flush the tables read to the end since the last save, then record them done. (Batched: looking
        up a table's dispatchers goes through all of them.)"""
        self._flush(feed, set(finished))
        for name in finished:
            self.record.tables[name].state = DONE
        finished.clear()
        self.record.save(self.store)

    def _flush(self, feed: Changefeed, names: set[TableName]) -> None:
        if self.arrow is not None:
            self.arrow.flush(names)
        _flush(feed, names)

    def _mark_started(self, order: list[TableName], name: TableName) -> None:
        """Record ``name`` as started before any of its rows can be durable, with the next pending tables in
        reading order (marking a table early is harmless: it has no rows to continue after), so that a
        database of many small tables does not cost a save per table."""
        tables = self.record.tables
        tables[name].state = STARTED
        ahead = [n for n in order[order.index(name) + 1:] if tables[n].state == PENDING][:MARK_AHEAD]
        for n in ahead:
            tables[n].state = STARTED
        self.record.save(self.store)


def _flush(feed: Changefeed, names: set[TableName]) -> None:
    """Make the rows of ``names`` handed to the changefeed durable now."""
    if not names:
        return
    for d in feed.dispatchers():
        if isinstance(d, TableDispatcher) and d.table.name in names:
            d.flush()


def plan_snapshot(config: ChangefeedConfig, store: ObjectStore, record: SnapshotRecord | None, source_name: str,
                  options: SnapshotOptions | None = None) -> InitialSnapshot:
    """Take a consistent point and plan the (first or a continued) snapshot attempt."""
    options = options or SnapshotOptions()
    probe = LiveSource(config.source.uri, None, blocking=False)
    point = take_point(probe, config.source.uri, options.readers, threads=functools.partial(use_threads, config=config))
    try:
        return _plan(config, store, record, source_name=source_name, options=options, point=point)
    except BaseException:
        point.close()
        raise


def _plan(config: ChangefeedConfig, store: ObjectStore, record: SnapshotRecord | None, *, source_name: str,
          options: SnapshotOptions, point: ConsistentPoint) -> InitialSnapshot:
    src = config.source
    schema_options = SchemaOptions(schema_file=src.schema_file, ignore_ddl=src.ignore_ddl,
                                   server_charset=src.server_charset)
    flavor = "mariadb" if point.mariadb else "mysql"
    table_filter = config.table_filter()
    conn = point.meta
    truncate: list[TableName] = []
    if record is None:
        start_ts = make_ts(point.server_ms)  # logical 0: the rows take 1, as a transaction would
        tracker = schema_options.tracker_factory(start_ts, flavor)
        tracker.load_from_server(conn, selected_schemas(conn, table_filter.match_schema))
        names = [n for n in tracker.table_names() if table_filter.match(n)]
        facts = table_facts(conn, sorted({n.schema for n in names}))
        tables = {n: TableState(PENDING, point.position, created=facts.get(n, (0, ""))[1]) for n in names}
        record = SnapshotRecord(config.changefeed_id, source_name, point.position, start_ts, start_ts + 1,
                                tracker.to_json(), tables)
        base_ts = start_ts
    else:
        tracker = SchemaTracker.from_json(record.schema_json)
        todo = [n for n, t in record.tables.items() if t.state != DONE]
        facts = table_facts(conn, sorted({n.schema for n in todo}))
        _check_unchanged(conn, schema_options, flavor, tracker, todo)
        for n in todo:
            old = record.tables[n]
            info = tracker.table(n)
            if old.created and facts.get(n, (0, ""))[1] != old.created:
                raise SourceError(_CHANGED.format(name=n, what="was dropped and created again, or rebuilt,"))
            if old.state == PENDING or info is None:
                record.tables[n] = TableState(PENDING, point.position, created=old.created)
            elif continuable(config, info):
                record.tables[n] = _continued(store, config, info, old, point.position)
            elif has_rows(store, info):
                truncate.append(n)
                record.tables[n] = TableState(STARTED, point.position, created=old.created)
            else:  # marked started, but none of its rows reached storage
                record.tables[n] = TableState(PENDING, point.position, created=old.created)
        base_ts = record.rows_ts
        record.rows_ts = base_ts + len(truncate) + 1  # each TRUNCATE has a commit-ts of its own
        record.attempts += 1
        log.info("snapshot: continuing (attempt %d): %d of %d tables left, %d read again from the start",
                 record.attempts, len(todo), len(record.tables), len(truncate))
    todo_infos = [info for n, t in sorted(record.tables.items()) if t.state != DONE
                  for info in [tracker.table(n)] if info is not None]
    plans = sorted((TablePlan(info, facts.get(info.name, (0, ""))[0], record.tables[info.name].after,
                              _arrow_target(config, info, record.rows_ts))
                    for info in todo_infos), key=lambda p: -p.estimated_rows)
    return InitialSnapshot(store, record, point, plans, truncate, base_ts, options)


def _arrow_target(config: ChangefeedConfig, info: TableInfo, rows_ts: int) -> ArrowTarget | None:
    """Parquet takes a table's chunks as Arrow record batches unless the table is split into spans."""
    if config.sink.protocol != "parquet" or str(info.name) in config.split_tables:
        return None
    return ArrowTarget(rows_ts, config.sink.output_old_value)


def _continued(store: ObjectStore, config: ChangefeedConfig, info: TableInfo, old: TableState,
               point: SourcePosition) -> TableState:
    """A started table continued after its largest key in storage: the rows up to it were read at
    ``old.read_at`` (or earlier), the rest will be read at ``point``."""
    durable = durable_max_key(store, config.sink, info)
    earlier = list(old.earlier)
    if durable is not None and (not earlier or durable > earlier[-1][0]):
        earlier.append((durable, old.read_at))
    log.info("snapshot: %s continues after key %s", info.name, earlier[-1][0] if earlier else "(none)")
    return TableState(STARTED, point, old.rows, earlier, old.created)


_CHANGED = ("table {name} {what} since the interrupted snapshot began; its rows cannot be continued "
            "consistently: start the changefeed again into an empty sink prefix")


def _check_unchanged(conn: Any, options: SchemaOptions, flavor: str, recorded: SchemaTracker,
                     names: list[TableName]) -> None:
    now = options.tracker_factory(0, flavor)
    now.load_from_server(conn, sorted({n.schema for n in names}))
    for name in names:
        then, current = recorded.table(name), now.table(name)
        if then is None or current is None or not same_columns(then.columns, current.columns):
            raise SourceError(_CHANGED.format(name=name, what="was changed (DDL)"))
