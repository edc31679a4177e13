"""Table-by-table comparison of two sides: row counts, chunk checksums, then the differing keys.

Each table is cut into ``n = ceil(max(count_a, count_b) / chunk_size)`` chunks, the same on both sides, and
each side is streamed once. A chunk's checksum is its row count and the sum (mod 2**128) of its rows'
BLAKE2b-128 digests over the canonical row text (``verify.canonical``): a multiset checksum, so the order rows
arrive in does not matter. Chunks whose checksums differ are read again and their rows matched by key to name
what differs: keys missing on one side, keys whose values differ (tables without a primary key: rows whose
multiplicities differ). At most ``max_rows`` differences are kept per table (0: none, and no second read).

How rows fall into chunks:

- primary-key ranges when the key is one integer column (every integer type but BIGINT UNSIGNED, which
  SQLite may hold as text): ``n`` ranges of equal width between the smallest and the largest key of either
  side, so a differing chunk is read again with ``WHERE key >= start AND key < stop`` on both sides;
- otherwise buckets by a hash of the canonical key (or of the whole row without a primary key), and a
  differing bucket means a second full read, keeping only its rows. Key *ranges* would need both databases
  to order keys alike, and they do not (MySQL collations are case-insensitive and pad spaces, SQLite
  compares bytes; DECIMAL keys are text in SQLite; dates may be zero).

Memory: the checksums (two integers per chunk) and the rows of at most ``max_rows`` chunks. Column sets are
compared first (by name, case-insensitively, as MySQL does).
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from storagecdc.consumer.values import Kind, column_kind
from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo, TableName
from storagecdc.verify.canonical import Canon, canonicalizer, row_text, row_values
from storagecdc.verify.sides import KeyRange, Side

Values = tuple[str | None, ...]
_MASK = (1 << 128) - 1


@dataclass(frozen=True, slots=True)
class RowDiff:
    """One difference: the key (the whole row without a primary key) and the row on each side (None: absent;
    for tables without a primary key, the row is repeated as many times as that side holds it)."""

    key: Values
    a: tuple[Values, ...]
    b: tuple[Values, ...]


@dataclass(slots=True)
class TableResult:
    name: TableName
    a_rows: int | None
    """Rows on side A (None: the table is not there)."""
    b_rows: int | None
    status: str = "equal"
    """``equal``, ``missing in <side>``, ``columns differ``, ``rows differ``."""
    key_columns: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    diffs: list[RowDiff] = field(default_factory=list)
    detail: str = ""

    @property
    def equal(self) -> bool:
        return self.status == "equal"


@dataclass(frozen=True, slots=True)
class _Shape:
    columns: tuple[str, ...]
    canons: tuple[Canon, ...]
    key: tuple[int, ...]
    """Key positions in ``columns`` (all of them when the table has no primary key)."""


    int_key: int | None
    """Position of the primary key when it is one integer column that both sides order alike."""


def _shape(info: TableInfo) -> _Shape:
    cols = [c for c in info.columns if not c.generated]
    pk = [i for i, c in enumerate(cols) if c.is_pk]
    int_key = None
    if len(pk) == 1:
        col = cols[pk[0]]
        if column_kind(col) is Kind.INT and not (col.unsigned and col.type_name == "BIGINT"):
            int_key = pk[0]
    key = tuple(pk) or tuple(range(len(cols)))
    return _Shape(tuple(c.name for c in cols), tuple(canonicalizer(c) for c in cols), key, int_key)


@dataclass(frozen=True, slots=True)
class _Chunks:
    """``n`` chunks: integer key ranges of ``span / n`` values from ``lo`` (``ranged``), else hash buckets."""

    n: int
    ranged: bool = False
    lo: int = 0
    span: int = 1

    def bounds(self, i: int) -> tuple[int, int]:
        """The key range ``[start, stop)`` of chunk ``i`` (ranged chunks)."""
        return self.lo - (-i * self.span // self.n), self.lo - (-(i + 1) * self.span // self.n)


def _chunks(a: Side, b: Side, name: TableName, shape: _Shape, *, rows: int, chunk_size: int) -> _Chunks:
    n = max(1, -(-rows // chunk_size))
    if shape.int_key is None:
        return _Chunks(n)
    column = shape.columns[shape.int_key]
    ends = [r for r in (a.key_range(name, column), b.key_range(name, column)) if r is not None]
    if not ends:
        return _Chunks(n)
    lo, hi = min(e[0] for e in ends), max(e[1] for e in ends)
    return _Chunks(min(n, hi - lo + 1), True, lo, hi - lo + 1)


def _rows(side: Side, name: TableName, shape: _Shape, chunks: _Chunks,
          where: KeyRange | None = None) -> Iterator[tuple[int, Values, Values]]:
    """(chunk, key, row) of every row (of ``where``), canonical. Hash buckets use Python's ``hash`` of the
    key: stable within this process, which reads both sides."""
    canons, key, n = shape.canons, shape.key, chunks.n
    int_key, lo, span = shape.int_key, chunks.lo, chunks.span
    for raw in side.rows(name, shape.columns, where):
        try:
            values = row_values(canons, raw)
        except (ValueError, ArithmeticError, TypeError, struct.error):
            raise _bad_value(side, name, shape, raw) from None
        k = tuple([values[i] for i in key])
        if chunks.ranged:
            assert int_key is not None
            yield (raw[int_key] - lo) * n // span, k, values
        else:
            yield hash(k) % n, k, values


def _bad_value(side: Side, name: TableName, shape: _Shape, raw: Sequence[Any]) -> ConsumerError:
    for column, canon, value in zip(shape.columns, shape.canons, raw, strict=True):
        try:
            if value is not None:
                canon(value)
        except (ValueError, ArithmeticError, TypeError, struct.error) as exc:
            return ConsumerError(f"{side.label}: table {name}, column {column}: cannot read {value!r:.80} ({exc})")
    return ConsumerError(f"{side.label}: table {name}: cannot read a row")


def _checksums(rows: Iterable[tuple[int, Values, Values]], n: int) -> tuple[list[int], list[int]]:
    counts, sums = [0] * n, [0] * n
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    for bucket, _, values in rows:
        counts[bucket] += 1
        digest = blake2b(row_text(values).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        sums[bucket] = (sums[bucket] + from_bytes(digest, "big")) & _MASK
    return counts, sums


def _by_key(rows: Iterable[tuple[int, Values, Values]], wanted: set[int]) -> dict[Values, list[Values]]:
    out: dict[Values, list[Values]] = {}
    for chunk, key, values in rows:
        if chunk in wanted:
            out.setdefault(key, []).append(values)
    return out


def _narrow(a: Side, b: Side, name: TableName, shape: _Shape, *, chunks: _Chunks, bad: list[int],
            limit: int) -> list[RowDiff]:
    """Up to ``limit`` differences in the chunks ``bad``: ranged chunks one by one, by range; hash buckets in
    one more read of each side."""
    if not chunks.ranged:
        wanted = set(bad[:limit])
        return _diff(_by_key(_rows(a, name, shape, chunks), wanted), _by_key(_rows(b, name, shape, chunks), wanted),
                     limit)
    column = shape.columns[shape.key[0]]
    diffs: list[RowDiff] = []
    for i in bad:
        start, stop = chunks.bounds(i)
        where = (column, start, stop)
        diffs += _diff(_by_key(_rows(a, name, shape, chunks, where), {i}),
                       _by_key(_rows(b, name, shape, chunks, where), {i}), limit - len(diffs))
        if len(diffs) >= limit:
            break
    return diffs


def _diff(a: dict[Values, list[Values]], b: dict[Values, list[Values]], limit: int) -> list[RowDiff]:
    diffs: list[RowDiff] = []
    for key in sorted(a.keys() | b.keys(), key=row_text):
        ra, rb = a.get(key, []), b.get(key, [])
        if Counter(ra) != Counter(rb):
            diffs.append(RowDiff(key, tuple(ra), tuple(rb)))
            if len(diffs) >= limit:
                break
    return diffs


def compare_table(a: Side, b: Side, name: TableName, info: TableInfo, *, chunk_size: int,
                  max_rows: int) -> TableResult:
    """Compare one table present on both sides; ``info`` gives the columns and their types."""
    shape = _shape(info)
    result = TableResult(name, a.count(name), b.count(name), columns=shape.columns,
                         key_columns=tuple(shape.columns[i] for i in shape.key) if info.pk_indexes else ())
    known = {c.lower() for c in info.column_names}
    for side in (a, b):
        have = side.columns(name) or []
        lower = {c.lower() for c in have}
        missing = [c for c in shape.columns if c.lower() not in lower]
        extra = [c for c in have if c.lower() not in known]
        problems = []
        if missing:
            problems.append(f"{side.label} lacks {', '.join(missing)}")
        if extra:
            problems.append(f"{side.label} has {', '.join(extra)}, which the output's schema does not")
        if problems:
            result.status = "columns differ"
            result.detail = "; ".join(problems)
            return result
    assert result.a_rows is not None and result.b_rows is not None
    chunks = _chunks(a, b, name, shape, rows=max(result.a_rows, result.b_rows), chunk_size=chunk_size)
    n = chunks.n
    ca, sa = _checksums(_rows(a, name, shape, chunks), n)
    cb, sb = _checksums(_rows(b, name, shape, chunks), n)
    bad = [i for i in range(n) if ca[i] != cb[i] or sa[i] != sb[i]]
    if not bad:
        return result
    result.status = "rows differ"
    kind = "key ranges" if chunks.ranged else "chunks"
    result.detail = f"{len(bad)} of {n} {kind} differ"
    if max_rows > 0:
        result.diffs = _narrow(a, b, name, shape, chunks=chunks, bad=bad, limit=max_rows)
    return result


def compare(a: Side, b: Side, infos: dict[TableName, TableInfo], *, chunk_size: int = 10_000,
            max_rows: int = 10, only: Sequence[TableName] | None = None) -> list[TableResult]:
    """Every table of either side (or ``only`` those), in name order. ``infos`` holds the types of the
    tables that can be compared row by row (the output's schema); a table on one side only is a difference."""
    on_a, on_b = a.tables(), b.tables()
    names = sorted(only if only is not None else on_a | on_b)
    results = []
    for name in names:
        if name not in on_a or name not in on_b:
            result = TableResult(name, a.count(name) if name in on_a else None,
                                 b.count(name) if name in on_b else None)
            result.status = f"missing in {b.label if name in on_a else a.label}"
            if name not in on_a and name not in on_b:
                result.status = "missing on both sides"
            results.append(result)
            continue
        info = infos.get(name)
        if info is None:
            result = TableResult(name, a.count(name), b.count(name), status="columns differ",
                                 detail="no schema for the table in the output")
            results.append(result)
            continue
        results.append(compare_table(a, b, name, info, chunk_size=chunk_size, max_rows=max_rows))
    return results
