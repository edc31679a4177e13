"""Routing rows to spans: every key to exactly one span, always the same one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storagecdc.dispatcher.router import Span, key_point, slice_rows
from storagecdc.messages import HASH_SPACE, even_ranges
from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, TableName

T = TableName("shop", "orders")
PK = TableInfo(T, (ColumnInfo("id", "INT", is_pk=True), ColumnInfo("v", "INT")), 1)
NOPK = TableInfo(T, (ColumnInfo("id", "INT"), ColumnInfo("v", "INT")), 1)
SPANS = [Span(T, lo, hi) for lo, hi in even_ranges(4)]


@given(st.lists(st.integers(-(2**63), 2**63 - 1), unique=True, min_size=1, max_size=40))
def test_each_row_lands_in_exactly_one_span(keys: list[int]) -> None:
    batch = RowChanges(PK, Op.INSERT, 5, [(k, 0) for k in keys])
    routed = [r for s in SPANS for part in slice_rows(batch, s) for r in part.rows]
    assert sorted(routed) == sorted(batch.rows)
    for s in SPANS:
        for part in slice_rows(batch, s):
            assert all(s.contains(key_point((r[0],))) for r in part.rows)


def test_same_key_same_point_and_whole_table_passes_through() -> None:
    assert key_point((42,)) == key_point((42,))
    assert 0 <= key_point(("x", 1)) < HASH_SPACE
    batch = RowChanges(PK, Op.INSERT, 5, [(1, 0)])
    assert slice_rows(batch, Span(T)) == [batch]


def test_table_without_primary_key_goes_to_one_span() -> None:
    batch = RowChanges(NOPK, Op.INSERT, 5, [(i, i) for i in range(20)])
    owners = [s for s in SPANS if slice_rows(batch, s)]
    assert owners == [SPANS[0]]


def test_update_moving_a_key_across_spans_becomes_delete_and_insert() -> None:
    old, new = 1, next(k for k in range(2, 10_000) if SPANS.index(_owner(k)) != SPANS.index(_owner(1)))
    batch = RowChanges(PK, Op.UPDATE, 5, [(new, 9)], before=[(old, 8)], pk_changed=[True])
    (delete,) = slice_rows(batch, _owner(old))
    (insert,) = slice_rows(batch, _owner(new))
    assert (delete.op, delete.rows) == (Op.DELETE, [(old, 8)])
    assert (insert.op, insert.rows) == (Op.INSERT, [(new, 9)])


def _owner(key: int) -> Span:
    return next(s for s in SPANS if s.contains(key_point((key,))))
