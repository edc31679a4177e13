"""Reading one table inside a snapshot transaction, in bounded chunks, as rows in the model's conventions.

A table with a primary key is read by keyset pagination: ``WHERE pk > last ORDER BY pk LIMIT n`` (composite
keys expanded to ``a > x OR (a = x AND b > y)``, which the optimizers turn into an index range), so every
chunk is one short index range scan and memory holds one chunk. A table without one is read in one pass
with an unbuffered cursor (pymysql's ``SSCursor``), ``n`` rows at a time.

pymysql already returns most values as ``model`` wants them (ints, ``Decimal``, ``date``/``datetime``/
``timedelta``, zero dates as text, ``str`` for text and ``bytes`` for binary columns). Only a few column
types are converted, column by column, and a table without such columns is passed through untouched:
FLOAT (selected as the DOUBLE ``(c + 0E0)``, since the server prints a FLOAT with six digits and MySQL before
8.0.17 has no ``CAST(c AS DOUBLE)``, then narrowed to its exact 32-bit value), BIT (big-endian bytes to
``int``) and TIMESTAMP (UTC-aware; the session time zone is UTC).

For a Parquet sink the readers make Arrow record batches of the chunks instead (``snapshot.columnar``);
``TablePlan.arrow`` says so.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pymysql.cursors

from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.table_filter import SYSTEM_SCHEMAS

Row = tuple[Any, ...]
Converter = Callable[[Any], Any]

_FLOAT = struct.Struct("<f")


def _float32(value: Any) -> Any:
    return _FLOAT.unpack(_FLOAT.pack(value))[0] if isinstance(value, float) else value


def _bit(value: Any) -> Any:
    return int.from_bytes(value, "big") if isinstance(value, bytes) else value


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) else value


_CONVERTERS: dict[str, Converter] = {"FLOAT": _float32, "BIT": _bit, "TIMESTAMP": _utc}


_INTEGERS = frozenset({"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT"})


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class ArrowTarget:
    """Chunks go to the sink as Arrow record batches in its Parquet schema, as inserts at ``commit_ts``."""

    commit_ts: int
    output_old_value: bool


@dataclass(frozen=True)
class TablePlan:
    """How one table is read: its columns, its key, the SQL of a chunk."""

    info: TableInfo
    estimated_rows: int
    after: Row | None = None
    """Read only the rows after this key (an interrupted snapshot continued)."""
    arrow: ArrowTarget | None = None
    """Set: the reader sends Arrow record batches (``snapshot.columnar``) instead of rows."""
    upto: int | None = None
    """Read only the rows up to this key (a key range of a table with an integer key: ``key_ranges``)."""

    @property
    def keyed(self) -> bool:
        return bool(self.info.pk_indexes)

    @property
    def integer_key(self) -> bool:
        """Whether the key is one integer column (so that it can be split into ranges)."""
        pk = self.info.pk_indexes
        return len(pk) == 1 and self.info.columns[pk[0]].type_name in _INTEGERS

    def select_list(self) -> str:
        return ", ".join(f"({_ident(c.name)} + 0E0)" if c.type_name == "FLOAT" else _ident(c.name)
                         for c in self.info.columns)

    def first_chunk_sql(self, select: str | None = None) -> str:
        """The first chunk (no LIMIT) of ``select`` (the columns by default)."""
        bound = self._upto()
        where = f" WHERE {bound}" if bound else ""
        return f"SELECT {select or self.select_list()} FROM {self.info.name.quoted()}{where}{self._order()}"

    def next_chunk_sql(self, select: str | None = None) -> str:
        """The chunk after a key: parameters are the key's values, as often as the condition names them."""
        pk = [_ident(self.info.columns[i].name) for i in self.info.pk_indexes]
        terms = []
        for i in range(len(pk)):
            equal = [f"{c} = %s" for c in pk[:i]]
            terms.append("(" + " AND ".join([*equal, f"{pk[i]} > %s"]) + ")")
        where = " OR ".join(terms)
        bound = self._upto()
        if bound:
            where = f"({where}) AND {bound}"
        return f"SELECT {select or self.select_list()} FROM {self.info.name.quoted()} WHERE {where}{self._order()}"

    def next_chunk_args(self, key: Row) -> list[Any]:
        return [v for i in range(len(key)) for v in key[: i + 1]]

    def _upto(self) -> str:
        if self.upto is None:
            return ""
        return f"{_ident(self.info.columns[self.info.pk_indexes[0]].name)} <= {int(self.upto)}"

    def _order(self) -> str:
        if not self.keyed:
            return ""
        return " ORDER BY " + ", ".join(_ident(self.info.columns[i].name) for i in self.info.pk_indexes)

    def converter(self) -> Callable[[list[Row]], list[Row]] | None:
        """Converts fetched rows to the model's values; None when they already are."""
        plan = [(i, _CONVERTERS[c.type_name]) for i, c in enumerate(self.info.columns) if c.type_name in _CONVERTERS]
        if not plan:
            return None

        def convert(rows: list[Row]) -> list[Row]:
            out = []
            for row in rows:
                values = list(row)
                for i, fn in plan:
                    values[i] = fn(values[i])
                out.append(tuple(values))
            return out

        return convert


