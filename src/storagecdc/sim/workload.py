"""Random workloads for the simulator, and their serial replay (the expected final state).

A workload is the changefeed's source stream in commit order: transactions of row changes, table DDL (add
and drop column, truncate, rename, create, drop), database DDL and syncpoints at every interval boundary of
commit-ts. Tables have an INT primary key ``id`` (one has no primary key) and INT columns; every key is
touched at most once per transaction, so a transaction's order inside one table does not matter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from storagecdc import ddl_types
from storagecdc.messages import parse_table_key, table_key
from storagecdc.model import (
    BlockScope,
    ColumnInfo,
    DDLEvent,
    Op,
    RowChanges,
    SyncPointEvent,
    TableInfo,
    TableName,
    make_ts,
)

START_MS = 1_700_000_000_000
"""Physical time of the changefeed's start-ts."""
START_TS = make_ts(START_MS)


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction's row changes, all at ``commit_ts``."""

    commit_ts: int
    changes: tuple[RowChanges, ...]


Entry = Txn | DDLEvent | SyncPointEvent
State = dict[TableName, dict[tuple[Any, ...], dict[str, Any]]]
"""Rows of every table by ``(id,)`` as column dicts (ids are unique, also in the table without a key)."""


@dataclass
class Workload:
    """The source stream, the table versions it goes through, and its serial final state."""

    entries: list[Entry] = field(default_factory=list)
    versions: dict[TableName, list[tuple[int, TableInfo | None]]] = field(default_factory=dict)
    """Per table name, (commit-ts, version) in order; None marks a drop or rename away."""
    final: State = field(default_factory=dict)
    split_counts: dict[str, int] = field(default_factory=dict)

    def table_at(self, name: TableName, ts: int) -> TableInfo | None:
        """The version of ``name`` in force after every event with commit-ts <= ``ts``."""
        found: TableInfo | None = None
        for at, info in self.versions.get(name, []):
            if at > ts:
                break
            found = info
        return found

    def has_pk(self, table: str) -> bool:
        """True when the table (``schema.table``) has a primary key (this workload never adds or drops one)."""
        versions = self.versions.get(parse_table_key(table), [])
        return any(info is not None and bool(info.pk_indexes) for _, info in versions)

    def created_at(self, ts: int) -> dict[str, int]:
        """Every table existing at ``ts``, with the commit-ts it came into existence (the schema store)."""
        out: dict[str, int] = {}
        for name, versions in self.versions.items():
            created: int | None = None
            for at, info in versions:
                if at > ts:
                    break
                if info is None:
                    created = None
                elif created is None:
                    created = at
            if created is not None:
                out[table_key(name)] = created
        return out

    def tables_at(self, ts: int) -> list[TableName]:
        return sorted(n for n in self.versions if self.table_at(n, ts) is not None)


def _columns(extra: int, pk: bool) -> tuple[ColumnInfo, ...]:
    cols = [ColumnInfo("id", "INT", nullable=not pk, is_pk=pk), ColumnInfo("v", "INT")]
    cols += [ColumnInfo(f"c{i}", "INT") for i in range(extra)]
    return tuple(cols)


