"""A replay model of decoded change events, and its comparison with the server's own ``SELECT *``.

``ReplayModel.apply(change)`` follows a decoded stream (``RowChanges``, ``DDLEvent``, ``TxnCommit``) on an in-
memory copy of every table: a list of rows (a multiset, since tables without a primary key may hold duplicates),
each a dict keyed by column name. DDL events move rows between table versions by the tracker's ``table_id``
(kept by ALTER and RENAME, new for CREATE and TRUNCATE). On an ALTER, rows are re-projected by column name onto
the new version: a column that is new (ADD, or the new name of CHANGE/RENAME COLUMN), whose type changed
(MODIFY) or that is generated gets ``UNKNOWN`` in every existing row, because the server filled it in place
without a row event. (A DROP and ADD of one name with one type in one ALTER cannot be told from no change at
all: the workloads do not do that to a stored column.) A later UPDATE or DELETE of such a row matches
``UNKNOWN`` as a wildcard and its after image makes the row fully known again; every known value must equal the
decoded before image. Values a MINIMAL or NOBLOB row image leaves out (``ABSENT``) match anything in a before
image, keep the model's value in an after image, and are UNKNOWN in an inserted row.

``compare_schema_with_server`` checks the last table versions of the stream against the server's
information_schema (type, signedness, character length or precision and scale, fractional seconds,
charset and collation, nullability, primary key, ENUM/SET members, generated and invisible columns).

``compare_with_server`` then checks the model against a ``SELECT`` of every column (INVISIBLE ones too, which
``SELECT *`` leaves out; history rows too, for system-versioned tables) of every base table of the given
databases: the same tables, the same column names in the same order, the same number of rows, and every known
value equal after ``server_value``/``model_value`` normalisation. The normaliser's deliberate differences
(pymysql vs model.py's conventions):

- TIMESTAMP: the model holds aware UTC datetimes; pymysql returns naive ones in the session time zone,
  which the comparison session sets to UTC, so the model's values lose their (UTC) tzinfo.
- BIT(n): pymysql returns big-endian bytes; the model holds the unsigned int.
- FLOAT: the server prints a FLOAT with 6 significant digits (16777217 as ``16777200``), so FLOAT columns
  are selected as ``CAST(c AS DOUBLE)``, which is the exact 32-bit value, and compared exactly.
- Zero and partial-zero dates: both sides are strings (pymysql returns the text it cannot parse), compared
  as they are: the decoder spells them as the server prints them (``2020-00-15``,
  ``0000-00-00 00:00:00.000`` for DATETIME(3)).
- DECIMAL: both sides as their text, so that the scale is compared too.
Everything else (ENUM/SET/JSON/TEXT as str, BINARY/BLOB/GEOMETRY as bytes, TIME as
timedelta, YEAR as int) is compared as it is, exactly.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import reprlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pymysql.constants import FIELD_TYPE

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import (
    ABSENT,
    ChangeEvent,
    ColumnInfo,
    DDLEvent,
    Op,
    ResolvedTs,
    RowChanges,
    TableInfo,
    TableName,
    TxnCommit,
)


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""A value the server set by DDL in place (no row event): matches anything, compared with nothing."""


@dataclass(slots=True)
class ModelTable:
    info: TableInfo
    rows: list[dict[str, Any]] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)
    """The commit-ts of the change that last wrote each row (aligned with ``rows``)."""


