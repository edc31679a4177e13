"""What a DDL statement says, independent of the parser that read it (sqlglot or the hand parser).

The tracker applies these to its state; both parsers produce exactly these values, and the tests check that
they agree on every statement both can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sqltypes import TypeSpec


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table as written: ``schema`` is None when the statement leaves it to the default database."""

    schema: str | None
    table: str


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column definition as declared (charset inheritance is the tracker's job)."""

    name: str
    type: TypeSpec
    nullable: bool | None = None
    """False for NOT NULL, True for NULL, None when not stated."""
    default: str | None = None
    has_default: bool = False
    primary: bool = False
    generated: bool = False
    invisible: bool = False
    row_period: str | None = None
    """``START`` or ``END`` for MariaDB's ``GENERATED ALWAYS AS ROW START|END`` (system-versioning) columns."""
    versioned: bool = False
    """MariaDB's column-level ``WITH SYSTEM VERSIONING``, which makes a CREATE TABLE system-versioned."""


@dataclass(frozen=True, slots=True)
class Position:
    """``FIRST`` (``after`` is None) or ``AFTER after``."""

    after: str | None


@dataclass(frozen=True, slots=True)
class TableOptions:
    charset: str | None = None
    collation: str | None = None
    system_versioning: bool = False
    """MariaDB's ``WITH SYSTEM VERSIONING`` table option."""


# ---- statements ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateDatabase:
    name: str
    options: TableOptions
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class DropDatabase:
    name: str


@dataclass(frozen=True, slots=True)
class AlterDatabase:
    name: str | None
    options: TableOptions


@dataclass(frozen=True, slots=True)
class CreateTable:
    """CREATE TABLE; ``like`` for ``CREATE TABLE ... LIKE``; ``as_select`` when the column list comes (in
    part) from a SELECT, so the columns must be learned from the next TABLE_MAP."""

    table: TableRef
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    options: TableOptions = field(default_factory=TableOptions)
    if_not_exists: bool = False
    like: TableRef | None = None
    as_select: bool = False
    temporary: bool = False
    periods: tuple[tuple[str, str, str], ...] = ()
    """MariaDB's application-time periods (name, start, end): later ALTERs may key them (WITHOUT OVERLAPS)."""


@dataclass(frozen=True, slots=True)
class DropTables:
    tables: tuple[TableRef, ...]
    temporary: bool = False


@dataclass(frozen=True, slots=True)
class TruncateTable:
    table: TableRef


@dataclass(frozen=True, slots=True)
class RenameTables:
    pairs: tuple[tuple[TableRef, TableRef], ...]


# ---- ALTER TABLE actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddColumn:
    """ADD [COLUMN] [IF NOT EXISTS]: with ``if_not_exists``, an existing column makes it a no-op."""

    column: ColumnSpec
    position: Position | None = None
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class DropColumn:
    """DROP [COLUMN] [IF EXISTS]: with ``if_exists``, a missing column makes it a no-op."""

    name: str
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class ChangeColumn:
    """MODIFY (``old_name == column.name``) and CHANGE (rename + retype)."""

    old_name: str
    column: ColumnSpec
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class RenameColumn:
    old_name: str
    new_name: str


@dataclass(frozen=True, slots=True)
class SetDefault:
    """ALTER COLUMN c SET DEFAULT x (``default`` set) / DROP DEFAULT (``drop``)."""

    column: str
    default: str | None
    drop: bool = False


@dataclass(frozen=True, slots=True)
class AddPrimaryKey:
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DropPrimaryKey:
    pass


@dataclass(frozen=True, slots=True)
class RenameTo:
    table: TableRef


@dataclass(frozen=True, slots=True)
class ConvertCharset:
    options: TableOptions


@dataclass(frozen=True, slots=True)
class SetOptions:
    """Table options (ENGINE=, DEFAULT CHARSET=, COMMENT=...): only charset/collation matter here."""

    options: TableOptions


@dataclass(frozen=True, slots=True)
class SystemVersioning:
    """MariaDB's ``ADD SYSTEM VERSIONING`` (``add``) / ``DROP SYSTEM VERSIONING``. ``row_end`` names the
    ``AS ROW END`` column the same ALTER declares (None: the server adds invisible row_start/row_end)."""

    add: bool
    row_end: str | None = None


@dataclass(frozen=True, slots=True)
class AddPeriod:
    """MariaDB's ``ADD PERIOD FOR name (start, end)`` (application time): start and end become NOT NULL."""

    name: str
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class DropPeriod:
    """``DROP PERIOD FOR name``: the bounds stay (NOT NULL)."""

    name: str


@dataclass(frozen=True, slots=True)
class IndexChange:
    """ADD/DROP INDEX, KEY, UNIQUE, FOREIGN KEY, CONSTRAINT, CHECK...: no column change."""

    ddl_type: int


@dataclass(frozen=True, slots=True)
class OtherAlter:
    """Any other clause (ALGORITHM=, LOCK=, partitioning, ORDER BY, FORCE...): no column change."""

    ddl_type: int


AlterAction = (
    AddColumn | DropColumn | ChangeColumn | RenameColumn | SetDefault | AddPrimaryKey | DropPrimaryKey
    | RenameTo | ConvertCharset | SetOptions | SystemVersioning | AddPeriod | DropPeriod | IndexChange | OtherAlter
)


@dataclass(frozen=True, slots=True)
class AlterTable:
    table: TableRef
    actions: tuple[AlterAction, ...]


Statement = (
    CreateDatabase | DropDatabase | AlterDatabase | CreateTable | DropTables | TruncateTable | RenameTables
    | AlterTable
)
