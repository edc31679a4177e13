"""One value text per column type, the same whichever side a value was read from.

A value comes either from a MySQL/MariaDB server through pymysql (``Decimal``, ``datetime``, ``timedelta``,
``bytes`` for BIT and binary strings...) or from a SQLite database written by the consumer (its lossless
representation: ``consumer.sqlite_values``). Both become the same text, chosen once per column from the
output's ``ColumnInfo``:

===================  ==========================================================================
column               canonical text
===================  ==========================================================================
integers, YEAR, BIT  the integer in decimal (BIT bytes read big-endian)
FLOAT / DOUBLE       ``repr`` of the 32-bit (FLOAT) or 64-bit value
DECIMAL              exact digits with the column's scale
DATE                 ``YYYY-MM-DD`` (zero dates as MySQL prints them)
DATETIME, TIMESTAMP  ``YYYY-MM-DD HH:MM:SS[.f]`` with the column's fractional digits; TIMESTAMP in UTC
                     (the server session runs with ``time_zone = '+00:00'``)
TIME                 ``[-]HH:MM:SS[.f]`` with the column's fractional digits
CHAR                 the text without trailing spaces (MySQL's PAD SPACE reading)
JSON                 the document re-serialised with sorted keys (falls back to the text)
BINARY(n)            hex of the value right-padded with zero bytes to ``n``
other binary         hex
other text           the text
===================  ==========================================================================

NULL is ``None``. A row becomes one string (``row_text``) whose hash is the row's digest.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from storagecdc.consumer.values import Kind, column_kind, format_datetime, format_time, fsp, parse_time
from storagecdc.model import ColumnInfo

Canon = Callable[[Any], str]
"""A non-NULL value of one column -> its canonical text."""

_F32 = struct.Struct("<f")
_NULL = "\x00"
_SEP = "\x1e"


def _int(v: Any) -> str:
    if v.__class__ is int:
        return str(v)
    if isinstance(v, bytes):
        return str(int.from_bytes(v, "big"))
    return str(int(v))


def _float32(v: Any) -> str:
    return repr(_F32.unpack(_F32.pack(float(v)))[0])


def _float64(v: Any) -> str:
    return repr(float(v))


def _decimal(scale: int) -> Canon:
    quantum = Decimal(1).scaleb(-scale)
    return lambda v: format(Decimal(str(v)).quantize(quantum), "f")


def _date(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def _datetime(digits: int) -> Canon:
    def canon(v: Any) -> str:
        if isinstance(v, dt.datetime):
            return format_datetime(v, digits)
        if isinstance(v, dt.date):
            return format_datetime(dt.datetime(v.year, v.month, v.day), digits)
        return str(v)

    return canon


def _time(digits: int) -> Canon:
    def canon(v: Any) -> str:
        return format_time(v if isinstance(v, dt.timedelta) else parse_time(str(v)), digits)

    return canon


def _text(v: Any) -> str:
    if v.__class__ is str:
        return v
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def _char(v: Any) -> str:
    return (v if v.__class__ is str else _text(v)).rstrip(" ")


def _json(v: Any) -> str:
    text = _text(v)
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return text


def _to_bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    return str(v).encode("utf-8", "surrogateescape")


def _binary(length: int | None) -> Canon:
    if length:
        return lambda v: _to_bytes(v).ljust(length, b"\x00").hex()
    return lambda v: _to_bytes(v).hex()


def canonicalizer(col: ColumnInfo) -> Canon:
    """The canonical text of a non-NULL value of ``col`` (chosen once, no type dispatch per column later)."""
    kind = column_kind(col)
    if kind in (Kind.INT, Kind.BIT):
        return _int
    if kind is Kind.FLOAT:
        return _float32 if col.type_name == "FLOAT" else _float64
    if kind is Kind.DECIMAL:
        return _decimal(col.scale or 0)
    if kind is Kind.DATE:
        return _date
    if kind in (Kind.DATETIME, Kind.TIMESTAMP):
        return _datetime(fsp(col))
    if kind is Kind.TIME:
        return _time(fsp(col))
    if kind in (Kind.BINARY, Kind.VECTOR):
        return _binary(col.length if col.type_name == "BINARY" else None)
    if col.type_name == "JSON":
        return _json
    if col.type_name == "CHAR":
        return _char
    return _text


def row_values(canons: Sequence[Canon], row: Sequence[Any]) -> tuple[str | None, ...]:
    """A row's canonical values (``None`` for NULL)."""
    return tuple([None if v is None else c(v) for c, v in zip(canons, row, strict=True)])


def row_text(values: Sequence[str | None]) -> str:
    """One string for a row of canonical values (NULL is distinct from every text)."""
    return _SEP.join([_NULL if v is None else v for v in values])