class _Builder:
    def __init__(self, rng: random.Random, interval_ms: int) -> None:
        self.rng = rng
        self.w = Workload()
        self.now_ms = START_MS
        self.interval_ms = interval_ms
        self.tables: dict[TableName, TableInfo] = {}
        self.rows: State = {}
        self.next_key = 1
        self.renames = 0
        self.schemas = ("db1", "db2")

    def ts(self) -> int:
        before = self.now_ms
        self.now_ms += self.rng.randint(1, 40)
        boundary = (before // self.interval_ms + 1) * self.interval_ms
        if boundary <= self.now_ms:
            self.w.entries.append(SyncPointEvent(make_ts(boundary)))
            self.now_ms = max(self.now_ms, boundary + 1)
        return make_ts(self.now_ms)

    def create(self, name: TableName, version: int, pk: bool, split: int,
               columns: tuple[ColumnInfo, ...] = ()) -> TableInfo:
        info = TableInfo(name, columns or _columns(0, pk), version)
        self.tables[name] = info
        self.rows[name] = {}
        self.w.versions.setdefault(name, []).append((version, info))
        if split > 1:
            self.w.split_counts[table_key(name)] = split
        return info

    def set_version(self, info: TableInfo | None, name: TableName, ts: int) -> None:
        self.w.versions.setdefault(name, []).append((ts, info))
        if info is None:
            del self.tables[name]
            del self.rows[name]
        else:
            self.tables[name] = info

    # -- transactions ---------------------------------------------------------------------------------
    def txn(self) -> None:
        if not self.tables:
            return
        commit_ts = self.ts()
        changes: list[RowChanges] = []
        for name in self.rng.sample(sorted(self.tables), k=min(len(self.tables), self.rng.randint(1, 2))):
            info = self.tables[name]
            rows = self.rows[name]
            touched: set[tuple[Any, ...]] = set()
            for op in self.rng.sample([Op.INSERT, Op.UPDATE, Op.DELETE], k=self.rng.randint(1, 3)):
                batch = self._batch(info, rows, op, touched)
                if batch:
                    changes.append(RowChanges(info, op, commit_ts, batch, seq=len(changes)))
        if changes:
            self.w.entries.append(Txn(commit_ts, tuple(changes)))

    def _batch(
        self, info: TableInfo, rows: dict[tuple[Any, ...], dict[str, Any]], op: Op, touched: set[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        names = info.column_names
        out: list[tuple[Any, ...]] = []
        if op is Op.INSERT:
            for _ in range(self.rng.randint(1, 3)):
                values = (self.next_key, self.rng.randint(0, 999), *([None] * (len(names) - 2)))
                self.next_key += 1
                key = (values[0],)
                rows[key] = dict(zip(names, values, strict=True))
                touched.add(key)
                out.append(values)
            return out
        candidates = [k for k in sorted(rows, key=repr) if k not in touched]
        for key in self.rng.sample(candidates, k=min(len(candidates), self.rng.randint(1, 2))):
            touched.add(key)
            if op is Op.DELETE:
                gone = rows.pop(key)
                out.append(tuple(gone[n] for n in names))
            else:
                rows[key]["v"] = self.rng.randint(0, 999)
                out.append(tuple(rows[key][n] for n in names))
        return out

    # -- DDL ------------------------------------------------------------------------------------------
    def table_ddl(self) -> None:
        if not self.tables:
            return
        name = self.rng.choice(sorted(self.tables))
        info = self.tables[name]
        kind = self.rng.choice(["add", "drop", "truncate", "rename"])
        extra = len(info.columns) - 2
        if kind == "drop" and extra == 0:
            kind = "add"
        t = self.ts()
        pk = bool(info.pk_indexes)
        if kind in ("add", "drop"):
            n = extra + 1 if kind == "add" else extra - 1
            new = TableInfo(name, _columns(n, pk), t)
            col = f"c{extra if kind == 'add' else extra - 1}"
            query = f"ALTER TABLE {name.quoted()} {'ADD' if kind == 'add' else 'DROP'} COLUMN `{col}`"
            ddl_type = ddl_types.ADD_COLUMN if kind == "add" else ddl_types.DROP_COLUMN
            for row in self.rows[name].values():
                if kind == "add":
                    row[col] = None
                else:
                    del row[col]
            self._ddl(DDLEvent(t, query, name.schema, ddl_type, BlockScope.TABLE, (name,), (new,)))
            self.set_version(new, name, t)
        elif kind == "truncate":
            new = info.with_version(t)
            self.rows[name].clear()
            self._ddl(DDLEvent(t, f"TRUNCATE TABLE {name.quoted()}", name.schema, ddl_types.TRUNCATE_TABLE,
                               BlockScope.TABLE, (name,), (new,)))
            self.set_version(new, name, t)
        else:
            self.renames += 1
            to = TableName(name.schema, f"{name.table.split('_r')[0]}_r{self.renames}")
            new = TableInfo(to, info.columns, t)
            self._ddl(DDLEvent(t, f"RENAME TABLE {name.quoted()} TO {to.quoted()}", name.schema,
                               ddl_types.RENAME_TABLE, BlockScope.TABLE, (name,), (new,), (name,)))
            moved = self.rows[name]
            split = self.w.split_counts.get(table_key(name), 1)
            self.set_version(None, name, t)
            self.create(to, t, pk, split, info.columns)
            self.rows[to] = moved

    def create_or_drop(self) -> None:
        t = self.ts()
        if len(self.tables) > 2 and self.rng.random() < 0.5:
            name = self.rng.choice(sorted(self.tables))
            self._ddl(DDLEvent(t, f"DROP TABLE {name.quoted()}", name.schema, ddl_types.DROP_TABLE,
                               BlockScope.TABLE, (name,), (), (name,)))
            self.set_version(None, name, t)
            return
        name = TableName(self.rng.choice(self.schemas), f"n{t % 10_000}")
        if name in self.tables:
            return
        info = TableInfo(name, _columns(0, True), t)
        self._ddl(DDLEvent(t, f"CREATE TABLE {name.quoted()} (`id` INT PRIMARY KEY, `v` INT)", name.schema,
                           ddl_types.CREATE_TABLE, BlockScope.TABLE, (), (info,)))
        self.create(name, t, True, self.rng.choice([1, 2]))

    def database_ddl(self) -> None:
        t = self.ts()
        schema = self.rng.choice(self.schemas)
        self._ddl(DDLEvent(t, f"ALTER DATABASE `{schema}` CHARACTER SET utf8mb4", schema,
                           ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE, BlockScope.DATABASE))

    def _ddl(self, ddl: DDLEvent) -> None:
        self.w.entries.append(ddl)


def generate(rng: random.Random, steps: int = 14) -> Workload:
    """A random workload of about ``steps`` source events over 3-4 tables in two databases (the second
    one's name sometimes has a dot)."""
    b = _Builder(rng, interval_ms=rng.choice([60, 120, 400]))
    b.schemas = ("db1", rng.choice(["db2", "db.2"]))  # a database name with a dot, in span ids too
    b.create(TableName("db1", "orders"), START_TS, True, rng.choice([2, 3, 4]))
    b.create(TableName("db1", "items"), START_TS, True, 1)
    b.create(TableName(b.schemas[1], "logs"), START_TS, False, 2)
    if rng.random() < 0.5:
        b.create(TableName(b.schemas[1], "users"), START_TS, True, 2)
    for _ in range(steps):
        r = rng.random()
        if r < 0.62:
            b.txn()
        elif r < 0.82:
            b.table_ddl()
        elif r < 0.92:
            b.create_or_drop()
        else:
            b.database_ddl()
    b.w.final = {n: {k: dict(v) for k, v in rows.items()} for n, rows in b.rows.items()}
    return b.w
