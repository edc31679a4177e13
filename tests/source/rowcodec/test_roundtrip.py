"""Property tests: rows encoded from MySQL's documented formats decode to exactly the expected values."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagecdc.model import ABSENT
from storagecdc.source.binlog.rowcodec import compile_decoder

from .encoder import enc_image
from .strategies import COLUMNS, Column

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Column], int, list[list[Any]], list[tuple[Any, ...]]]:
    """Columns, a present bitmap, encoder inputs and expected rows (NULLs and absent columns included)."""
    cols = draw(st.lists(COLUMNS, min_size=1, max_size=12))
    present = draw(st.integers(1, 2 ** len(cols) - 1) | st.just(2 ** len(cols) - 1))
    nrows = draw(st.integers(1, 4))
    inputs: list[list[Any]] = []
    expected: list[tuple[Any, ...]] = []
    for _ in range(nrows):
        raw_row: list[Any] = []
        exp_row: list[Any] = []
        for i, col in enumerate(cols):
            if not present >> i & 1:
                raw_row.append(None)
                exp_row.append(ABSENT)
            elif draw(st.integers(0, 4)) == 0:
                raw_row.append(None)
                exp_row.append(None)
            else:
                raw, exp = draw(col.values)
                raw_row.append(raw)
                exp_row.append(exp)
        inputs.append(raw_row)
        expected.append(tuple(exp_row))
    return cols, present, inputs, expected


def _encode(cols: list[Column], present: int, inputs: list[list[Any]]) -> bytes:
    return b"".join(enc_image([c.enc for c in cols], row, present) for row in inputs)


def _strict(rows: list[tuple[Any, ...]]) -> list[str]:
    """repr() tells apart what == does not: Decimal scale, -0.0, tzinfo, int vs bool."""
    return [repr(r) for r in rows]


@SETTINGS
@given(tables(), st.binary(max_size=3), st.binary(max_size=3))
def test_write_rows_round_trip(table: Any, head: bytes, tail: bytes) -> None:
    cols, present, inputs, expected = table
    body = _encode(cols, present, inputs)
    buf = head + body + tail
    decoder = compile_decoder(tuple(c.spec for c in cols))
    rows = decoder.decode_rows(buf, len(head), len(head) + len(body), present)
    assert _strict(rows) == _strict(expected)


@SETTINGS
@given(tables(), st.data())
def test_update_rows_round_trip(table: Any, data: st.DataObject) -> None:
    cols, present_before, before_in, before_exp = table
    present_after = data.draw(st.integers(1, 2 ** len(cols) - 1))
    after_in: list[list[Any]] = []
    after_exp: list[tuple[Any, ...]] = []
    for _ in before_in:
        raw_row: list[Any] = []
        exp_row: list[Any] = []
        for i, col in enumerate(cols):
            if not present_after >> i & 1:
                raw_row.append(None)
                exp_row.append(ABSENT)
            elif data.draw(st.booleans()):
                raw_row.append(None)
                exp_row.append(None)
            else:
                raw, exp = data.draw(col.values)
                raw_row.append(raw)
                exp_row.append(exp)
        after_in.append(raw_row)
        after_exp.append(tuple(exp_row))
    encs = [c.enc for c in cols]
    buf = b"".join(
        enc_image(encs, b, present_before) + enc_image(encs, a, present_after)
        for b, a in zip(before_in, after_in, strict=True)
    )
    decoder = compile_decoder(tuple(c.spec for c in cols))
    before, after = decoder.decode_update_rows(buf, 0, len(buf), present_before, present_after)
    assert _strict(before) == _strict(before_exp)
    assert _strict(after) == _strict(after_exp)
