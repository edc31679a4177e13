"""Hypothesis strategies: random column specs with (encoder input, expected model value) pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.rowcodec import ColumnSpec

from .encoder import encode_json

Pair = tuple[Any, Any]
"""(encoder input, value the decoder must return)."""


@dataclass(frozen=True)
class Column:
    spec: ColumnSpec
    values: st.SearchStrategy[Pair]

    @property
    def enc(self) -> tuple[int, int, bool]:
        return self.spec.type_code, self.spec.meta, self.spec.unsigned


def _same(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Pair]:
    return s.map(lambda v: (v, v))


INT_RANGES = {ft.TINY: 8, ft.SHORT: 16, ft.INT24: 24, ft.LONG: 32, ft.LONGLONG: 64}


@st.composite
def int_column(draw: st.DrawFn) -> Column:
    t = draw(st.sampled_from(sorted(INT_RANGES)))
    unsigned = draw(st.booleans())
    bits = INT_RANGES[t]
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    edges = st.sampled_from([lo, hi, 0, -1 if not unsigned else 1])
    return Column(ColumnSpec(t, 0, unsigned), _same(st.integers(lo, hi) | edges))


def float_column() -> st.SearchStrategy[Column]:
    return st.sampled_from(
        [
            Column(ColumnSpec(ft.FLOAT, 4), _same(st.floats(width=32, allow_nan=False))),
            Column(ColumnSpec(ft.DOUBLE, 8), _same(st.floats(allow_nan=False))),
        ]
    )


@st.composite
def decimal_column(draw: st.DrawFn) -> Column:
    precision = draw(st.integers(1, 65))
    scale = draw(st.integers(0, min(precision, 30)))
    limit = 10**precision - 1

    def pair(n: int) -> Pair:
        v = Decimal(f"{n}E-{scale}") if scale else Decimal(n)
        return v, v

    values = (st.integers(-limit, limit) | st.sampled_from([0, limit, -limit, 1, -1])).map(pair)
    return Column(ColumnSpec(ft.NEWDECIMAL, precision << 8 | scale), values)


def _date_pair(ymd: tuple[int, int, int]) -> Pair:
    y, m, d = ymd
    try:
        return ymd, date(y, m, d)
    except ValueError:
        return ymd, f"{y:04d}-{m:02d}-{d:02d}"


def date_column() -> st.SearchStrategy[Column]:
    ymd = st.tuples(st.integers(0, 9999), st.integers(0, 12), st.integers(0, 31))
    valid = st.dates().map(lambda d: (d.year, d.month, d.day))
    return st.sampled_from([ft.DATE, ft.NEWDATE]).map(
        lambda t: Column(ColumnSpec(t), (ymd | valid | st.just((0, 0, 0))).map(_date_pair))
    )


def _trunc(micro: int, fsp: int) -> int:
    unit = 10 ** (6 - fsp)
    return micro // unit * unit


@st.composite
def datetime2_column(draw: st.DrawFn) -> Column:
    fsp = draw(st.integers(0, 6))

    def pair(v: datetime) -> Pair:
        v = v.replace(microsecond=_trunc(v.microsecond, fsp), fold=0)
        return (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond), v

    zero = "0000-00-00 00:00:00" + ("." + "0" * fsp if fsp else "")
    values = st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)).map(pair) | st.just(
        ((0, 0, 0, 0, 0, 0, 0), zero)
    )
    return Column(ColumnSpec(ft.DATETIME2, fsp), values)


@st.composite
def timestamp2_column(draw: st.DrawFn) -> Column:
    fsp = draw(st.integers(0, 6))

    def pair(sm: tuple[int, int]) -> Pair:
        secs, micro = sm[0], _trunc(sm[1], fsp)
        return (secs, micro), datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=secs, microseconds=micro)

    zero = "0000-00-00 00:00:00" + ("." + "0" * fsp if fsp else "")
    values = st.tuples(st.integers(1, 2**31 - 1), st.integers(0, 999999)).map(pair) | st.just(((0, 0), zero))
    return Column(ColumnSpec(ft.TIMESTAMP2, fsp), values)


@st.composite
def time2_column(draw: st.DrawFn) -> Column:
    fsp = draw(st.integers(0, 6))

    def pair(parts: tuple[bool, int, int, int, int]) -> Pair:
        neg, h, m, s, micro = parts
        td = timedelta(hours=h, minutes=m, seconds=s, microseconds=_trunc(micro, fsp))
        td = -td if neg else td
        return td, td

    values = st.tuples(
        st.booleans(), st.integers(0, 838), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999999)
    ).map(pair)
    return Column(ColumnSpec(ft.TIME2, fsp), values)


def old_temporal_column() -> st.SearchStrategy[Column]:
    def time_pair(secs: int) -> Pair:
        td = timedelta(seconds=secs)
        return td, td

    def dt_pair(v: datetime) -> Pair:
        v = v.replace(microsecond=0, fold=0)
        return (v.year, v.month, v.day, v.hour, v.minute, v.second), v

    def ts_pair(secs: int) -> Pair:
        return secs, (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=secs) if secs else "0000-00-00 00:00:00")

    max_time = 838 * 3600 + 59 * 60 + 59
    return st.sampled_from(
        [
            Column(ColumnSpec(ft.TIME), st.integers(-max_time, max_time).map(time_pair)),
            Column(ColumnSpec(ft.DATETIME), st.datetimes(datetime(1000, 1, 1)).map(dt_pair)),
            Column(ColumnSpec(ft.TIMESTAMP), st.integers(0, 2**32 - 1).map(ts_pair)),
            Column(ColumnSpec(ft.YEAR), _same(st.just(0) | st.integers(1901, 2155))),
        ]
    )


@st.composite
def bit_column(draw: st.DrawFn) -> Column:
    bits = draw(st.integers(1, 64))
    return Column(ColumnSpec(ft.BIT, bits), _same(st.integers(0, 2**bits - 1)))


@st.composite
def enum_set_column(draw: st.DrawFn) -> Column:
    if draw(st.booleans()):
        meta = draw(st.sampled_from([1, 2]))
        n = draw(st.integers(1, 5)) if meta == 1 else draw(st.integers(256, 300))
        elems = tuple(f"e{i}é" for i in range(n))
        values = st.integers(0, n).map(lambda k: (k, elems[k - 1] if k else ""))
        return Column(ColumnSpec(ft.ENUM, meta, elems=elems), values)
    meta = draw(st.sampled_from([1, 2, 3, 4, 8]))
    n = draw(st.integers(1, meta * 8))
    elems = tuple(f"s{i}" for i in range(n))
    values = st.integers(0, 2**n - 1).map(lambda b: (b, ",".join(e for i, e in enumerate(elems) if b >> i & 1)))
    return Column(ColumnSpec(ft.SET, meta, elems=elems), values)


ENCODINGS = ["utf-8", "mysql_latin1", "ascii", "utf-16-be", "utf-32-be", "gbk", "big5", "utf-16-le"]


def _text_pairs(encoding: str, max_bytes: int) -> st.SearchStrategy[Pair]:
    def encodable(s: str) -> bool:
        try:
            return len(s.encode(encoding)) <= max_bytes
        except UnicodeEncodeError:
            return False

    alphabet = st.characters(codec=encoding) if encoding not in ("gbk", "big5") else st.sampled_from("ab 中文字龍")
    return st.text(alphabet, max_size=40).filter(encodable).map(lambda s: (s.encode(encoding), s))


@st.composite
def string_column(draw: st.DrawFn) -> Column:
    t = draw(st.sampled_from([ft.VARCHAR, ft.STRING, ft.BLOB]))
    binary = draw(st.booleans())
    if t == ft.BLOB:
        meta = draw(st.integers(1, 4))
        max_bytes = 255 if meta == 1 else 300
    else:
        meta = draw(st.sampled_from([10, 255, 256, 1020, 65532]))
        max_bytes = min(meta, 300)
    if binary:
        if t == ft.STRING:
            stripped = st.binary(max_size=min(max_bytes, 60)).map(lambda b: b.rstrip(b"\x00"))
            return Column(ColumnSpec(t, meta, pad_to=meta), stripped.map(lambda b: (b, b.ljust(meta, b"\x00"))))
        return Column(ColumnSpec(t, meta), _same(st.binary(max_size=min(max_bytes, 60))))
    encoding = draw(st.sampled_from(ENCODINGS))
    return Column(ColumnSpec(t, meta, encoding=encoding), _text_pairs(encoding, max_bytes))


def _mysql_sorted(tree: Any) -> Any:
    if isinstance(tree, dict):
        keys = sorted(tree, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _mysql_sorted(tree[k]) for k in keys}
    if isinstance(tree, list):
        return [_mysql_sorted(x) for x in tree]
    return tree


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.integers(-(10**9), 10**9).map(lambda n: n / 8)
    | st.text(max_size=12)
)
JSON_TREES = st.recursive(
    JSON_SCALARS,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=12,
)


def json_text(tree: Any) -> str:
    return json.dumps(_mysql_sorted(tree), ensure_ascii=False, separators=(", ", ": "))


@st.composite
def json_column(draw: st.DrawFn) -> Column:
    meta = draw(st.sampled_from([2, 3, 4]))
    large = draw(st.booleans())
    return Column(ColumnSpec(ft.JSON, meta), JSON_TREES.map(lambda t: (encode_json(t, large), json_text(t))))


def blob_like_column() -> st.SearchStrategy[Column]:
    return st.sampled_from([ft.GEOMETRY, ft.VECTOR]).map(
        lambda t: Column(ColumnSpec(t, 4), _same(st.binary(max_size=50)))
    )


COLUMNS: st.SearchStrategy[Column] = st.one_of(
    int_column(),
    float_column(),
    decimal_column(),
    date_column(),
    datetime2_column(),
    timestamp2_column(),
    time2_column(),
    old_temporal_column(),
    bit_column(),
    enum_set_column(),
    string_column(),
    json_column(),
    blob_like_column(),
)
