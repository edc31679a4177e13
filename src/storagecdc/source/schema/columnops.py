"""Column lists as DDL changes them: declared columns resolved to ``ColumnInfo`` (charset inheritance,
MariaDB's JSON), and ALTER TABLE actions applied in order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from storagecdc import ddl_types
from storagecdc.errors import SchemaError
from storagecdc.model import ColumnInfo

from . import charsets
from .sqltypes import BINARY_TYPES, SPATIAL_TYPES, STRING_TYPES
from .statements import (
    AddColumn,
    AddPeriod,
    AddPrimaryKey,
    AlterAction,
    ChangeColumn,
    ColumnSpec,
    ConvertCharset,
    DropColumn,
    DropPeriod,
    DropPrimaryKey,
    IndexChange,
    OtherAlter,
    Position,
    RenameColumn,
    RenameTo,
    SetDefault,
    SetOptions,
    SystemVersioning,
)
from .versioning import add_system_versioning, drop_system_versioning, keep_row_end_keyed

MYSQL = "mysql"
MARIADB = "mariadb"
_BINARY_LIKE = frozenset({"VECTOR", "UUID", "INET4", "INET6"})
"""Types stored as bytes (MariaDB's UUID/INET6/INET4 are fixed 16/16/4 bytes, logged like BINARY(n))."""


def resolve_column(spec: ColumnSpec, table_charset: tuple[str, str], flavor: str) -> ColumnInfo:
    """The column as the server stores it: concrete charset/collation and the implicit NOT NULL of keys."""
    t = spec.type
    name = t.type_name
    charset: str | None = None
    collation: str | None = None
    if name == "JSON" and flavor == MARIADB:
        name, charset, collation = "LONGTEXT", "utf8mb4", "utf8mb4_bin"
    elif name in STRING_TYPES:
        charset, collation = charsets.resolve(t.charset, t.collation, table_charset)
        if t.binary_attr and t.collation is None:
            collation = "binary" if charset == "binary" else charset + "_bin"
    elif name in BINARY_TYPES or name in SPATIAL_TYPES or name in _BINARY_LIKE:
        charset, collation = "binary", "binary"
    nullable = not spec.primary if spec.nullable is None else spec.nullable
    # a nullable column without a DEFAULT clause has the implicit DEFAULT NULL (as information_schema says)
    has_default = spec.has_default or (nullable and not spec.generated)
    return ColumnInfo(
        name=spec.name, type_name=name, unsigned=t.unsigned, length=t.length, scale=t.scale,
        charset=charset, collation=collation, nullable=nullable, default=spec.default,
        has_default=has_default, is_pk=spec.primary, elems=t.elems, generated=spec.generated,
        invisible=spec.invisible,
    )


@dataclass(slots=True)
class AlterResult:
    columns: list[ColumnInfo]
    charset: tuple[str, str]
    periods: dict[str, tuple[str, str]] = field(default_factory=dict)
    """MariaDB application-time periods by name: (start, end) columns."""
    rename_to: tuple[str | None, str] | None = None


def _find(columns: list[ColumnInfo], name: str) -> int | None:
    folded = name.casefold()
    for i, c in enumerate(columns):
        if c.name.casefold() == folded:
            return i
    return None


def _index(columns: list[ColumnInfo], name: str, table: str) -> int:
    i = _find(columns, name)
    if i is None:
        raise SchemaError(f"table {table} has no column {name!r}")
    return i


def _insert(columns: list[ColumnInfo], col: ColumnInfo, pos: Position | None, table: str) -> None:
    if pos is None:
        columns.append(col)
    elif pos.after is None:
        columns.insert(0, col)
    else:
        columns.insert(_index(columns, pos.after, table) + 1, col)


def _set_pk(columns: list[ColumnInfo], names: tuple[str, ...], table: str) -> None:
    keys = {_index(columns, n, table) for n in names}
    for i, c in enumerate(columns):
        is_pk = i in keys
        columns[i] = replace(c, is_pk=is_pk, nullable=False if is_pk else c.nullable)


def _convert(columns: list[ColumnInfo], cs: tuple[str, str]) -> None:
    for i, c in enumerate(columns):
        if c.type_name in STRING_TYPES and c.charset != "binary":
            columns[i] = replace(c, charset=cs[0], collation=cs[1])


def _renamed(column: str, action: RenameColumn) -> str:
    return action.new_name if column.casefold() == action.old_name.casefold() else column


def apply_alter(state: AlterResult, action: AlterAction, table: str, flavor: str) -> None:
    """Apply one ALTER TABLE action to ``state`` in place."""
    cols = state.columns
    if isinstance(action, AddColumn):
        if _find(cols, action.column.name) is not None:
            if action.if_not_exists:
                return
            raise SchemaError(f"table {table} already has a column {action.column.name!r}")
        col = resolve_column(action.column, state.charset, flavor)
        if col.is_pk:
            _set_pk(cols, (), table)
        _insert(cols, col, action.position, table)
    elif isinstance(action, DropColumn):
        if not (action.if_exists and _find(cols, action.name) is None):
            del cols[_index(cols, action.name, table)]
    elif isinstance(action, ChangeColumn):
        i = _index(cols, action.old_name, table)
        old = cols.pop(i)
        col = resolve_column(action.column, state.charset, flavor)
        if old.is_pk and not col.is_pk:
            col = replace(col, is_pk=True, nullable=False)
        if action.position is None:
            cols.insert(i, col)
        else:
            _insert(cols, col, action.position, table)
    elif isinstance(action, RenameColumn):
        i = _index(cols, action.old_name, table)
        cols[i] = replace(cols[i], name=action.new_name)
        state.periods = {k: (_renamed(s, action), _renamed(e, action)) for k, (s, e) in state.periods.items()}
    elif isinstance(action, SetDefault):
        i = _index(cols, action.column, table)
        cols[i] = replace(cols[i], default=action.default, has_default=not action.drop)
    elif isinstance(action, AddPrimaryKey):
        periods = {k.casefold(): v for k, v in state.periods.items()}
        keys = tuple(n for key in action.columns for n in periods.get(key.casefold(), (key,)))
        _set_pk(cols, keys, table)
        keep_row_end_keyed(cols)
    elif isinstance(action, AddPeriod):
        for bound in (action.start, action.end):
            i = _index(cols, bound, table)
            cols[i] = replace(cols[i], nullable=False)
        state.periods[action.name] = (action.start, action.end)
    elif isinstance(action, DropPeriod):
        state.periods = {k: v for k, v in state.periods.items() if k.casefold() != action.name.casefold()}
    elif isinstance(action, DropPrimaryKey):
        _set_pk(cols, (), table)
    elif isinstance(action, RenameTo):
        state.rename_to = (action.table.schema, action.table.table)
    elif isinstance(action, ConvertCharset):
        state.charset = charsets.resolve(action.options.charset, action.options.collation, state.charset)
        _convert(cols, state.charset)
    elif isinstance(action, SystemVersioning):
        if action.add:
            add_system_versioning(cols, action.row_end, table)
        else:
            drop_system_versioning(cols)
    elif isinstance(action, SetOptions):
        opts = action.options
        if opts.charset is not None or opts.collation is not None:
            state.charset = charsets.resolve(opts.charset, opts.collation, state.charset)


def alter_ddl_type(actions: tuple[AlterAction, ...]) -> int:
    """TiDB's action type for an ALTER: the one clause's type, or MULTI_SCHEMA_CHANGE for several.

    Clauses that change nothing TiDB tracks (ENGINE=, ALGORITHM=...) count only when alone (type 0).
    """
    types = [_action_type(a) for a in actions]
    meaningful = [t for t in types if t != 0]
    if not meaningful:
        return 0
    if len(meaningful) == 1:
        return meaningful[0]
    return ddl_types.MULTI_SCHEMA_CHANGE


def _action_type(action: AlterAction) -> int:
    if isinstance(action, AddColumn):
        return ddl_types.ADD_COLUMN
    if isinstance(action, DropColumn):
        return ddl_types.DROP_COLUMN
    if isinstance(action, ChangeColumn | RenameColumn):
        return ddl_types.MODIFY_COLUMN
    if isinstance(action, SetDefault):
        return ddl_types.SET_DEFAULT_VALUE
    if isinstance(action, AddPrimaryKey):
        return ddl_types.ADD_PRIMARY_KEY
    if isinstance(action, DropPrimaryKey):
        return ddl_types.DROP_PRIMARY_KEY
    if isinstance(action, RenameTo):
        return ddl_types.RENAME_TABLE
    if isinstance(action, SystemVersioning):
        return ddl_types.ADD_COLUMN if action.add else ddl_types.DROP_COLUMN
    if isinstance(action, AddPeriod | DropPeriod):
        return ddl_types.MODIFY_COLUMN if isinstance(action, AddPeriod) else 0
    if isinstance(action, ConvertCharset | SetOptions):
        changes = action.options.charset is not None or action.options.collation is not None
        return ddl_types.MODIFY_TABLE_CHARSET_AND_COLLATE if changes else 0
    assert isinstance(action, IndexChange | OtherAlter)
    return action.ddl_type