class ReplayModel:
    """The tables a decoded stream describes, replayed in memory."""

    def __init__(self, schemas: Iterable[str]) -> None:
        self.schemas = frozenset(schemas)
        self.tables: dict[TableName, ModelTable] = {}
        self.positions: dict[int, str] = {}
        """commit-ts -> ``file:offset`` of the commit or DDL (to name where a wrong value came from)."""
        self.marked_unknown = 0
        """Values the replay had to mark UNKNOWN because a DDL changed them in place."""
        self.row_changes = 0
        self.pk_changes = 0
        """UPDATEs that changed the primary key (each checked against the change's ``pk_changed`` flags)."""
        self.absent_inserted = 0
        """Values an INSERT's row image left out (binlog_row_image=NOBLOB/MINIMAL): UNKNOWN in the model."""
        self.ddl_types: Counter[int] = Counter()
        self.errors: list[str] = []

    def apply_all(self, changes: Iterable[ChangeEvent]) -> None:
        for change in changes:
            self.apply(change)

    def apply(self, change: ChangeEvent) -> None:
        if isinstance(change, RowChanges):
            self._rows(change)
        elif isinstance(change, DDLEvent):
            self._ddl(change)
        elif isinstance(change, TxnCommit):
            self.positions[change.commit_ts] = f"{change.position.file}:{change.position.offset}"
        elif not isinstance(change, ResolvedTs):
            raise AssertionError(f"unexpected change event {change!r}")

    # ---- rows --------------------------------------------------------------------------------------------

    def _rows(self, change: RowChanges) -> None:
        name = change.table.name
        table = self.tables.get(name)
        if table is None:
            raise AssertionError(f"rows of {name} at commit-ts {change.commit_ts}, a table no DDL created")
        if change.table.column_names != table.info.column_names:
            raise AssertionError(
                f"rows of {name} with columns {change.table.column_names}, the last DDL gave {table.info.column_names}"
            )
        names = table.info.column_names
        self.row_changes += len(change.rows)
        if change.op is Op.INSERT:
            for row in change.rows:
                self.absent_inserted += sum(v is ABSENT for v in row)
                table.rows.append({n: UNKNOWN if v is ABSENT else v for n, v in zip(names, row, strict=True)})
                table.origins.append(change.commit_ts)
            return
        befores = change.rows if change.op is Op.DELETE else change.before
        assert befores is not None
        if change.op is Op.UPDATE:
            self._check_pk_changed(change, befores)
        for k, before in enumerate(befores):
            image = dict(zip(names, before, strict=True))
            at = _find(table.rows, image)
            if at is None:
                self.errors.append(
                    f"{name}: {change.op.name} at commit-ts {change.commit_ts}: before image {_clip(image)} matches "
                    "no row of the model"
                )
                continue
            if change.op is Op.DELETE:
                del table.rows[at], table.origins[at]
            else:
                after = table.rows[at]
                for n, v in zip(names, change.rows[k], strict=True):
                    if v is not ABSENT:  # a MINIMAL/NOBLOB after image leaves out what did not change
                        after[n] = v
                table.origins[at] = change.commit_ts

    def _check_pk_changed(self, change: RowChanges, befores: list[tuple[Any, ...]]) -> None:
        pk = change.table.pk_indexes
        expected = (
            [any(a[k] is not ABSENT and b[k] != a[k] for k in pk) for b, a in zip(befores, change.rows, strict=True)]
            if pk
            else None
        )
        if change.pk_changed != expected:
            self.errors.append(
                f"{change.table.name}: UPDATE at commit-ts {change.commit_ts}: pk_changed {change.pk_changed}, "
                f"expected {expected} (primary key columns {pk})"
            )
        self.pk_changes += sum(expected or ())

    # ---- DDL ---------------------------------------------------------------------------------------------

    def _ddl(self, ddl: DDLEvent) -> None:
        self.ddl_types[ddl.ddl_type] += 1
        if ddl.position is not None:
            self.positions[ddl.commit_ts] = f"{ddl.position.file}:{ddl.position.offset}"
        previous: dict[int | None, ModelTable] = {}
        for name in (*ddl.tables, *ddl.dropped):
            table = self.tables.pop(name, None)
            if table is not None:
                previous[table.info.table_id] = table
        for info in ddl.new_tables:
            old = previous.get(info.table_id)
            self.tables[info.name] = self._reproject(old, info) if old is not None else ModelTable(info)

    def _reproject(self, old: ModelTable, info: TableInfo) -> ModelTable:
        before = {c.name: c for c in old.info.columns}
        keep = [c.name for c in info.columns if c.name in before and _same_type(before[c.name], c)]
        lost = [c.name for c in info.columns if c.name not in keep]
        rows = []
        for row in old.rows:
            new = {c.name: UNKNOWN for c in info.columns}
            for n in keep:
                new[n] = row[n]
            self.marked_unknown += sum(row.get(n) is not UNKNOWN for n in lost)
            rows.append(new)
        return ModelTable(info, rows, list(old.origins))


def _clip(row: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{n}: {reprlib.repr(v)}" for n, v in row.items()) + "}"


def _same_type(a: ColumnInfo, b: ColumnInfo) -> bool:
    """True when an ALTER kept the column's stored values: same type; a generated column is recomputed."""
    if b.generated:
        return False
    return (a.type_name, a.unsigned, a.length, a.scale, a.charset, a.elems) == (
        b.type_name, b.unsigned, b.length, b.scale, b.charset, b.elems,
    )  # fmt: skip


