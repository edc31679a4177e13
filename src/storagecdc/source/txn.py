"""Transactions: typed binlog events in, ``model.ChangeEvent``s out, in commit order.

The assembler groups events into transactions (BEGIN .. XID/COMMIT, MariaDB standalone groups, DDL),
gives each its commit-ts (docs/architecture.md: ``max(previous + 1, (physical_ms << 18) | 1)`` with the physical
time of the group's first event), decodes row images of the selected tables only, turns DDL into
``DDLEvent`` block events through the ``SchemaTracker``, and tracks the position and executed GTID set.

Row batches of a transaction are held until its commit, so a transaction that ends in ROLLBACK produces
nothing; a transaction larger than ``max_buffered_rows`` is streamed from then on (a later ROLLBACK of such
a transaction is an error: it can only come from non-transactional tables, whose changes stay applied).

``inspect=True`` is for looking at a binlog (``storagecdc decode``), not replicating it: a partial JSON
update whose before image lacks the column comes out as mysqlbinlog-style diff text instead of an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from storagecdc.errors import SchemaError, SourceError
from storagecdc.model import (
    ABSENT,
    ChangeEvent,
    DDLEvent,
    Op,
    ResolvedTs,
    RowChanges,
    SourcePosition,
    TableInfo,
    TableName,
    TxnCommit,
    make_ts,
)
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.events import (
    Event,
    FormatDescriptionEvent,
    GtidEvent,
    HeartbeatEvent,
    MariaGtidEvent,
    MariaGtidListEvent,
    PreviousGtidsEvent,
    QueryEvent,
    RotateEvent,
    RowsEvent,
    UnhandledEvent,
    XaPrepareEvent,
    XidEvent,
)
from storagecdc.source.binlog.rowcodec import RowsDecoder, column_specs, compile_decoder
from storagecdc.source.gtid import MariaDBGtidPos, MySQLGtidSet
from storagecdc.source.schema import MARIADB, MYSQL, SchemaTracker, is_dml
from storagecdc.table_filter import TableFilter

log = logging.getLogger(__name__)

_OPS = {"insert": Op.INSERT, "delete": Op.DELETE, "update": Op.UPDATE, "partial_update": Op.UPDATE}
_ATOMIC_CTAS = re.compile(r"\bSTART\s+TRANSACTION\s*$", re.IGNORECASE)
_TXN_CONTROL = ("SAVEPOINT", "ROLLBACK TO", "RELEASE SAVEPOINT")

TrackerFactory = Callable[[int, str], SchemaTracker]
"""Builds the schema tracker once the stream's start-ts and flavor ("mysql"/"mariadb") are known."""
UnknownTable = Callable[[TableMap, SchemaError], TableInfo]
"""Decides what to do with rows of a table whose columns are unknown (default: raise the error)."""
StatementHandler = Callable[[Event, str], None]
"""Called with the event and a reason for changes logged as statements (statement-format DML, LOAD DATA),
which cannot be replicated as rows; the default raises SourceError."""


@dataclass(slots=True)
class AssemblerState:
    """What a resumed assembler needs: the last commit-ts, where to read next, the executed GTIDs."""

    last_commit_ts: int
    position: SourcePosition
    schema_json: str


