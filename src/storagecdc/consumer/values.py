"""Typed row values back from their text forms (CSV, canal-json), one parser per column chosen once.

The values follow ``storagecdc.model``'s conventions: DECIMAL -> ``Decimal``, DATE -> ``date`` (zero dates stay
``str``), DATETIME -> naive ``datetime``, TIMESTAMP -> ``datetime`` in UTC, TIME -> ``timedelta``, binary
strings -> ``bytes``, ENUM/SET/JSON -> ``str``, BIT/YEAR -> ``int``. A column's ``Kind`` comes from the
schema file's column type; a parser takes a whole column (``None`` stays NULL) so there is no type dispatch
per value.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import re
import struct
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from storagecdc.errors import ConsumerError
from storagecdc.model import ColumnInfo


class Kind(enum.Enum):
    """How a column's values are typed, decided once from its ``ColumnInfo``."""

    INT = "int"
    FLOAT = "float"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    TIMESTAMP = "timestamp"
    TIME = "time"
    BIT = "bit"
    TEXT = "text"
    ENUM = "enum"
    SET = "set"
    BINARY = "binary"
    VECTOR = "vector"


_KINDS = {
    "TINYINT": Kind.INT, "SMALLINT": Kind.INT, "MEDIUMINT": Kind.INT, "INT": Kind.INT, "INTEGER": Kind.INT,
    "BIGINT": Kind.INT, "BOOL": Kind.INT, "BOOLEAN": Kind.INT, "YEAR": Kind.INT, "FLOAT": Kind.FLOAT,
    "DOUBLE": Kind.FLOAT, "REAL": Kind.FLOAT, "DECIMAL": Kind.DECIMAL, "NUMERIC": Kind.DECIMAL,
    "DATE": Kind.DATE, "DATETIME": Kind.DATETIME, "TIMESTAMP": Kind.TIMESTAMP, "TIME": Kind.TIME,
    "BIT": Kind.BIT, "ENUM": Kind.ENUM, "SET": Kind.SET, "JSON": Kind.TEXT, "VECTOR": Kind.VECTOR,
}


def column_kind(col: ColumnInfo) -> Kind:
    kind = _KINDS.get(col.type_name)
    if kind is not None:
        return kind
    return Kind.BINARY if col.is_binary else Kind.TEXT


def fsp(col: ColumnInfo) -> int:
    """Fractional-second digits of a temporal column (0..6)."""
    return min(max(col.scale or 0, 0), 6)


Parser = Callable[[Sequence[Any]], list[Any]]
"""Text column (``None`` = NULL) -> typed column."""

_TIME_RE = re.compile(r"(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")


def parse_time(text: str) -> dt.timedelta:
    """``[-]HH:MM:SS[.ffffff]`` (hours may exceed 24) as a ``timedelta``."""
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a TIME value: {text!r}")
    micros = int((m.group(5) or "0").ljust(6, "0"))
    total = ((int(m.group(2)) * 60 + int(m.group(3))) * 60 + int(m.group(4))) * 1_000_000 + micros
    return dt.timedelta(microseconds=-total if m.group(1) else total)


def parse_date(text: str) -> dt.date | str:
    """A DATE; zero or partial-zero dates stay text, as the model keeps them."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


def parse_datetime(text: str) -> dt.datetime | str:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return text


def parse_timestamp(text: str) -> dt.datetime | str:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        return text


_F32 = struct.Struct("<f")


def parse_float32(text: str) -> float:
    """A FLOAT column's text (shortest 32-bit digits) as the exact 32-bit value the model holds."""
    value: float = _F32.unpack(_F32.pack(float(text)))[0]
    return value


def parse_vector(text: str) -> bytes:
    """TiDB's VECTOR text ``[1,2.5]`` back to the stored little-endian float32 array."""
    items = [float(x) for x in text.strip("[]").split(",") if x]
    return struct.pack(f"<{len(items)}f", *items)


def _column(fn: Callable[[str], Any]) -> Parser:
    def parse(values: Sequence[Any]) -> list[Any]:
        return [None if v is None else fn(v) for v in values]

    return parse


def _base64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _hex(text: str) -> bytes:
    return binascii.unhexlify(text)


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


def _enum_index(col: ColumnInfo) -> Callable[[str], str]:
    members = ("", *col.elems)
    return lambda text: members[int(text)] if int(text) < len(members) else ""


def _set_bits(col: ColumnInfo) -> Callable[[str], str]:
    elems = col.elems
    return lambda text: ",".join(m for i, m in enumerate(elems) if int(text) >> i & 1)


_SIMPLE: dict[Kind, Callable[[str], Any]] = {
    Kind.INT: int, Kind.BIT: int, Kind.FLOAT: float, Kind.DECIMAL: Decimal, Kind.DATE: parse_date,
    Kind.DATETIME: parse_datetime, Kind.TIMESTAMP: parse_timestamp, Kind.TIME: parse_time,
    Kind.VECTOR: parse_vector,
}


def text_parser(col: ColumnInfo, *, binary: str, canal: bool = False) -> Parser:
    """The parser of one column's text. ``binary``: ``base64``, ``hex`` or ``latin1`` (canal-json);
    ``canal``: ENUM as its 1-based index and SET as its bit value (canal-json's forms)."""
    kind = column_kind(col)
    if kind is Kind.BINARY:
        return _column({"base64": _base64, "hex": _hex, "latin1": _latin1}[binary])
    if canal and kind is Kind.ENUM:
        return _column(_enum_index(col))
    if canal and kind is Kind.SET:
        return _column(_set_bits(col))
    fn = parse_float32 if col.type_name == "FLOAT" else _SIMPLE.get(kind)
    if fn is None:
        return list
    return _column(fn)


def parse_columns(parsers: Sequence[Parser], columns: Sequence[Sequence[Any]], names: Sequence[str],
                  where: str) -> list[list[Any]]:
    """Every column through its parser; a bad value is a ``ConsumerError`` naming ``where`` and the column."""
    out = []
    for parse, column, name in zip(parsers, columns, names, strict=True):
        try:
            out.append(parse(column))
        except (ValueError, InvalidOperation, binascii.Error, IndexError, struct.error) as exc:
            raise ConsumerError(f"{where}: column {name!r}: cannot read a value: {exc}") from None
    return out


def format_time(value: dt.timedelta, digits: int) -> str:
    """A TIME as MySQL prints it: ``[-]HH:MM:SS[.f{digits}]`` (hours may exceed 24)."""
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    secs, frac = divmod(abs(micros), 1_000_000)
    mins, sec = divmod(secs, 60)
    hours, minute = divmod(mins, 60)
    text = f"{sign}{hours:02d}:{minute:02d}:{sec:02d}"
    return text + "." + f"{frac:06d}"[:digits] if digits else text


def format_datetime(value: dt.datetime, digits: int) -> str:
    """``YYYY-MM-DD HH:MM:SS[.f{digits}]``; an aware value is printed in UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.isoformat(" ", "microseconds")
    return text[:20 + digits] if digits else text[:19]