def _find(rows: list[dict[str, Any]], image: dict[str, Any]) -> int | None:
    for i, row in enumerate(rows):
        if all(v is UNKNOWN or image[n] is ABSENT or v == image[n] for n, v in row.items()):
            return i
    return None


# ---- comparison with the server ------------------------------------------------------------------------------


def model_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        assert value.utcoffset() == datetime.timedelta(0), f"TIMESTAMP value {value!r} is not in UTC"
        return value.replace(tzinfo=None)
    return value


def server_value(value: Any, type_code: int) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)  # exact, scale included (Decimal("1.50") == Decimal("1.5"), their texts differ)
    if type_code == FIELD_TYPE.BIT:
        return int.from_bytes(value, "big")
    return value


def _select_item(column: str, data_type: str) -> str:
    """The select-list item of a column: FLOAT as its exact value (the server prints 6 digits of it)."""
    quoted = "`" + column.replace("`", "``") + "`"
    return f"CAST({quoted} AS DOUBLE) AS {quoted}" if data_type.lower() == "float" else quoted


@dataclass(slots=True)
class Comparison:
    tables: int = 0
    rows: int = 0
    values: int = 0
    skipped: int = 0
    """Known-unknown values (set by DDL in place, never rewritten by a row event): not compared."""
    problems: list[str] = field(default_factory=list)


def compare_with_server(model: ReplayModel, server: MariaDBServer) -> Comparison:
    """Compare every table of ``model.schemas`` with the server's ``SELECT *``."""
    result = Comparison()
    with contextlib.closing(server.connect()) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        marks = ", ".join(["%s"] * len(model.schemas))
        cur.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            f"WHERE table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') AND table_schema IN ({marks})",
            sorted(model.schemas),
        )
        listed = cur.fetchall()
        on_server = {TableName(s, t) for s, t, _ in listed}
        versioned = {TableName(s, t) for s, t, kind in listed if kind == "SYSTEM VERSIONED"}
        in_model = {n for n in model.tables if n.schema in model.schemas}
        if on_server != in_model:
            result.problems.append(
                f"tables: model {sorted(map(str, in_model))} != server {sorted(map(str, on_server))}"
            )
        for name in sorted(on_server & in_model):
            cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s ORDER BY ordinal_position",
                (name.schema, name.table),
            )
            select = ", ".join(_select_item(column, data_type) for column, data_type in cur.fetchall())
            history = " FOR SYSTEM_TIME ALL" if name in versioned else ""  # history rows came as row events too
            cur.execute(f"SELECT {select} FROM {name.quoted()}{history}")
            columns = [d[0] for d in cur.description]
            codes = [d[1] for d in cur.description]
            rows = [tuple(server_value(v, c) for v, c in zip(r, codes, strict=True)) for r in cur.fetchall()]
            _compare_table(model, model.tables[name], columns, rows, result)
    return result


def _compare_table(
    model: ReplayModel, table: ModelTable, columns: list[str], server_rows: list[tuple[Any, ...]], result: Comparison
) -> None:
    name = table.info.name
    result.tables += 1
    ours_columns = [c.name for c in _listed(table.info.columns, set(columns))]
    if ours_columns != columns:
        result.problems.append(f"{name}: columns: model {ours_columns} != server {columns}")
        return
    if len(table.rows) != len(server_rows):
        result.problems.append(f"{name}: {len(table.rows)} rows in the model, {len(server_rows)} on the server")
    ours = [
        (tuple(model_value(row[c]) for c in columns), ts) for row, ts in zip(table.rows, table.origins, strict=True)
    ]
    result.rows += len(ours)
    for values, _ in ours:
        unknown = sum(v is UNKNOWN for v in values)
        result.skipped += unknown
        result.values += len(values) - unknown
    remaining = Counter(server_rows)
    unmatched: list[tuple[tuple[Any, ...], int]] = []
    for values, ts in sorted(ours, key=lambda o: sum(v is UNKNOWN for v in o[0])):
        if remaining[values] > 0:
            remaining[values] -= 1
            continue
        candidate = next((s for s in remaining.elements() if _matches(values, s)), None)
        if candidate is not None:
            remaining[candidate] -= 1
        else:
            unmatched.append((values, ts))
    left = list(remaining.elements())
    for values, ts in unmatched:
        where = model.positions.get(ts, f"commit-ts {ts}")
        nearest = min(left, key=lambda s: _distance(values, s), default=None)
        if nearest is None:
            result.problems.append(
                f"{name}: model row {reprlib.repr(values)} (written at {where}) is not on the server"
            )
            continue
        left.remove(nearest)
        diffs = [
            f"{c}: ours {reprlib.repr(v)} != server {reprlib.repr(s)}"
            for c, v, s in zip(columns, values, nearest, strict=True)
            if v is not UNKNOWN and v != s
        ]
        result.problems.append(f"{name}: row written at {where}: {'; '.join(diffs)}")
    for s in left:
        result.problems.append(f"{name}: server row {reprlib.repr(s)} is not in the model")


