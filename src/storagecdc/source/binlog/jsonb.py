"""MySQL's binary JSON (the JSON column's storage format) to a value tree and to MySQL's JSON text.

The tree uses plain Python values: ``dict`` (keys in stored order, which is MySQL's sorted order), ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``, and ``Decimal`` for DECIMAL opaque values. DATE, TIME and
DATETIME/TIMESTAMP opaque values become their text (MySQL prints them as JSON strings); any other opaque
value becomes ``"base64:typeN:..."`` as MySQL prints it.

``to_text`` formats a tree as MySQL does: ``", "`` and ``": "`` separators, strings escaped only where JSON
requires it, doubles in shortest form with ``.0`` on integral values and ``e``-notation without ``+``.
"""

from __future__ import annotations

import base64
import struct
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.values import decimal_decoder

SMALL_OBJECT = 0x00
LARGE_OBJECT = 0x01
SMALL_ARRAY = 0x02
LARGE_ARRAY = 0x03
LITERAL = 0x04
INT16 = 0x05
UINT16 = 0x06
INT32 = 0x07
UINT32 = 0x08
INT64 = 0x09
UINT64 = 0x0A
DOUBLE = 0x0B
STRING = 0x0C
OPAQUE = 0x0F

_LITERALS: dict[int, bool | None] = {0: None, 1: True, 2: False}
_I16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


class JsonFormatError(ValueError):
    """The bytes are not a valid MySQL binary JSON document."""


def parse(data: bytes) -> Any:
    """The value tree of a binary JSON document (an empty document is JSON null)."""
    if not data:
        return None
    try:
        return _value(data[0], data, 1, len(data))
    except (IndexError, struct.error, UnicodeDecodeError, KeyError) as exc:
        raise JsonFormatError(f"invalid binary JSON ({len(data)} bytes): {exc}") from exc


def decode(data: bytes) -> str:
    """A binary JSON document as MySQL's JSON text."""
    return to_text(parse(data))


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, pos
        shift += 7
        if shift > 28:
            raise JsonFormatError("variable-length size longer than 5 bytes")


def _value(t: int, data: bytes, pos: int, end: int) -> Any:
    if t in (SMALL_OBJECT, LARGE_OBJECT):
        return _container(data, pos, t == LARGE_OBJECT, True)
    if t in (SMALL_ARRAY, LARGE_ARRAY):
        return _container(data, pos, t == LARGE_ARRAY, False)
    if t == STRING:
        n, pos = _varlen(data, pos)
        if pos + n > end:
            raise JsonFormatError("string runs past the document")
        return data[pos : pos + n].decode("utf-8")
    if t == INT16:
        return _I16.unpack_from(data, pos)[0]
    if t == UINT16:
        return _U16.unpack_from(data, pos)[0]
    if t == INT32:
        return _I32.unpack_from(data, pos)[0]
    if t == UINT32:
        return _U32.unpack_from(data, pos)[0]
    if t == INT64:
        return _I64.unpack_from(data, pos)[0]
    if t == UINT64:
        return _U64.unpack_from(data, pos)[0]
    if t == DOUBLE:
        return _F64.unpack_from(data, pos)[0]
    if t == LITERAL:
        return _LITERALS[data[pos]]
    if t == OPAQUE:
        ftype = data[pos]
        n, pos = _varlen(data, pos + 1)
        if pos + n > end:
            raise JsonFormatError("opaque value runs past the document")
        return _opaque(ftype, data[pos : pos + n])
    raise JsonFormatError(f"unknown value type {t:#x}")


def _container(data: bytes, start: int, large: bool, is_object: bool) -> Any:
    unpack = _U32.unpack_from if large else _U16.unpack_from
    width = 4 if large else 2
    count = unpack(data, start)[0]
    size = unpack(data, start + width)[0]
    end = start + size
    if end > len(data):
        raise JsonFormatError("container runs past the document")
    entry = start + 2 * width
    keys: list[str] = []
    if is_object:
        for _ in range(count):
            koff = unpack(data, entry)[0]
            klen = _U16.unpack_from(data, entry + width)[0]
            keys.append(data[start + koff : start + koff + klen].decode("utf-8"))
            entry += width + 2
    values: list[Any] = []
    for _ in range(count):
        t = data[entry]
        if t == LITERAL:
            values.append(_LITERALS[data[entry + 1]])
        elif t == INT16:
            values.append(_I16.unpack_from(data, entry + 1)[0])
        elif t == UINT16:
            values.append(_U16.unpack_from(data, entry + 1)[0])
        elif large and t == INT32:
            values.append(_I32.unpack_from(data, entry + 1)[0])
        elif large and t == UINT32:
            values.append(_U32.unpack_from(data, entry + 1)[0])
        else:
            values.append(_value(t, data, start + unpack(data, entry + 1)[0], end))
        entry += 1 + width
    return dict(zip(keys, values, strict=True)) if is_object else values