def read_table(conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int) -> Iterator[list[Row]]:
    """The table's rows, ``chunk_rows`` at a time, in model values (key order for a keyed table)."""
    convert = plan.converter()
    chunks = _keyed_chunks(conn, plan, chunk_rows) if plan.keyed else streamed_chunks(conn, plan, chunk_rows)
    for rows in chunks:
        yield convert(rows) if convert is not None else rows


def _keyed_chunks(conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int) -> Iterator[list[Row]]:
    pk = plan.info.pk_indexes
    limit = f" LIMIT {chunk_rows}"
    first = plan.first_chunk_sql() + limit
    following = plan.next_chunk_sql() + limit
    args: list[Any] | None = None if plan.after is None else plan.next_chunk_args(plan.after)
    while True:
        rows = fetch_rows(conn, first if args is None else following, args)
        if not rows:
            return
        last = rows[-1]
        yield rows
        if len(rows) < chunk_rows:
            return
        args = plan.next_chunk_args(tuple(last[i] for i in pk))


def fetch_rows(conn: pymysql.Connection[Any], sql: str, args: list[Any] | None) -> list[Row]:
    """The rows of one query, as pymysql returns them."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def streamed_chunks(conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int) -> Iterator[list[Row]]:
    """An unkeyed table in one pass, ``chunk_rows`` rows at a time (not converted)."""
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(plan.first_chunk_sql())
        while True:
            rows: list[Row] = list(cur.fetchmany(chunk_rows))
            if not rows:
                return
            yield rows


def key_ranges(conn: pymysql.Connection[Any], plans: list[TablePlan], chunk_rows: int) -> list[TablePlan]:
    """``plans`` with each table of an integer key and more than two chunks' worth of rows cut into key ranges
    of about ``chunk_rows`` rows (from its keys' least and greatest values and its row estimate), in key order,
    so that several readers can read one table. The first range starts after ``after``, the last has no end:
    the ranges cover the table whatever the bounds are by the time it is read."""
    out: list[TablePlan] = []
    for plan in plans:
        pieces = -(-plan.estimated_rows // chunk_rows)
        if not plan.integer_key or pieces < 3:
            out.append(plan)
            continue
        key = _ident(plan.info.columns[plan.info.pk_indexes[0]].name)
        with conn.cursor() as cur:
            cur.execute(f"SELECT MIN({key}), MAX({key}) FROM {plan.info.name.quoted()}")
            low, high = cur.fetchone() or (None, None)
        if low is None or high is None:
            out.append(plan)
            continue
        start = int(low) if plan.after is None else max(int(low), int(plan.after[0]) + 1)
        span = int(high) - start + 1
        pieces = min(pieces, span)
        if pieces < 2:
            out.append(plan)
            continue
        bounds = [start - 1 + span * i // pieces for i in range(1, pieces)]
        afters: list[Row | None] = [plan.after, *((b,) for b in bounds)]
        uptos: list[int | None] = [*bounds, None]
        out.extend(replace(plan, estimated_rows=plan.estimated_rows // pieces, after=a, upto=u)
                   for a, u in zip(afters, uptos, strict=True))
    return out


def selected_schemas(conn: pymysql.Connection[Any], match: Callable[[str], bool]) -> list[str]:
    """The server's databases that ``match`` selects, system schemas left out."""
    with conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        return [str(row[0]) for row in cur.fetchall() if str(row[0]).lower() not in SYSTEM_SCHEMAS and match(row[0])]


def table_facts(conn: pymysql.Connection[Any], schemas: list[str]) -> dict[TableName, tuple[int, str]]:
    """Per table of ``schemas``: information_schema's row estimate (InnoDB's is approximate) and its
    CREATE_TIME (which a DROP and CREATE, or a rebuild, changes)."""
    if not schemas:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, CREATE_TIME FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA IN (" + ", ".join(["%s"] * len(schemas)) + ")",
            schemas,
        )
        return {TableName(str(s), str(t)): (int(n or 0), str(c or "")) for s, t, n, c in cur.fetchall()}


def same_columns(a: tuple[ColumnInfo, ...], b: tuple[ColumnInfo, ...]) -> bool:
    """True when two table versions have the same columns (names, types and keys)."""
    return [(c.name, c.type_name, c.unsigned, c.length, c.scale, c.is_pk, c.elems) for c in a] == [
        (c.name, c.type_name, c.unsigned, c.length, c.scale, c.is_pk, c.elems) for c in b
    ]