class TransactionAssembler:
    """Turns one stream of typed events into change events. Not thread-safe; one per stream."""

    def __init__(
        self,
        make_tracker: TrackerFactory,
        *,
        table_filter: TableFilter | None = None,
        max_buffered_rows: int = 20_000,
        on_unknown_table: UnknownTable | None = None,
        on_statement: StatementHandler | None = None,
        resume: AssemblerState | None = None,
        inspect: bool = False,
    ) -> None:
        self._make_tracker = make_tracker
        self.tracker: SchemaTracker | None = None
        self._filter = table_filter or TableFilter()
        self._max_buffered = max_buffered_rows
        self._on_unknown = on_unknown_table
        self._on_statement = on_statement
        self._inspect = inspect
        self.last_ts = 0
        self._flavor = MYSQL
        self._mysql_gtids = MySQLGtidSet()
        self._maria_gtids = MariaDBGtidPos()
        self._pending_gtid: Callable[[], None] | None = None
        self._group_ms = 0  # physical time of the current group's first event
        self._in_txn = False
        self._standalone = False
        self._implicit = False  # a transaction opened by rows without BEGIN (pre-5.0 style streams)
        self._statement_open = False  # statement-format DML outside BEGIN, which an XID may close
        self._ts = 0
        self._buffer: list[RowChanges] = []
        self._buffered = 0
        self._streaming = False
        self._seq = 0
        self._rows = 0
        self._decoders: dict[int, tuple[TableMap, TableInfo, RowsDecoder]] = {}
        self.schema_generation = 0
        """Increases whenever the tracked schema may have changed (DDL, a table learned from a TABLE_MAP)."""
        self.position = SourcePosition("", 4)
        if resume is not None:
            self.last_ts = resume.last_commit_ts
            self.position = resume.position
            self._restore_gtids(resume.position.gtid_set)
            self.tracker = SchemaTracker.from_json(resume.schema_json)
            self._flavor = self.tracker.flavor

    # ---- public ------------------------------------------------------------------------------------------

    def state(self) -> AssemblerState:
        """The resume state as of the last emitted TxnCommit/DDLEvent."""
        tracker = self._require_tracker()
        return AssemblerState(self.last_ts, self.position, tracker.to_json())

    def feed(self, events: Iterable[Event]) -> Iterator[ChangeEvent]:
        """The change events of ``events``, in commit order."""
        for event in events:
            yield from self._handle(event)

    # ---- dispatch ------------------------------------------------------------------------------------------

    def _handle(self, ev: Event) -> Iterable[ChangeEvent]:
        if isinstance(ev, RowsEvent):
            return self._rows_event(ev)
        if isinstance(ev, XidEvent):
            return self._commit(ev)
        if isinstance(ev, QueryEvent):
            return self._query(ev)
        if isinstance(ev, GtidEvent):
            self._start_group(ev, ev.original_commit_timestamp // 1000 or ev.timestamp * 1000)
            if not ev.anonymous:
                sid, tag, gno = ev.sid, ev.tag or "", ev.gno
                self._pending_gtid = lambda: self._mysql_gtids.add(sid, tag, gno)
            return ()
        if isinstance(ev, MariaGtidEvent):
            self._start_group(ev, ev.timestamp * 1000)
            self._flavor = MARIADB
            domain, server, seq = ev.domain_id, ev.server_id, ev.seq_no
            self._pending_gtid = lambda: self._maria_gtids.add(domain, server, seq)
            self._standalone = ev.standalone
            if ev.xid is not None:
                raise SourceError(f"{ev.file}: offset {ev.offset}: XA transactions are not supported")
            if not ev.standalone:
                self._begin(ev)  # MariaDB logs no BEGIN: a transactional group's GTID opens it
            return ()
        if isinstance(ev, FormatDescriptionEvent):
            self._flavor = MARIADB if ev.format.is_mariadb else MYSQL
            self._ensure_tracker(ev)
            return ()
        if isinstance(ev, PreviousGtidsEvent):
            if not self._mysql_gtids.intervals:
                self._mysql_gtids = MySQLGtidSet.parse(ev.gtid_set)
            return ()
        if isinstance(ev, MariaGtidListEvent):
            for domain, server, seq in ev.gtids:
                self._maria_gtids.domains.setdefault(domain, (server, seq))
            return ()
        if isinstance(ev, HeartbeatEvent):
            if self._in_txn:
                return ()
            self._follow(ev.log_file, ev.position)
            return (ResolvedTs(self.last_ts + 1, self.position),)
        if isinstance(ev, RotateEvent):
            if ev.log_pos == 0 and not self._in_txn:  # a live stream's artificial ROTATE: where it reads from
                self._follow(ev.next_file, ev.position)
            return ()
        if isinstance(ev, XaPrepareEvent):
            raise SourceError(f"{ev.file}: offset {ev.offset}: XA transactions are not supported")
        if isinstance(ev, UnhandledEvent):
            self._statement_changes(ev, f"event type {ev.type_code} (statement-based LOAD DATA)")
        return ()

    # ---- transactions ------------------------------------------------------------------------------------

    def _start_group(self, ev: Event, physical_ms: int) -> None:
        self._ensure_tracker(ev)
        self._group_ms = physical_ms
        self._pending_gtid = None
        self._standalone = False

    def _begin(self, ev: Event) -> None:
        if self._in_txn:
            raise SourceError(f"{ev.file}: offset {ev.offset}: BEGIN inside an open transaction")
        self._ensure_tracker(ev)
        ms = self._group_ms or ev.timestamp * 1000
        self._ts = max(self.last_ts + 1, _txn_ts(ms))
        self._in_txn = True
        self._seq = 0
        self._rows = 0
        self._streaming = False

    def _commit(self, ev: Event) -> Iterable[ChangeEvent]:
        if not self._in_txn:
            if self._statement_open:  # an autocommit statement (reported already) ends with its XID
                self._statement_open = False
                self._advance(ev)
                return ()
            raise SourceError(f"{ev.file}: offset {ev.offset}: COMMIT/XID without a transaction")
        out: list[ChangeEvent] = list(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        self._end_group(ev)
        out.append(TxnCommit(self._ts, self.position, self._rows))
        return out

    def _rollback(self, ev: Event) -> None:
        if self._streaming:
            raise SourceError(
                f"{ev.file}: offset {ev.offset}: ROLLBACK of a transaction with more than "
                f"{self._max_buffered} rows already streamed (non-transactional tables mixed in)"
            )
        self._buffer.clear()
        self._buffered = 0
        self._in_txn = False
        self._group_ms = 0
        self._pending_gtid = None
        self._advance(ev)

    def _end_group(self, ev: Event) -> None:
        self._in_txn = False
        self._implicit = False
        self._group_ms = 0
        self.last_ts = self._ts
        if self._pending_gtid is not None:
            self._pending_gtid()
            self._pending_gtid = None
        self._advance(ev)

    def _follow(self, file: str, offset: int) -> None:
        """Between transactions, a live stream's position moves on without events that carry changes."""
        if file and offset >= 4:
            self.position = SourcePosition(file, offset, self.position.gtid_set)

    def _advance(self, ev: Event) -> None:
        gtids = str(self._maria_gtids) if self._flavor == MARIADB else str(self._mysql_gtids)
        self.position = SourcePosition(ev.file, ev.log_pos or ev.offset, gtids)

    # ---- statements ----------------------------------------------------------------------------------------

    def _query(self, ev: QueryEvent) -> Iterable[ChangeEvent]:
        text = ev.query.strip().rstrip(";").strip()
        head = text[:20].upper()
        if head == "BEGIN" or head.startswith("START TRANSACTION"):
            self._begin(ev)
            return ()
        if head == "COMMIT":
            return self._commit(ev)
        if head == "ROLLBACK":
            self._rollback(ev)
            return ()
        if head.startswith(_TXN_CONTROL):
            return ()
        if head.startswith("XA "):
            raise SourceError(f"{ev.file}: offset {ev.offset}: XA transactions are not supported")
        return self._statement(ev, text)

    def _statement(self, ev: QueryEvent, text: str) -> Iterable[ChangeEvent]:
        tracker = self._ensure_tracker(ev)
        out: list[ChangeEvent] = []
        if self._in_txn and not self._standalone:
            if is_dml(text):
                self._statement_changes(ev, f"statement-format DML {text[:80]!r}")
                return ()
            if self._rows or self._buffer:
                out.extend(self._commit(ev))  # DDL commits the open transaction implicitly
            else:
                return self._ddl_in_group(ev, text)  # MariaDB's CREATE TABLE ... SELECT
        ms = self._group_ms or ev.timestamp * 1000
        ts = max(self.last_ts + 1, _txn_ts(ms))
        tracker.learn_database_collation(ev.schema, ev.status.charset_database)
        ddl = tracker.apply_query(
            text, ev.schema, ts, position=f"{ev.file}:{ev.offset}", server_collation_id=_server_collation(ev)
        )
        if ddl is None:
            if is_dml(text):
                self._statement_changes(ev, f"statement-format DML {text[:80]!r}")
                self._statement_open = True
            self._group_ms = 0
            self._pending_gtid = None
            self._advance(ev)
            return out
        self._decoders.clear()
        self.schema_generation += 1
        if _ATOMIC_CTAS.search(text):  # MySQL 8: the rows of CREATE ... SELECT follow in the same group
            self._ts = ts
            self.last_ts = ts
            self._advance(ev)
            if self._selected(ddl):
                out.append(_with_position(ddl, self.position, ms))
            self._begin(ev)
            return out
        self._ts = ts
        self._end_group(ev)
        if self._selected(ddl):
            out.append(_with_position(ddl, self.position, ms))
        return out

    def _ddl_in_group(self, ev: QueryEvent, text: str) -> list[ChangeEvent]:
        """A DDL that opens a transaction group whose rows follow: the DDL takes the group's commit-ts and the
        rows the next one, so the new table version precedes its rows."""
        tracker = self._require_tracker()
        tracker.learn_database_collation(ev.schema, ev.status.charset_database)
        ddl = tracker.apply_query(
            text, ev.schema, self._ts, position=f"{ev.file}:{ev.offset}", server_collation_id=_server_collation(ev)
        )
        if ddl is None:
            return []
        self._decoders.clear()
        self.schema_generation += 1
        self.last_ts = self._ts
        self._ts += 1
        self._advance(ev)
        return [_with_position(ddl, self.position, self._group_ms)] if self._selected(ddl) else []

    def _statement_changes(self, ev: Event, what: str) -> None:
        if self._on_statement is None:
            raise SourceError(
                f"{ev.file}: offset {ev.offset}: {what} cannot be replicated as rows; "
                "the server must log with binlog_format=ROW"
            )
        self._on_statement(ev, what)

    def _selected(self, ddl: DDLEvent) -> bool:
        names = [*ddl.tables, *(t.name for t in ddl.new_tables), *ddl.dropped]
        if not names:
            return self._filter.match_schema(ddl.schema)
        return any(self._filter.match(n) for n in names)

    # ---- rows ----------------------------------------------------------------------------------------------

    def _rows_event(self, ev: RowsEvent) -> Iterable[ChangeEvent]:
        tm = ev.table_map
        if not self._in_txn:
            self._begin(ev)
            self._implicit = True
        name = TableName(tm.schema, tm.table)
        if self._filter.match(name) and name not in self._require_tracker().sequences:
            batch = self._decode(ev, tm)
            self._seq += len(batch.rows)
            self._rows += len(batch.rows)
            self._buffer.append(batch)
            self._buffered += len(batch.rows)
        out: list[ChangeEvent] = []
        if self._buffered > self._max_buffered:
            self._streaming = True
            out.extend(self._buffer)
            self._buffer.clear()
            self._buffered = 0
        if self._implicit and ev.stmt_end:
            out.extend(self._commit(ev))
        return out

    def _decode(self, ev: RowsEvent, tm: TableMap) -> RowChanges:
        cached = self._decoders.get(tm.table_id)
        if cached is not None and cached[0] is tm:
            _, info, decoder = cached
        else:
            info, decoder = self._decoder_for(ev, tm)
            self._decoders[tm.table_id] = (tm, info, decoder)
        buf, start = ev.body, ev.rows_start
        try:
            before = pk_changed = None
            if ev.kind in ("insert", "delete"):
                rows = decoder.decode_rows(buf, start, len(buf), ev.present)
            else:
                after_bits = ev.present if ev.present_after is None else ev.present_after
                if ev.kind == "update":
                    before, rows = decoder.decode_update_rows(buf, start, len(buf), ev.present, after_bits)
                else:
                    before, rows = decoder.decode_partial_update_rows(
                        buf, start, len(buf), ev.present, after_bits, diff_text_without_before=self._inspect
                    )
                pk_changed = _pk_changed(info.pk_indexes, before, rows)
        except SourceError as exc:
            raise SourceError(f"{ev.file}: offset {ev.offset}: table {info.name}: {exc}") from None
        return RowChanges(
            info, _OPS[ev.kind], self._ts, rows, before, pk_changed, self._seq, self._ts >> 18, ev.partition_id
        )

    def _decoder_for(self, ev: RowsEvent, tm: TableMap) -> tuple[TableInfo, RowsDecoder]:
        tracker = self._require_tracker()
        self.schema_generation += 1
        try:
            info = tracker.on_table_map(tm, self._ts, position=f"{ev.file}:{ev.offset}")
        except SchemaError as exc:
            if self._on_unknown is None:
                raise
            info = self._on_unknown(tm, exc)
        try:
            specs = column_specs(tm, info.columns)
        except ValueError as exc:
            raise SchemaError(f"{ev.file}: offset {ev.offset}: table {info.name}: {exc}") from None
        return info, compile_decoder(specs)

    # ---- helpers -------------------------------------------------------------------------------------------

    def _ensure_tracker(self, ev: Event) -> SchemaTracker:
        if self.tracker is None:
            if not ev.timestamp and not isinstance(ev, FormatDescriptionEvent):
                raise SourceError(f"{ev.file}: offset {ev.offset}: the stream does not start with a format event")
            if ev.timestamp:
                start_ts = make_ts(ev.timestamp * 1000) - 1
                self.tracker = self._make_tracker(start_ts, self._flavor)
                self.last_ts = max(self.last_ts, start_ts)
        return self._require_tracker()

    def _require_tracker(self) -> SchemaTracker:
        if self.tracker is None:
            raise SourceError(f"{self.position.file or 'stream'}: no event with a timestamp seen yet")
        return self.tracker

    def _restore_gtids(self, text: str) -> None:
        if not text:
            return
        if text[0].isdigit() and text.count("-") >= 2 and ":" not in text:
            self._maria_gtids = MariaDBGtidPos.parse(text)
        else:
            self._mysql_gtids = MySQLGtidSet.parse(text)


def _txn_ts(physical_ms: int) -> int:
    """The earliest commit-ts a transaction of that millisecond may take: logical 1, since logical 0 of every
    millisecond is left to syncpoints, whose boundary must never equal a transaction's commit-ts."""
    return make_ts(physical_ms, 1)


def _server_collation(ev: QueryEvent) -> int | None:
    return ev.status.charset[2] if ev.status.charset else None


def _pk_changed(
    pk: tuple[int, ...], before: list[tuple[object, ...]], after: list[tuple[object, ...]]
) -> list[bool] | None:
    if not pk:
        return None
    if len(pk) == 1:
        k = pk[0]
        return [b[k] != a[k] and a[k] is not ABSENT and b[k] is not ABSENT for b, a in zip(before, after, strict=True)]
    return [
        any(b[k] != a[k] and a[k] is not ABSENT and b[k] is not ABSENT for k in pk)
        for b, a in zip(before, after, strict=True)
    ]


def _with_position(ddl: DDLEvent, position: SourcePosition, ms: int) -> DDLEvent:
    return DDLEvent(
        ddl.commit_ts, ddl.query, ddl.schema, ddl.ddl_type, ddl.scope, ddl.tables, ddl.new_tables,
        ddl.dropped, position, ms,
    )
