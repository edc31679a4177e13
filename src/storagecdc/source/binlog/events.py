"""Typed binlog events, as ``EventDecoder`` produces them. Row values are not decoded here.

Every event carries where it came from: ``file`` (base name), ``offset`` (where the event starts; events
unpacked from a TRANSACTION_PAYLOAD carry the payload event's offset and log_pos, so a position taken from
any event is a valid resume point), ``log_pos`` (the header's next-event position), ``timestamp`` (header,
seconds) and ``server_id``.

Events are slotted dataclasses, not frozen ones: a frozen dataclass costs several times more to build, and
the decoder builds one per event on the hot path. Consumers treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.framing import FormatState
from storagecdc.source.binlog.query import QueryStatus

RowsKind = Literal["insert", "update", "delete", "partial_update"]

STMT_END_F = 0x1
NO_FOREIGN_KEY_CHECKS_F = 0x2
RELAXED_UNIQUE_CHECKS_F = 0x4
COMPLETE_ROWS_F = 0x8

MARIA_FL_STANDALONE = 0x1
MARIA_FL_GROUP_COMMIT_ID = 0x2
MARIA_FL_TRANSACTIONAL = 0x4
MARIA_FL_ALLOW_PARALLEL = 0x8
MARIA_FL_WAITED = 0x10
MARIA_FL_DDL = 0x20
MARIA_FL_PREPARED_XA = 0x40
MARIA_FL_COMPLETED_XA = 0x80


@dataclass(slots=True)
class Event:
    """Base of every decoded event: its position and header fields."""

    file: str
    offset: int
    log_pos: int
    timestamp: int
    server_id: int


@dataclass(slots=True)
class FormatDescriptionEvent(Event):
    """FORMAT_DESCRIPTION (or a v1/v3 START event): the format of the events that follow."""

    format: FormatState


@dataclass(slots=True)
class RotateEvent(Event):
    """ROTATE: the stream continues in ``next_file`` at ``position``."""

    next_file: str
    position: int


@dataclass(slots=True)
class StopEvent(Event):
    """STOP: the server shut down; this file ends here."""


@dataclass(slots=True)
class QueryEvent(Event):
    """QUERY (and MariaDB's compressed QUERY): a statement, e.g. BEGIN, COMMIT or DDL.

    ``query`` is decoded with the client charset of ``status.charset`` (``(client, connection, server)``
    collation ids); bytes invalid in that charset survive as surrogate escapes.
    """

    thread_id: int
    exec_time: int
    error_code: int
    schema: str
    query: str
    status: QueryStatus = field(default_factory=QueryStatus)


@dataclass(slots=True)
class TableMapEvent(Event):
    """TABLE_MAP: the table ``table_map.table_id`` stands for in the rows events that follow."""

    table_map: TableMap


@dataclass(slots=True)
class RowsEvent(Event):
    """WRITE/UPDATE/DELETE_ROWS (every version, MariaDB compressed ones decompressed) and PARTIAL_UPDATE_ROWS.

        Row images are not decoded: they are ``body[rows_start:]``. ``present`` is the columns-present bitmap
        as a little-endian int (bit i = column i); ``present_after`` the after-image bitmap of updates (pre-GA
    v0 updates have one bitmap for both images: there it equals ``present``), None for inserts and deletes.
        ``table_map`` is the TABLE_MAP in force for ``table_id``.
    """

    type_code: int
    kind: RowsKind
    table_id: int
    flags: int
    column_count: int
    present: int
    present_after: int | None
    body: bytes
    rows_start: int
    table_map: TableMap
    partition_id: int | None = None
    source_partition_id: int | None = None

    @property
    def stmt_end(self) -> bool:
        return bool(self.flags & STMT_END_F)


@dataclass(slots=True)
class XidEvent(Event):
    """XID: commit of a transaction on a transactional engine."""

    xid: int


@dataclass(slots=True)
class XaPrepareEvent(Event):
    """XA_PREPARE (MySQL): ends the first phase of an XA transaction (XA PREPARE, or XA COMMIT ONE PHASE)."""

    one_phase: bool
    format_id: int
    gtrid: bytes
    bqual: bytes


@dataclass(slots=True)
class GtidEvent(Event):
    """MySQL GTID, ANONYMOUS_GTID and GTID_TAGGED: the start of a transaction.

    ``sid`` is the source UUID in canonical form; ``tag`` is None for untagged GTIDs. Timestamps are
    microseconds since the epoch (0 when the server does not log them, before 8.0.1); ``last_committed``
    and ``sequence_number`` are None before 5.7.
    """

    anonymous: bool
    flags: int
    sid: str
    gno: int
    tag: str | None = None
    last_committed: int | None = None
    sequence_number: int | None = None
    immediate_commit_timestamp: int = 0
    original_commit_timestamp: int = 0
    transaction_length: int = 0
    immediate_server_version: int | None = None
    original_server_version: int | None = None

    @property
    def gtid(self) -> str:
        """``uuid:gno`` or ``uuid:tag:gno``."""
        return f"{self.sid}:{self.tag}:{self.gno}" if self.tag else f"{self.sid}:{self.gno}"


@dataclass(slots=True)
class GtidSetEntry:
    """One source (UUID and optional tag) of a GTID set with its half-open ``[start, end)`` intervals."""

    sid: str
    tag: str | None
    intervals: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class PreviousGtidsEvent(Event):
    """PREVIOUS_GTIDS: every GTID in earlier binlog files."""

    gtids: tuple[GtidSetEntry, ...]

    @property
    def gtid_set(self) -> str:
        """MySQL's text form, e.g. ``uuid:1-5:7,uuid2:tag:1-3``."""
        parts = []
        for entry in self.gtids:
            ranges = ":".join(f"{s}-{e - 1}" if e - 1 > s else f"{s}" for s, e in entry.intervals)
            head = f"{entry.sid}:{entry.tag}" if entry.tag else entry.sid
            parts.append(f"{head}:{ranges}" if ranges else head)
        return ",".join(parts)


@dataclass(slots=True)
class MariaGtidEvent(Event):
    """MariaDB GTID: the start of an event group ``domain_id-server_id-seq_no``.

    ``standalone`` groups (flag FL_STANDALONE) have no terminating COMMIT/XID: DDL, for example.
    ``xid`` is ``(format_id, gtrid, bqual)`` for XA PREPARE / XA COMMIT groups.
    """

    domain_id: int
    seq_no: int
    flags: int
    commit_id: int | None = None
    xid: tuple[int, bytes, bytes] | None = None

    @property
    def standalone(self) -> bool:
        return bool(self.flags & MARIA_FL_STANDALONE)

    @property
    def gtid(self) -> str:
        return f"{self.domain_id}-{self.server_id}-{self.seq_no}"


@dataclass(slots=True)
class MariaGtidListEvent(Event):
    """MariaDB GTID_LIST: the binlog state, as ``(domain_id, server_id, seq_no)`` triples."""

    gtids: tuple[tuple[int, int, int], ...]
    flags: int = 0


@dataclass(slots=True)
class BinlogCheckpointEvent(Event):
    """MariaDB BINLOG_CHECKPOINT: crash recovery needs binlog files from ``binlog_file`` on."""

    binlog_file: str


@dataclass(slots=True)
class AnnotateRowsEvent(Event):
    """MariaDB ANNOTATE_ROWS or MySQL ROWS_QUERY: the statement that produced the rows events that follow."""

    query: str


@dataclass(slots=True)
class IntVarEvent(Event):
    """INTVAR: LAST_INSERT_ID (``kind`` 1) or INSERT_ID (``kind`` 2) for the next statement."""

    kind: int
    value: int


@dataclass(slots=True)
class RandEvent(Event):
    """RAND: the RAND() seeds for the next statement."""

    seed1: int
    seed2: int


@dataclass(slots=True)
class UserVarEvent(Event):
    """USER_VAR: a user variable the next statement uses. ``value`` is raw (None for NULL)."""

    name: str
    value: bytes | None
    value_type: int = 0
    charset: int = 0
    flags: int = 0


@dataclass(slots=True)
class HeartbeatEvent(Event):
    """HEARTBEAT / HEARTBEAT_V2 (live streams only): the server is alive at ``log_file`` : ``position``."""

    log_file: str
    position: int


@dataclass(slots=True)
class UnhandledEvent(Event):
    """A known event type that carries data this package does not interpret (statement-based LOAD DATA
    events, for example). It is passed on, never dropped, so that consumers can fail knowingly."""

    type_code: int
    body: bytes
