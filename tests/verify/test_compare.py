"""Canonical values and the bucket comparison, on SQLite sides (no server needed)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from storagecdc.consumer.sqlite_values import to_sqlite
from storagecdc.errors import ConsumerError
from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.verify import compare
from storagecdc.verify.canonical import canonicalizer
from storagecdc.verify.compare import _Chunks
from storagecdc.verify.sides import SqliteSide


def test_server_and_sqlite_values_get_the_same_text() -> None:
    cases = [
        (ColumnInfo("d", "DECIMAL", length=10, scale=3), Decimal("1.500"), "1.500"),
        (ColumnInfo("d", "DECIMAL", length=10, scale=3), Decimal("-0.001"), "-0.001"),
        (ColumnInfo("f", "FLOAT"), 1.1, 1.100000023841858),
        (ColumnInfo("f", "DOUBLE"), 0.1, 0.1),
        (ColumnInfo("t", "DATETIME", scale=3), dt.datetime(2024, 2, 29, 23, 59, 58, 123000),
         "2024-02-29 23:59:58.123"),
        (ColumnInfo("t", "TIMESTAMP", scale=0), dt.datetime(2024, 1, 1, 12), "2024-01-01 12:00:00"),
        (ColumnInfo("t", "TIME", scale=2), dt.timedelta(hours=-30, minutes=-1, seconds=-2, microseconds=-500000),
         "-30:01:02.50"),
        (ColumnInfo("b", "BIT", length=10), b"\x02\x01", 513),
        (ColumnInfo("b", "BINARY", length=4, charset="binary"), b"\x01\x00\x00\x00", b"\x01"),
        (ColumnInfo("c", "CHAR", length=5), "ab", "ab  "),
        (ColumnInfo("j", "JSON"), '{"b": 1, "a": [1, 2]}', '{"a":[1,2],"b":1}'),
        (ColumnInfo("u", "BIGINT", unsigned=True), 2**64 - 1, str(2**64 - 1)),
        (ColumnInfo("y", "DATE"), "0000-00-00", "0000-00-00"),
    ]
    for col, server_value, sqlite_value in cases:
        canon = canonicalizer(col)
        assert canon(server_value) == canon(sqlite_value), col


def test_sqlite_representation_canonicalises_like_the_server_value() -> None:
    col = ColumnInfo("t", "DATETIME", scale=6)
    value = dt.datetime(2020, 5, 6, 7, 8, 9, 10)
    store = to_sqlite(col)
    assert store is not None
    assert canonicalizer(col)(store(value)) == canonicalizer(col)(value) == "2020-05-06 07:08:09.000010"


def _side(label: str, rows: Mapping[str, Sequence[tuple[int, str | None]]],
          db: sqlite3.Connection | None = None) -> SqliteSide:
    db = db or sqlite3.connect(":memory:")
    names = []
    for table, data in rows.items():
        db.execute(f'CREATE TABLE "d.{table}" (k, v)')
        db.executemany(f'INSERT INTO "d.{table}" VALUES (?, ?)', data)
        names.append(TableName("d", table))
    return SqliteSide(label, db, names)


def _info(table: str, pk: bool) -> TableInfo:
    return TableInfo(TableName("d", table), (ColumnInfo("k", "INT", is_pk=pk), ColumnInfo("v", "VARCHAR")), 1)


def test_bucket_checksums_find_the_differing_keys() -> None:
    base = [(i, f"v{i}") for i in range(1000)]
    changed = [*base[:10], (10, "changed"), *base[12:], (5000, "extra")]
    a = _side("source", {"t": base, "same": base})
    b = _side("output", {"t": changed, "same": list(reversed(base))})
    infos = {TableName("d", "t"): _info("t", True), TableName("d", "same"): _info("same", True)}
    results = {str(r.name): r for r in compare(a, b, infos, chunk_size=100, max_rows=10)}
    assert results["d.same"].equal
    t = results["d.t"]
    assert (t.status, t.a_rows, t.b_rows) == ("rows differ", 1000, 1000)
    assert {d.key: (d.a, d.b) for d in t.diffs} == {
        ("10",): ((("10", "v10"),), (("10", "changed"),)),
        ("11",): ((("11", "v11"),), ()),
        ("5000",): ((), (("5000", "extra"),)),
    }
    assert compare(a, b, infos, chunk_size=100, max_rows=2)[1].diffs.__len__() == 2


def test_tables_without_primary_key_compare_as_multisets() -> None:
    rows = [(1, "x"), (1, "x"), (2, None)]
    a = _side("source", {"n": rows, "only_a": rows})
    b = _side("output", {"n": [(2, None), (1, "x")]})
    results = compare(a, b, {TableName("d", "n"): _info("n", False)}, chunk_size=1)
    n, only = results
    assert n.status == "rows differ" and n.key_columns == ()
    assert [(d.key, len(d.a), len(d.b)) for d in n.diffs] == [(("1", "x"), 2, 1)]
    assert (str(only.name), only.status, only.a_rows, only.b_rows) == ("d.only_a", "missing in output", 3, None)
    assert compare(a, a, {TableName("d", "n"): _info("n", False)}, only=[TableName("d", "n")])[0].equal


def test_column_sets_are_compared_and_max_rows_zero_skips_the_second_read() -> None:
    a_db = sqlite3.connect(":memory:")
    a = _side("source", {"t": [(1, "x")]}, a_db)
    b = _side("output", {"t": [(1, "y")]})
    a_db.execute('ALTER TABLE "d.t" ADD COLUMN extra')
    info = {TableName("d", "t"): _info("t", True)}
    (result,) = compare(a, b, info)
    assert (result.status, result.detail) == ("columns differ", "source has extra, which the output's schema does not")
    (result,) = compare(b, b, {TableName("d", "t"): TableInfo(TableName("d", "t"), (
        ColumnInfo("k", "INT", is_pk=True), ColumnInfo("V", "VARCHAR"), ColumnInfo("w", "INT")), 1)})
    assert (result.status, result.detail) == ("columns differ", "output lacks w")
    a_db.execute('ALTER TABLE "d.t" DROP COLUMN extra')
    (result,) = compare(a, b, info, max_rows=0)
    assert (result.status, result.diffs, result.detail) == ("rows differ", [], "1 of 1 key ranges differ")


def test_an_unreadable_value_names_side_table_and_column() -> None:
    a = _side("target", {"t": [(1, "not a number")]})
    info = TableInfo(TableName("d", "t"), (ColumnInfo("k", "INT", is_pk=True),
                                           ColumnInfo("v", "DECIMAL", length=10, scale=2)), 1)
    with pytest.raises(ConsumerError, match=r"target: table d\.t, column v: cannot read 'not a number'"):
        compare(a, a, {info.name: info})


def test_integer_keys_chunk_by_range_other_keys_by_hash() -> None:
    base = [(i, f"v{i}") for i in range(-50, 950)]
    a = _side("source", {"t": base})
    b = _side("output", {"t": [r if r[0] != 700 else (700, "x") for r in base]})
    name = TableName("d", "t")
    (ranged,) = compare(a, b, {name: _info("t", True)}, chunk_size=100)
    assert ranged.detail == "1 of 10 key ranges differ"
    text_key = TableInfo(name, (ColumnInfo("k", "VARCHAR", is_pk=True), ColumnInfo("v", "VARCHAR")), 1)
    (hashed,) = compare(a, b, {name: text_key}, chunk_size=100)
    assert hashed.detail == "1 of 10 chunks differ"
    for result in (ranged, hashed):
        assert [(d.key, d.a, d.b) for d in result.diffs] == [(("700",), (("700", "v700"),), (("700", "x"),))]


@pytest.mark.parametrize(("lo", "span", "n"), [(0, 10, 3), (-7, 1001, 10), (5, 5, 5), (2**40, 2**33 + 5, 7)])
def test_key_range_bounds_match_the_chunk_of_each_key(lo: int, span: int, n: int) -> None:
    chunks = _Chunks(n, True, lo, span)
    starts = [chunks.bounds(i)[0] for i in range(n)] + [chunks.bounds(n - 1)[1]]
    assert starts[0] == lo and starts[-1] == lo + span and starts == sorted(starts)
    for i in range(n):
        start, stop = chunks.bounds(i)
        for v in {start, stop - 1}:
            if start < stop:
                assert (v - lo) * n // span == i
