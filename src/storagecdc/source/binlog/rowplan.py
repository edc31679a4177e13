"""Per-column decoding plans: how a column's bytes become a value, as source snippets for ``rowgen``.

A plan is either *fixed* (a run of ``struct`` format codes, then an expression over the unpacked fields),
*var* (a length prefix, then an expression over the slice ``buf[p:p+n]``), or *empty* (no bytes: the NULL
type). Helper objects that expressions need are put in a namespace under names unique to the column.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog import jsonb, values
from storagecdc.source.binlog.rowspec import ColumnSpec

_PREFIX_FMT = {1: "B", 2: "H", 3: "HB", 4: "I"}
_INT_FMT = {ft.TINY: "b", ft.SHORT: "h", ft.LONG: "i", ft.LONGLONG: "q"}
_BLOB_DEFAULT_PREFIX = {ft.TINY_BLOB: 1, ft.BLOB: 2, ft.MEDIUM_BLOB: 3, ft.LONG_BLOB: 4}


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How to decode one column. ``expr`` uses ``{0}``, ``{1}`` for fixed fields or ``{s}`` for the slice."""

    kind: str
    """``fixed``, ``var`` or ``empty``."""
    fmt: str
    """struct codes of the fixed fields, or of the length prefix for ``var``."""
    expr: str

    @property
    def nfields(self) -> int:
        """How many values ``fmt`` unpacks to."""
        return len(_FIELD.findall(self.fmt))


_FIELD = re.compile(r"\d*[a-zA-Z?]")


class PlanError(ValueError):
    """A column spec that no decoder exists for."""


def _prefix_len_expr(fmt: str) -> str:
    return "{0} + ({1} << 16)" if fmt == "HB" else "{0}"


def prefix_length_expr(plan: ColumnPlan) -> str:
    """Expression of a var column's length from its prefix fields."""
    return _prefix_len_expr(plan.fmt)