def _listed(columns: Iterable[ColumnInfo], listed: set[str]) -> list[ColumnInfo]:
    """The columns information_schema lists: all but invisible ones it does not know (MariaDB's system-invisible
    row_start/row_end of WITH SYSTEM VERSIONING, which only the binlog shows)."""
    return [c for c in columns if c.name in listed or not c.invisible]


def _matches(ours: tuple[Any, ...], server: tuple[Any, ...]) -> bool:
    return all(v is UNKNOWN or v == s for v, s in zip(ours, server, strict=True))


def _distance(ours: tuple[Any, ...], server: tuple[Any, ...]) -> int:
    return sum(v is not UNKNOWN and v != s for v, s in zip(ours, server, strict=True))


# ---- the tracked schema vs information_schema ----------------------------------------------------------------

_ELEM = re.compile(r"'((?:[^']|'')*)'")
_CHAR_LENGTH = frozenset({"CHAR", "VARCHAR", "BINARY", "VARBINARY"})
_FSP = frozenset({"TIME", "DATETIME", "TIMESTAMP"})


def column_facts(column: ColumnInfo) -> tuple[Any, ...]:
    """What information_schema.COLUMNS can confirm of a tracked column (display widths and defaults are left
    out: the server prints ``int(11)`` and ``1.500`` where the DDL said ``INT`` and ``1.5``)."""
    t = column.type_name
    length = column.length if t in _CHAR_LENGTH or t in ("DECIMAL", "BIT") else None
    scale = column.scale if t == "DECIMAL" or t in _FSP else None
    charset = None if column.charset == "binary" else column.charset
    collation = None if column.collation == "binary" else column.collation
    return (column.name, t, column.unsigned, length, scale, charset, collation, column.nullable, column.is_pk,
            column.elems, column.generated, column.invisible)  # fmt: skip


def _server_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    name, data_type, column_type, nullable, key, charset, collation, precision, scale, fsp, chars, gen, extra = row
    t = str(data_type).upper()
    length = chars if t in _CHAR_LENGTH else precision if t in ("DECIMAL", "BIT") else None
    elems = tuple(e.replace("''", "'") for e in _ELEM.findall(column_type)) if t in ("ENUM", "SET") else ()
    return (name, t, "unsigned" in column_type, length, scale if t == "DECIMAL" else fsp if t in _FSP else None,
            charset, collation, nullable == "YES", key == "PRI", elems, gen != "NEVER",
            "INVISIBLE" in extra.upper())  # fmt: skip


def compare_schema_with_server(model: ReplayModel, server: MariaDBServer) -> list[str]:
    """Differences between every tracked table version in the model and the server's information_schema."""
    marks = ", ".join(["%s"] * len(model.schemas))
    rows = server.execute(
        "SELECT table_schema, table_name, column_name, data_type, column_type, is_nullable, column_key, "
        "character_set_name, collation_name, numeric_precision, numeric_scale, datetime_precision, "
        "character_maximum_length, is_generated, extra FROM information_schema.columns "
        f"WHERE table_schema IN ({marks}) ORDER BY table_schema, table_name, ordinal_position",
        sorted(model.schemas),
    )
    on_server: dict[TableName, list[tuple[Any, ...]]] = {}
    for row in rows:
        on_server.setdefault(TableName(row[0], row[1]), []).append(_server_facts(row[2:]))
    problems = []
    for name, table in sorted(model.tables.items()):
        theirs = on_server.get(name, [])
        ours = [column_facts(c) for c in _listed(table.info.columns, {f[0] for f in theirs})]
        for k in range(max(len(ours), len(theirs))):
            a = ours[k] if k < len(ours) else None
            b = theirs[k] if k < len(theirs) else None
            if a != b:
                problems.append(f"{name}: column {k}: tracked {a} != server {b}")
    return problems
