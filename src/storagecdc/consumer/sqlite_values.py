"""How each MySQL column type is stored in SQLite, losslessly, and read back into the model's values.

==========================  =================  ==========================================================
MySQL type                  declared type      stored value
==========================  =================  ==========================================================
integers, YEAR, BIT(<64)    INTEGER            integer
BIGINT UNSIGNED, BIT(64)    (none)             integer, or text when above SQLite's int64
FLOAT, DOUBLE               REAL               real
DECIMAL                     TEXT               exact text with the column's scale
DATE, DATETIME, TIMESTAMP   TEXT               ISO text ``2024-02-29 23:59:58.000001`` (TIMESTAMP in UTC);
                                               zero dates as MySQL prints them
TIME                        TEXT               ``[-]HHH:MM:SS[.ffffff]``
strings, ENUM, SET, JSON    TEXT               text
binary strings, VECTOR      BLOB               blob
==========================  =================  ==========================================================

A column with no declared type has no affinity, so SQLite keeps an over-large integer's text as text instead
of turning it into a lossy REAL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from storagecdc.consumer import values as V
from storagecdc.model import ColumnInfo

INT64_MAX = 2**63 - 1

ToSqlite = Callable[[Any], Any] | None
"""None: the value is stored as it is."""


def _big_int(v: int) -> int | str:
    return v if v <= INT64_MAX else str(v)


def _wide(col: ColumnInfo, kind: V.Kind) -> bool:
    """Integers that may exceed int64: BIGINT UNSIGNED and BIT(64)."""
    if kind is V.Kind.BIT:
        return (col.length or 64) >= 64
    return kind is V.Kind.INT and col.unsigned and col.type_name == "BIGINT"


def declared_type(col: ColumnInfo) -> str:
    kind = V.column_kind(col)
    if _wide(col, kind):
        return ""
    if kind in (V.Kind.INT, V.Kind.BIT):
        return "INTEGER"
    if kind is V.Kind.FLOAT:
        return "REAL"
    if kind in (V.Kind.BINARY, V.Kind.VECTOR):
        return "BLOB"
    return "TEXT"


def _keep_str(fn: Callable[[Any], str]) -> Callable[[Any], Any]:
    return lambda v: v if v.__class__ is str else fn(v)


def to_sqlite(col: ColumnInfo) -> ToSqlite:
    """The converter of a column's non-NULL values into what SQLite stores."""
    kind = V.column_kind(col)
    digits = V.fsp(col)
    if _wide(col, kind):
        return _big_int
    if kind is V.Kind.DECIMAL:
        return lambda v: format(v, "f")
    if kind is V.Kind.DATE:
        return _keep_str(dt.date.isoformat)
    if kind in (V.Kind.DATETIME, V.Kind.TIMESTAMP):
        return _keep_str(lambda v: V.format_datetime(v, digits))
    if kind is V.Kind.TIME:
        return lambda v: V.format_time(v, digits)
    return None


def from_sqlite(col: ColumnInfo) -> Callable[[Any], Any] | None:
    """The converter of a stored non-NULL value back into the model's value (None: as stored)."""
    kind = V.column_kind(col)
    if kind in (V.Kind.INT, V.Kind.BIT):
        return int if _wide(col, kind) else None
    if kind is V.Kind.DECIMAL:
        return Decimal
    readers: dict[V.Kind, Callable[[Any], Any]] = {
        V.Kind.DATE: V.parse_date, V.Kind.DATETIME: V.parse_datetime, V.Kind.TIMESTAMP: V.parse_timestamp,
        V.Kind.TIME: V.parse_time, V.Kind.BINARY: bytes, V.Kind.VECTOR: bytes,
    }
    return readers.get(kind)


_IMPLICIT: dict[V.Kind, Any] = {
    V.Kind.INT: 0, V.Kind.BIT: 0, V.Kind.FLOAT: 0.0, V.Kind.DECIMAL: Decimal(0), V.Kind.TEXT: "",
    V.Kind.SET: "", V.Kind.BINARY: b"", V.Kind.VECTOR: b"", V.Kind.DATE: "0000-00-00",
    V.Kind.DATETIME: "0000-00-00 00:00:00", V.Kind.TIMESTAMP: "0000-00-00 00:00:00",
    V.Kind.TIME: dt.timedelta(0),
}


def default_value(col: ColumnInfo) -> Any:
    """The stored value a column added by ALTER gets in existing rows: its declared default, MySQL's
    implicit default for a NOT NULL column without one, else NULL. Expressions (CURRENT_TIMESTAMP) give NULL."""
    kind = V.column_kind(col)
    value: Any = None
    if col.has_default and col.default is not None:
        parse = V.text_parser(col, binary="latin1")
        try:
            value = parse([col.default])[0]
        except (ValueError, ArithmeticError, IndexError):
            return None
        if isinstance(value, str) and kind in (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP):
            return None if not value[:1].isdigit() else value
    elif not col.nullable:
        value = col.elems[0] if kind is V.Kind.ENUM and col.elems else _IMPLICIT.get(kind)
        if kind is V.Kind.DECIMAL:
            value = Decimal(0).quantize(Decimal(1).scaleb(-(col.scale or 0)))
    convert = to_sqlite(col)
    return value if value is None or convert is None else convert(value)
