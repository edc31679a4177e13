"""Text forms of row values as TiCDC prints them, one printer per column type, applied to whole columns.

A printer takes a column (the values of one column over many rows, ``None`` for NULL) and returns a list of
``str`` with ``None`` kept for NULL; CSV and canal-json decide how NULL and quoting look. Values follow the
conventions of ``storagecdc.model``. Printers are chosen once per table version (``column_kind``), so there
is no type dispatch per value.
"""

from __future__ import annotations

import binascii
import datetime as dt
import enum
import math
import struct
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from operator import itemgetter, methodcaller
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from storagecdc.model import ABSENT, ColumnInfo

Column = Sequence[Any]
TextColumn = list[Any]
"""``str`` per value, ``None`` for NULL."""
Printer = Callable[[Column], TextColumn]


class Kind(enum.Enum):
    """How a column's values are printed and typed, decided once from its ``ColumnInfo``."""

    INT = "int"
    FLOAT = "float"
    DOUBLE = "double"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    TIMESTAMP = "timestamp"
    TIME = "time"
    YEAR = "year"
    BIT = "bit"
    TEXT = "text"
    ENUM = "enum"
    SET = "set"
    JSON = "json"
    BINARY = "binary"
    VECTOR = "vector"


_INT_TYPES = frozenset({"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "BOOL", "BOOLEAN"})
_KINDS = {
    "FLOAT": Kind.FLOAT,
    "DOUBLE": Kind.DOUBLE,
    "REAL": Kind.DOUBLE,
    "DECIMAL": Kind.DECIMAL,
    "NUMERIC": Kind.DECIMAL,
    "DATE": Kind.DATE,
    "DATETIME": Kind.DATETIME,
    "TIMESTAMP": Kind.TIMESTAMP,
    "TIME": Kind.TIME,
    "YEAR": Kind.YEAR,
    "BIT": Kind.BIT,
    "ENUM": Kind.ENUM,
    "SET": Kind.SET,
    "JSON": Kind.JSON,
    "VECTOR": Kind.VECTOR,
}


def column_kind(col: ColumnInfo) -> Kind:
    """The value kind of a column: numeric kinds by type name, strings split by binary-ness."""
    if col.type_name in _INT_TYPES:
        return Kind.INT
    kind = _KINDS.get(col.type_name)
    if kind is not None:
        return kind
    return Kind.BINARY if col.is_binary else Kind.TEXT


def fsp(col: ColumnInfo) -> int:
    """Fractional-second digits of a temporal column (0..6)."""
    return min(max(col.scale or 0, 0), 6)


# -- floats -------------------------------------------------------------------------------------------

_F32 = struct.Struct("<f")


@lru_cache(maxsize=65536)
def _f32_shortest(x: float) -> str:
    """Shortest %e text that reads back as the same 32-bit float (what Go's FormatFloat(x, .., 32) picks)."""
    want = _F32.pack(x)
    for prec in range(9):
        text = f"{x:.{prec}e}"
        if _F32.pack(float(text)) == want:
            return text
    return f"{x:.8e}"


def _digits(text: str) -> tuple[str, int, bool]:
    """Significant digits, decimal exponent of the first digit and sign of a float's text."""
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    mant, _, exp = text.partition("e")
    whole, _, frac = mant.partition(".")
    all_digits = whole + frac
    stripped = all_digits.lstrip("0")
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 0, neg
    point = len(whole) - (len(all_digits) - len(stripped)) + (int(exp) if exp else 0)
    return digits, point - 1, neg


def _positional(digits: str, exp10: int, neg: bool) -> str:
    if exp10 < 0:
        text = "0." + "0" * (-exp10 - 1) + digits
    elif exp10 + 1 >= len(digits):
        text = digits + "0" * (exp10 + 1 - len(digits))
    else:
        text = digits[: exp10 + 1] + "." + digits[exp10 + 1 :]
    return "-" + text if neg else text


def _go_g(text: str) -> str:
    """Go's ``%v`` (shortest ``%g``): exponent form when the exponent is < -4 or >= 6."""
    digits, exp10, neg = _digits(text)
    if -4 <= exp10 < 6:
        return _positional(digits, exp10, neg)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return ("-" if neg else "") + f"{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"


def _special(x: float) -> str | None:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return None


def go_float64(x: float) -> str:
    """``fmt.Sprintf("%v", float64(x))``."""
    text = repr(x)
    if "e" not in text and 1e-4 <= abs(x) < 1e6:
        return text[:-2] if text.endswith(".0") else text
    return _special(x) or _go_g(text)


def go_float32(x: float) -> str:
    """``fmt.Sprintf("%v", float32(x))``: the shortest digits of the 32-bit value."""
    return _special(x) or _go_g(_f32_shortest(x))


def plain_float64(x: float) -> str:
    """``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    return _special(x) or _positional(*_digits(repr(x)))


def plain_float32(x: float) -> str:
    """``strconv.FormatFloat(x, 'f', -1, 32)``."""
    return _special(x) or _positional(*_digits(_f32_shortest(x)))


# -- column printers ----------------------------------------------------------------------------------


_NONE_TYPE = type(None)
_ABSENT_TYPE = type(ABSENT)


def has_null(values: Column) -> bool:
    """Whether a column holds a NULL (compares types only: ``None in`` would call ``Decimal.__eq__``)."""
    return _NONE_TYPE in map(type, values)


def has_absent(values: Column) -> bool:
    """Whether a column holds ``model.ABSENT`` (a value a MINIMAL row image did not log)."""
    return _ABSENT_TYPE in map(type, values)


def _convert(fn: Callable[[Any], str] | None, keep_str: bool = False) -> Printer:
    """A printer applying ``fn`` to every non-NULL value (with ``keep_str``, ``str`` values pass through).

    A column without NULLs is converted with ``map`` (no Python-level loop when ``fn`` is a builtin or a
    method caller); NULLs or pass-through strings take a per-value comprehension.
    """
    if fn is None:
        return list

    def print_column(values: Column) -> TextColumn:
        if has_null(values):
            if keep_str:
                return [v if v is None or v.__class__ is str else fn(v) for v in values]
            return [None if v is None else fn(v) for v in values]
        if keep_str:
            try:
                return list(map(fn, values))
            except (AttributeError, TypeError):
                return [v if v.__class__ is str else fn(v) for v in values]
        return list(map(fn, values))

    return print_column


def datetime_text(digits: int) -> Callable[[dt.datetime], str]:
    """``YYYY-MM-DD HH:MM:SS[.f{digits}]`` of a datetime (a TIMESTAMP's UTC wall time)."""
    iso = methodcaller("isoformat", " ", "microseconds" if digits else "seconds")
    cut = itemgetter(slice(0, 20 + digits if digits else 19))
    return lambda v: cut(iso(v))


def _arrow_temporal_printer(kind: Kind, digits: int) -> Printer:
    """DATE/DATETIME/TIMESTAMP columns printed by Arrow's C++ casts (several times faster than isoformat).

    Values go into an Arrow array without time zone (aware TIMESTAMP values are converted to UTC), are cut
    to the column's fractional digits and cast to text. A column Arrow cannot hold (zero dates, which the
    model keeps as ``str``) takes the Python printer.
    """
    if kind is Kind.DATE:
        arrow_type = pa.date32()
        slow = _convert(methodcaller("isoformat"), keep_str=True)
        unit = None
        width = 0
    else:
        arrow_type = pa.timestamp("us")
        slow = _convert(datetime_text(digits), keep_str=True)
        unit = {0: "s", 3: "ms", 6: None}.get(digits)
        width = 0 if digits in (0, 3, 6) else 20 + digits

    def print_column(values: Column) -> TextColumn:
        try:
            array = pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return slow(values)
        if unit is not None:
            array = array.cast(pa.timestamp(unit), safe=False)
        text = array.cast(pa.string())
        if width:
            text = pc.utf8_slice_codeunits(text, 0, width)
        result: TextColumn = text.to_pylist()
        return result

    return print_column


def double_printer() -> Printer:
    """DOUBLE columns as Go's ``%v``: ``repr`` with ``.0`` dropped when every value is in [1e-4, 1e6)."""
    drop_zero = methodcaller("removesuffix", ".0")
    slow = _convert(go_float64)

    def print_column(values: Column) -> TextColumn:
        if not values or has_null(values):
            return slow(values)
        text = list(map(repr, values))
        joined = "".join(text)
        if "e" in joined or "n" in joined or max(map(abs, values)) >= 1e6:
            return slow(values)
        return list(map(drop_zero, text))

    return print_column


def time_text(digits: int) -> Callable[[dt.timedelta], str]:
    """``[-]HH:MM:SS[.f{digits}]`` of a TIME value (hours may exceed 24)."""

    def fmt(v: dt.timedelta) -> str:
        us = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
        sign = "-" if us < 0 else ""
        us = abs(us)
        secs, frac = divmod(us, 1_000_000)
        mins, sec = divmod(secs, 60)
        hours, minute = divmod(mins, 60)
        text = f"{sign}{hours:02d}:{minute:02d}:{sec:02d}"
        return text + "." + f"{frac:06d}"[:digits] if digits else text

    return fmt


def vector_text(fmt_float: Callable[[float], str]) -> Callable[[bytes], str]:
    """TiDB's VECTOR text ``[1,2.5,3]`` from the stored little-endian float32 array."""

    def fmt(v: bytes) -> str:
        count = len(v) // 4
        return "[" + ",".join(fmt_float(x) for x in struct.unpack(f"<{count}f", v)) + "]"

    return fmt


def decimal_text(v: Any) -> str:
    """A DECIMAL's exact text with its scale (``Decimal`` keeps the column's scale)."""
    return format(v, "f")


def decimal_printer() -> Printer:
    """DECIMAL columns: ``str`` (fast) unless it chose exponent notation (``0E-7``), then ``format 'f'``."""

    def print_column(values: Column) -> TextColumn:
        if has_null(values):
            return [None if v is None else decimal_text(v) for v in values]
        text = list(map(str, values))
        if "E" in "".join(text):
            return list(map(decimal_text, values))
        return text

    return print_column


def base64_text(v: bytes) -> str:
    return binascii.b2a_base64(v, newline=False).decode("ascii")


def base64_printer() -> Printer:
    """BLOB columns as base64 text, with C-level ``map`` chains when there are no NULLs."""
    encode = partial(binascii.b2a_base64, newline=False)
    decode = methodcaller("decode", "ascii")
    slow = _convert(base64_text)

    def print_column(values: Column) -> TextColumn:
        if has_null(values):
            return slow(values)
        return list(map(decode, map(encode, values)))

    return print_column


def hex_text(v: bytes) -> str:
    return v.hex()


def latin1_text(v: bytes) -> str:
    """Canal's view of binary bytes: each byte as the ISO-8859-1 character of the same code."""
    return v.decode("latin-1")


def temporal_printer(kind: Kind, col: ColumnInfo) -> Printer:
    """The printer of a DATE/DATETIME/TIMESTAMP/TIME column (shared by CSV and canal-json)."""
    if kind is Kind.TIME:
        return _convert(time_text(fsp(col)))
    return _arrow_temporal_printer(kind, fsp(col))


def number_printer() -> Printer:
    return _convert(str)


def mapped_printer(fn: Callable[[Any], str]) -> Printer:
    return _convert(fn)


def passthrough_printer() -> Printer:
    return _convert(None)