def _packed_parts(v: int) -> tuple[bool, int, int]:
    """(negative, integer part, microseconds) of MySQL's in-memory packed time/datetime longlong."""
    neg = v < 0
    if neg:
        v = -v
    return neg, v >> 24, v & 0xFFFFFF


def _opaque(ftype: int, raw: bytes) -> Any:
    if ftype == ft.NEWDECIMAL and len(raw) >= 2:
        return decimal_decoder(raw[0], raw[1])(raw[2:])
    if ftype in (ft.DATE, ft.NEWDATE, ft.DATETIME, ft.TIMESTAMP, ft.TIME) and len(raw) == 8:
        neg, ip, micro = _packed_parts(_I64.unpack_from(raw)[0])
        if ftype == ft.TIME:
            hms = ip
            return f"{'-' if neg else ''}{(hms >> 12) & 0x3FF:02d}:{(hms >> 6) & 63:02d}:{hms & 63:02d}.{micro:06d}"
        ymd, hms = ip >> 17, ip & 0x1FFFF
        ym = ymd >> 5
        day = f"{ym // 13:04d}-{ym % 13:02d}-{ymd & 31:02d}"
        if ftype in (ft.DATE, ft.NEWDATE):
            return day
        return f"{day} {hms >> 12:02d}:{(hms >> 6) & 63:02d}:{hms & 63:02d}.{micro:06d}"
    return f"base64:type{ftype}:{base64.b64encode(raw).decode('ascii')}"


_GCVT_WIDTH = 34
"""MySQL's MY_GCVT_MAX_FIELD_WIDTH: DBL_DIG + 4 + max(5, DBL_DIG)."""
_DBL_DIG = 15


def format_double(x: float) -> str:
    """A double as MySQL's JSON text prints it.

    MySQL uses the shortest round-trip digits (as Python's ``repr``) and chooses between plain and
    exponent notation like its ``my_gcvt`` with a 34-character field: plain when it fits and the decimal
    point lies between 10^-14 and 10^15 (or the digits reach past the point), ``1e20``/``1.5e-16`` style
    otherwise; a plain number without a fraction gets ``.0`` so that it stays a double.
    """
    if x == 0:
        return "-0.0" if str(x)[0] == "-" else "0.0"
    sign, digit_tuple, exp = Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exp, int)
    n = len(digits)
    decpt = len(digit_tuple) + exp
    width = _GCVT_WIDTH - sign
    exp_len = 1 + (decpt >= 101 or decpt <= -99) + (decpt >= 11 or decpt <= -9)
    have_space = (n - decpt + 2 if decpt <= 0 else n + 1 if decpt < n else decpt) <= width
    force_e = decpt <= 0 and width <= 2 - decpt and width >= 3 + exp_len
    fixed = (
        have_space or (decpt <= width and (decpt >= -1 or (decpt == -2 and (n > 1 or not force_e))) and not force_e)
    ) and (not have_space or (decpt >= -_DBL_DIG + 1 and (decpt <= _DBL_DIG or n > decpt)))
    minus = "-" if sign else ""
    if fixed:
        if decpt <= 0:
            return f"{minus}0.{'0' * -decpt}{digits}"
        if decpt < n:
            return f"{minus}{digits[:decpt]}.{digits[decpt:]}"
        return f"{minus}{digits}{'0' * (decpt - n)}.0"
    mantissa = digits[0] + ("." + digits[1:] if n > 1 else "")
    return f"{minus}{mantissa}e{decpt - 1}"


def to_text(value: Any) -> str:
    """MySQL's JSON text of a value tree."""
    parts: list[str] = []
    _emit(value, parts.append)
    return "".join(parts)


def _emit(v: Any, out: Any) -> None:
    if isinstance(v, str):
        out(encode_basestring(v))
    elif v is None:
        out("null")
    elif v is True:
        out("true")
    elif v is False:
        out("false")
    elif isinstance(v, int):
        out(str(v))
    elif isinstance(v, float):
        out(format_double(v))
    elif isinstance(v, dict):
        out("{")
        first = True
        for k, item in v.items():
            if not first:
                out(", ")
            first = False
            out(encode_basestring(k))
            out(": ")
            _emit(item, out)
        out("}")
    elif isinstance(v, list):
        out("[")
        for i, item in enumerate(v):
            if i:
                out(", ")
            _emit(item, out)
        out("]")
    elif isinstance(v, Decimal):
        out(format(v, "f"))
    else:
        raise TypeError(f"not a JSON tree value: {type(v).__name__}")
