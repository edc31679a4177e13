"""Value types shared by every layer: tables, columns, changes, block events, positions.

This module imports nothing from the package. Everything here is plain, immutable (or append-only while a
batch is being built) data, so it can cross threads, processes and the dispatcher/maintainer transport.

Row values are Python objects with exact semantics, one convention for the whole project:

=====================  ==========================================================================
MySQL type             Python value
=====================  ==========================================================================
TINYINT..BIGINT        ``int`` (unsigned columns decode to their unsigned value)
DECIMAL                ``decimal.Decimal`` with the column's scale (never float)
FLOAT                  ``float`` holding the exact 32-bit value (sinks print it as 32-bit)
DOUBLE                 ``float``
BIT(n)                 ``int`` (unsigned)
YEAR                   ``int`` (0 stays 0)
DATE                   ``datetime.date``; zero or partial-zero dates as ``str`` (``"0000-00-00"``)
DATETIME(fsp)          ``datetime.datetime`` (naive); zero dates as ``str`` (``"0000-00-00 00:00:00"``)
TIMESTAMP(fsp)         ``datetime.datetime`` with ``tzinfo=UTC``; the zero timestamp as ``str``
TIME(fsp)              ``datetime.timedelta`` (negative and beyond 24 h allowed)
CHAR/VARCHAR/TEXT      ``str`` decoded with the column charset; binary charset -> ``bytes``
BINARY(n)              ``bytes`` re-padded with 0x00 to n bytes
BLOB, VARBINARY        ``bytes``
ENUM                   ``str`` (the member; index 0 -> ``""``); members unknown (inspection only): the index
SET                    ``str`` (members joined by ``","``); members unknown (inspection only): the bit mask
JSON                   ``str`` (JSON text)
GEOMETRY               ``bytes`` (MySQL's internal form: 4-byte SRID + WKB)
VECTOR                 ``bytes`` (little-endian float32 array, as stored)
UUID, INET6, INET4     ``bytes``: MariaDB's stored 16/16/4 bytes as its binlog carries them (= ``HEX()``)
NULL                   ``None``
=====================  ==========================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

TSO_LOGICAL_BITS = 18
"""TiCDC's TSO layout: ``commit_ts = (physical_ms << 18) | logical``."""


def make_ts(physical_ms: int, logical: int = 0) -> int:
    """Compose a TSO-layout timestamp."""
    return (physical_ms << TSO_LOGICAL_BITS) | logical


def ts_physical_ms(ts: int) -> int:
    """Milliseconds since the Unix epoch of a TSO-layout timestamp."""
    return ts >> TSO_LOGICAL_BITS


@dataclass(frozen=True, slots=True, order=True)
class TableName:
    """A table's identity: database (MySQL 'schema') and table name, exactly as MySQL spells them."""

    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"

    def quoted(self) -> str:
        """The name in MySQL back-quote syntax."""
        return "`" + self.schema.replace("`", "``") + "`.`" + self.table.replace("`", "``") + "`"


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column of a table version, as declared (DDL or TABLE_MAP full metadata).

    ``type_name`` is the upper-case SQL type without attributes (``INT``, ``VARCHAR``, ``DECIMAL``,
    ``DATETIME``, ``ENUM``, ``LONGBLOB``...). ``length`` is the display width / character length / decimal
    precision / bit count when declared or known, ``scale`` the decimal scale or fractional-second precision.
    """

    name: str
    type_name: str
    unsigned: bool = False
    length: int | None = None
    scale: int | None = None
    charset: str | None = None
    """Character set name (``utf8mb4``, ``latin1``, ``binary``...); None for non-string types."""
    collation: str | None = None
    nullable: bool = True
    default: str | None = None
    """The declared default as SQL text (``'abc'`` unquoted to ``abc``, ``CURRENT_TIMESTAMP``); None if none."""
    has_default: bool = False
    is_pk: bool = False
    elems: tuple[str, ...] = ()
    """ENUM/SET members, in declaration order."""
    generated: bool = False
    invisible: bool = False

    @property
    def is_binary(self) -> bool:
        """True when string values of this column are raw bytes rather than text."""
        return self.charset == "binary" or self.type_name in _BINARY_TYPES


_BINARY_TYPES = frozenset(
    {"BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "VECTOR"}
)


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One version of a table's schema.

    ``version`` is the commit-ts of the DDL that produced this version, or the changefeed's start-ts for a
    table that existed when the changefeed started. ``partition_ids`` is non-empty for partitioned tables
    when the source knows them.
    """

    name: TableName
    columns: tuple[ColumnInfo, ...]
    version: int
    table_id: int | None = None
    partition_ids: tuple[int, ...] = ()
    pk_indexes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Positions of the primary-key columns (empty when the table has none)."""
    column_names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pk_indexes", tuple(i for i, c in enumerate(self.columns) if c.is_pk))
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def with_version(self, version: int) -> TableInfo:
        return TableInfo(self.name, self.columns, version, self.table_id, self.partition_ids)


class _Absent:
    """The value of a column that a MINIMAL row image did not log (distinct from NULL)."""

    __slots__ = ()
    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
"""Placeholder for a column missing from a row image (binlog_row_image=MINIMAL/NOBLOB)."""


class Op(enum.Enum):
    """Kind of a row change; the value is TiCDC's CSV op letter."""

    INSERT = "I"
    UPDATE = "U"
    DELETE = "D"