def plan_column(i: int, spec: ColumnSpec, ns: dict[str, Any], json_raw: bool = False) -> ColumnPlan:
    """The plan of column ``i``; helpers go into ``ns`` as ``_c{i}_*``. ``json_raw`` keeps JSON bytes."""
    t, meta, u = spec.type_code, spec.meta, spec.unsigned
    h = f"_c{i}"
    if t in _INT_FMT:
        code = _INT_FMT[t]
        return ColumnPlan("fixed", code.upper() if u else code, "{0}")
    if t == ft.INT24:
        return ColumnPlan("fixed", "HB" if u else "Hb", "{0} + ({1} << 16)")
    if t == ft.FLOAT:
        return ColumnPlan("fixed", "f", "{0}")
    if t == ft.DOUBLE:
        return ColumnPlan("fixed", "d", "{0}")
    if t == ft.YEAR:
        return ColumnPlan("fixed", "B", "({0} + 1900 if {0} else 0)")
    if t in (ft.DATE, ft.NEWDATE):
        ns[h] = values.date_value
        return ColumnPlan("fixed", "HB", h + "({0} + ({1} << 16))")
    if t in (ft.TIME, ft.DATETIME, ft.TIMESTAMP) and meta:  # MariaDB's own fractional formats
        if not 1 <= meta <= 6:
            raise PlanError(f"column {i} (type {t}) has fractional precision {meta}")
        if t == ft.TIMESTAMP:
            ns[h] = values.maria_timestamp_decoder(meta)
            return ColumnPlan("fixed", f"{4 + values.MARIA_SEC_PART_BYTES[meta]}s", h + "({0})")
        if t == ft.TIME:
            ns[h], size = values.maria_time_decoder(meta), values.MARIA_TIME_BYTES[meta]
        else:
            ns[h], size = values.maria_datetime_decoder(meta), values.MARIA_DATETIME_BYTES[meta]
        return ColumnPlan("fixed", f"{size}s", h + "(_ifb({0}, 'big'))")
    if t == ft.TIME:
        ns[h] = values.time_value
        return ColumnPlan("fixed", "Hb", h + "({0} + ({1} << 16))")
    if t == ft.DATETIME:
        ns[h] = values.datetime_value
        return ColumnPlan("fixed", "Q", h + "({0})")
    if t == ft.TIMESTAMP:
        ns[h] = values.timestamp_value
        return ColumnPlan("fixed", "I", h + "({0})")
    if t in (ft.DATETIME2, ft.TIMESTAMP2, ft.TIME2):
        factory, base = {
            ft.DATETIME2: (values.datetime2_decoder, 5),
            ft.TIMESTAMP2: (values.timestamp2_decoder, 4),
            ft.TIME2: (values.time2_decoder, 3),
        }[t]
        ns[h] = factory(meta)
        return ColumnPlan("fixed", f"{base + values.frac_bytes(meta)}s", h + "(_ifb({0}, 'big'))")
    if t == ft.NEWDECIMAL:
        precision, scale = meta >> 8, meta & 0xFF
        ns[h] = values.decimal_decoder(precision, scale)
        return ColumnPlan("fixed", f"{values.decimal_size(precision, scale)}s", h + "({0})")
    if t == ft.BIT:
        nbytes = (meta + 7) // 8
        if nbytes == 0:
            raise PlanError(f"BIT column {i} has no bits")
        return ColumnPlan("fixed", f"{nbytes}s", "_ifb({0}, 'big')")
    if t == ft.ENUM:
        if meta not in (1, 2):
            raise PlanError(f"ENUM column {i} has pack length {meta}")
        if not spec.elems:  # members unknown (no metadata, no schema): the index, for inspection
            return ColumnPlan("fixed", "B" if meta == 1 else "H", "{0}")
        ns[h] = ("", *spec.elems)
        ns[h + "_bad"] = _bad_member(i, spec, "ENUM")
        n = len(spec.elems) + 1
        return ColumnPlan("fixed", "B" if meta == 1 else "H", f"({h}[{{0}}] if {{0}} < {n} else {h}_bad({{0}}))")
    if t == ft.SET:
        if not 1 <= meta <= 8:
            raise PlanError(f"SET column {i} has pack length {meta}")
        if not spec.elems:  # members unknown: the bit mask, for inspection
            return ColumnPlan("fixed", f"{meta}s", "_ifb({0}, 'little')")
        ns[h] = _set_decoder(i, spec)
        return ColumnPlan("fixed", f"{meta}s", h + "(_ifb({0}, 'little'))")
    if t in (ft.VARCHAR, ft.VAR_STRING, ft.STRING):
        fmt = "B" if meta < 256 else "H"
        if spec.encoding is not None:
            return ColumnPlan("var", fmt, text_expr(spec.encoding))
        if spec.pad_to:
            return ColumnPlan("var", fmt, "{s}.ljust(" + str(spec.pad_to) + ", b'\\x00')")
        return ColumnPlan("var", fmt, "{s}")
    if t in (ft.BLOB, ft.TINY_BLOB, ft.MEDIUM_BLOB, ft.LONG_BLOB, ft.JSON, ft.GEOMETRY, ft.VECTOR):
        size = meta or _BLOB_DEFAULT_PREFIX.get(t, 0)
        prefix = _PREFIX_FMT.get(size)
        if prefix is None:
            raise PlanError(f"column {i} (type {t}) has length-prefix size {meta}")
        if t == ft.JSON and not json_raw:
            ns["_json"] = jsonb.decode
            return ColumnPlan("var", prefix, "_json({s})")
        if spec.encoding is not None and t != ft.JSON:
            return ColumnPlan("var", prefix, text_expr(spec.encoding))
        return ColumnPlan("var", prefix, "{s}")
    if t in (ft.VARCHAR_COMPRESSED, ft.BLOB_COMPRESSED):
        if t == ft.VARCHAR_COMPRESSED:
            prefix = "B" if meta < 256 else "H"
        elif (found := _PREFIX_FMT.get(meta)) is not None:
            prefix = found
        else:
            raise PlanError(f"compressed BLOB column {i} has length-prefix size {meta}")
        ns[h] = values.maria_uncompress
        if spec.encoding is None:
            return ColumnPlan("var", prefix, h + "({s})")
        return ColumnPlan("var", prefix, text_expr(spec.encoding).replace("{s}", h + "({s})"))
    if t == ft.NULL:
        return ColumnPlan("empty", "", "None")
    raise PlanError(f"column {i}: binlog type {t} cannot be decoded from row images")


_FAST_CODECS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso8859-1"})
_WIDE_CODECS = ("utf-16", "utf-32", "utf_16", "utf_32")


def text_expr(encoding: str) -> str:
    """Expression decoding the slice ``{s}`` with ``encoding``.

    Python's table-driven codecs (MySQL's latin1, cp1250, gbk...) are several times slower than its
    UTF-8/ASCII decoders, so ASCII-only values of ASCII-compatible charsets (nearly all of them) take the
    fast path: an ASCII check, then latin-1 (identical to ASCII on those bytes).
    """
    codec = repr(encoding)
    if encoding.lower() in _FAST_CODECS or encoding.lower().startswith(_WIDE_CODECS):
        return "{s}.decode(" + codec + ")"
    return "(_t.decode('latin-1') if (_t := {s}).isascii() else _t.decode(" + codec + "))"


def _bad_member(i: int, spec: ColumnSpec, kind: str) -> Any:
    def bad(index: int) -> str:
        raise ValueError(f"column {spec.name or i}: {kind} index {index} is beyond its {len(spec.elems)} known members")

    return bad


def _set_decoder(i: int, spec: ColumnSpec) -> Any:
    members = spec.elems

    def decode(bits: int) -> str:
        try:
            return values.set_value(members, bits)
        except ValueError as exc:
            raise ValueError(f"column {spec.name or i}: {exc}") from None

    return decode


def fixed_size(fmt: str) -> int:
    return struct.calcsize("<" + fmt)
