"""MariaDB system-versioned tables: the row_start/row_end period columns their row images carry.

``WITH SYSTEM VERSIONING`` without declared period columns makes the server append two system-invisible
columns, ``row_start`` and ``row_end`` (``TIMESTAMP(6)``, NOT NULL, set by the server); information_schema
does not list them, but every row image has them. Declared ones (``GENERATED ALWAYS AS ROW START|END``) are
ordinary columns of the statement. Either way the server appends the row end column to the primary key, so
history rows (one per UPDATE/DELETE, logged as row events) never share a key with the current row.
``DROP SYSTEM VERSIONING`` removes the implicit columns (declared ones must be dropped by name).
"""

from __future__ import annotations

from dataclasses import replace

from storagecdc.errors import SchemaError
from storagecdc.model import ColumnInfo

ROW_START = "row_start"
ROW_END = "row_end"


def _implicit(name: str) -> ColumnInfo:
    return ColumnInfo(name=name, type_name="TIMESTAMP", scale=6, nullable=False, generated=True, invisible=True)


def _is_implicit(column: ColumnInfo) -> bool:
    return column.name in (ROW_START, ROW_END) and column.invisible and column.generated


def add_system_versioning(columns: list[ColumnInfo], row_end: str | None, table: str) -> None:
    """Make ``columns`` (in place) those of a system-versioned table; ``row_end`` names the declared
    ``AS ROW END`` column, None for the implicit pair."""
    if row_end is None:
        if any(_is_implicit(c) for c in columns):
            raise SchemaError(f"table {table} is already system-versioned")
        columns.extend((_implicit(ROW_START), _implicit(ROW_END)))
        row_end = ROW_END
    folded = row_end.casefold()
    at = next((i for i, c in enumerate(columns) if c.name.casefold() == folded), None)
    if at is None:
        raise SchemaError(f"table {table} has no row end column {row_end!r}")
    if any(c.is_pk for c in columns):
        columns[at] = replace(columns[at], is_pk=True, nullable=False)


def drop_system_versioning(columns: list[ColumnInfo]) -> None:
    """Remove the implicit period columns (in place)."""
    columns[:] = [c for c in columns if not _is_implicit(c)]


def keep_row_end_keyed(columns: list[ColumnInfo]) -> None:
    """After a new primary key: the server appends the implicit row_end to it (in place)."""
    if any(c.is_pk for c in columns):
        columns[:] = [replace(c, is_pk=True) if _is_implicit(c) and c.name == ROW_END else c for c in columns]