@dataclass(frozen=True, slots=True, order=True)
class SourcePosition:
    """Where in the binlog a change comes from: the file and the offset of the event *after* it.

    Resuming from a position re-reads from ``offset`` in ``file``. ``gtid_set`` is the executed GTID set
    after the event (MySQL ``uuid:1-5,...`` or MariaDB ``0-1-42,...``), empty when GTIDs are off.
    """

    file: str
    offset: int
    gtid_set: str = ""


@dataclass(slots=True)
class RowChanges:
    """A batch of row changes of one table and one kind, in binlog order, all from one transaction.

    Rows are tuples in the table version's column order. ``rows`` holds the after images (INSERT, UPDATE)
    or the before images (DELETE); ``before`` holds the UPDATE before images, aligned with ``rows``.
    ``pk_changed[i]`` is True when UPDATE ``i`` changed the primary key (sinks write it as delete + insert).
    ``seq`` is the index, within its transaction, of the batch's first change.
    ``partition_id`` is set when the source knows the physical partition of the rows.
    """

    table: TableInfo
    op: Op
    commit_ts: int
    rows: list[tuple[Any, ...]]
    before: list[tuple[Any, ...]] | None = None
    pk_changed: list[bool] | None = None
    seq: int = 0
    commit_time_ms: int = 0
    partition_id: int | None = None

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class TxnCommit:
    """The end of a transaction: every change with ``commit_ts`` has been emitted before this."""

    commit_ts: int
    position: SourcePosition
    rows: int = 0


class BlockScope(enum.Enum):
    """Which dispatchers a block event influences."""

    TABLE = "table"
    """The tables in ``DDLEvent.tables`` (all spans of each)."""
    DATABASE = "database"
    """Every table of ``DDLEvent.schema`` plus the table-trigger dispatcher."""
    ALL = "all"
    """Every dispatcher of the changefeed."""


@dataclass(frozen=True, slots=True)
class DDLEvent:
    """A schema change, a block event at ``commit_ts``.

    ``ddl_type`` is TiDB's DDL action type number (``storagecdc.ddl_types``). ``tables`` are the existing
    tables the DDL influences (before it runs); ``new_tables`` are the table versions that exist after it
    (created, altered, renamed-to); ``dropped`` are the tables that no longer exist after it.
    ``creates_or_drops`` is True when the table-trigger dispatcher must write it (CREATE/DROP/RENAME TABLE,
    database DDL).
    """

    commit_ts: int
    query: str
    schema: str
    ddl_type: int
    scope: BlockScope
    tables: tuple[TableName, ...] = ()
    new_tables: tuple[TableInfo, ...] = ()
    dropped: tuple[TableName, ...] = ()
    position: SourcePosition | None = None
    commit_time_ms: int = 0

    @property
    def creates_or_drops(self) -> bool:
        return self.scope is not BlockScope.TABLE or bool(self.dropped) or any(
            t.name not in self.tables for t in self.new_tables
        )


@dataclass(frozen=True, slots=True)
class SyncPointEvent:
    """A periodic all-table barrier at ``commit_ts``: the consistent cut of every table."""

    commit_ts: int


@dataclass(frozen=True, slots=True)
class ResolvedTs:
    """Every change with a commit-ts below ``ts`` has been emitted; nothing below it will follow."""

    ts: int
    position: SourcePosition | None = None


ChangeEvent = RowChanges | TxnCommit | DDLEvent | SyncPointEvent | ResolvedTs
"""What the source emits, in commit order."""
