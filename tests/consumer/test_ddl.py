"""DDL replay into SQLite: ALTER keeps rows, TRUNCATE, DROP/CREATE of a name, DROP DATABASE, RENAME chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc import ddl_types
from storagecdc.consumer import ConsumerOptions, DdlStep, Progress, Replayer, SqliteApplier
from storagecdc.consumer.ddl import plan_ddl
from storagecdc.model import BlockScope, Op, TableName
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.schema_file import schema_file_for_table
from tests.consumer.feed import Feed, col, consume, pk, table, ts

T = table("t", pk(), col("a", "VARCHAR", length=10))


def test_alter_add_and_drop_column_keeps_rows_by_name(tmp_path: Path) -> None:
    store = MemoryStore("alter")
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    v1 = feed.create(T, ts(1))
    feed.rows(v1, Op.INSERT, [(1, "x"), (2, "y")], ts(2))
    added = table("t", pk(), col("a", "VARCHAR", length=10), col("b", "INT", nullable=False, default="5",
                                                                    has_default=True))
    feed.ddl(ts(3), "ALTER TABLE t ADD b INT NOT NULL DEFAULT 5", ddl_types.ADD_COLUMN, tables=(T.name,),
             new_tables=(added,))
    v2 = added.with_version(ts(3))
    feed.rows(v2, Op.INSERT, [(3, "z", 7)], ts(4))
    dropped = table("t", pk(), col("b", "INT", nullable=False, default="5", has_default=True))
    feed.ddl(ts(5), "ALTER TABLE t DROP a", ddl_types.DROP_COLUMN, tables=(T.name,), new_tables=(dropped,))
    v3 = dropped.with_version(ts(5))
    feed.rows(v3, Op.UPDATE, [(2, 9)], ts(6), before=[(2, 5)])
    feed.checkpoint(ts(7))
    applier, _ = consume(store, tmp_path / "t.db", include_commit_ts=True)
    assert applier.rows(v3) == [(1, 5), (2, 9), (3, 7)]


def test_truncate_then_new_rows(tmp_path: Path) -> None:
    store = MemoryStore("truncate")
    feed = Feed(store, protocol="parquet")
    v1 = feed.create(T, ts(1))
    feed.rows(v1, Op.INSERT, [(1, "x"), (2, "y")], ts(2))
    feed.ddl(ts(3), "TRUNCATE TABLE t", ddl_types.TRUNCATE_TABLE, tables=(T.name,), new_tables=(T,))
    feed.rows(T.with_version(ts(3)), Op.INSERT, [(2, "new")], ts(4))
    feed.checkpoint(ts(5))
    applier, _ = consume(store, tmp_path / "t.db")
    assert applier.rows(T) == [(2, "new")]


@pytest.mark.parametrize("rounds", [[9], [3, 9], [2, 4, 6, 9]])
def test_drop_and_create_the_same_name(rounds: list[int], tmp_path: Path) -> None:
    """Old versions' rows never come back, whichever rounds the consumer sees."""
    store = MemoryStore("dropcreate")
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    opts = ConsumerOptions(include_commit_ts=True)
    applier = SqliteApplier(tmp_path / "t.db")
    replayer = Replayer(store, applier, opts)
    steps = iter(rounds)
    nxt = next(steps)

    def at(n: int) -> None:
        nonlocal nxt
        if n == nxt:
            feed.checkpoint(ts(n))
            replayer.run()
            nxt = next(steps, -1)

    v1 = feed.create(T, ts(1))
    feed.rows(v1, Op.INSERT, [(1, "old"), (2, "old")], ts(2))
    at(2)
    feed.ddl(ts(3), "DROP TABLE t", ddl_types.DROP_TABLE, tables=(T.name,), dropped=(T.name,))
    at(3)
    other = table("t", pk(), col("n", "BIGINT"))
    v2 = feed.create(other, ts(4))
    at(4)
    feed.rows(v2, Op.INSERT, [(2, 20)], ts(5))
    at(6)
    feed.rows(v2, Op.INSERT, [(3, 30)], ts(7))
    at(9)
    assert applier.rows(v2) == [(2, 20), (3, 30)]


def test_drop_database_drops_its_tables_only(tmp_path: Path) -> None:
    store = MemoryStore("dropdb")
    feed = Feed(store, protocol="csv")
    feed.ddl(ts(1), "CREATE DATABASE gone", ddl_types.CREATE_SCHEMA, schema="gone", scope=BlockScope.DATABASE)
    g1 = feed.create(table("g1", pk(), schema="gone"), ts(2))
    g2 = feed.create(table("g2", pk(), schema="gone"), ts(3))
    kept = feed.create(table("k", pk(), schema="kept"), ts(4))
    for info in (g1, g2, kept):
        feed.rows(info, Op.INSERT, [(1,)], ts(5))
    feed.checkpoint(ts(6))
    applier, replayer = consume(store, tmp_path / "t.db")
    assert applier.tables() == ["gone.g1", "gone.g2", "kept.k"]
    feed.ddl(ts(7), "DROP DATABASE gone", ddl_types.DROP_SCHEMA, schema="gone", scope=BlockScope.DATABASE,
             tables=(g1.name, g2.name), dropped=(g1.name, g2.name))
    feed.ddl(ts(8), "CREATE DATABASE gone", ddl_types.CREATE_SCHEMA, schema="gone", scope=BlockScope.DATABASE)
    again = feed.create(table("g1", pk(), col("x", "INT"), schema="gone"), ts(9))
    feed.rows(again, Op.INSERT, [(5, 6)], ts(10))
    feed.checkpoint(ts(11))
    replayer.run()
    assert applier.tables() == ["gone.g1", "kept.k"]
    assert applier.rows(again) == [(5, 6)]


A, B, C = (TableName("db", n) for n in "abc")
COLS = (pk(), col("v", "INT"))


def _rename(feed: Feed, at: int, old: TableName, new: TableName) -> None:
    feed.ddl(at, f"RENAME TABLE `{old.table}` TO `{new.table}`", ddl_types.RENAME_TABLE, tables=(old,),
             new_tables=(table(new.table, *COLS),), dropped=(old,))


@pytest.mark.parametrize("checkpoints", [[4, 40], [4, 15, 40], [4, 25, 40], [12, 22, 32, 40], [40]])
@pytest.mark.parametrize("restart", [False, True])
def test_rename_chain_across_rounds(checkpoints: list[int], restart: bool, tmp_path: Path) -> None:
    """ticdc#4430: a RENAME chain a -> b -> a -> c with DML of every name between the renames, consumed over
    rounds that cut the chain anywhere. Rows written to ``a`` before the first RENAME but seen only in a
    later round (after the consumer has seen ``a``'s later versions listed) must still be applied first;
    deciding staleness from the newest DDL of a name before replaying the round would drop them, and
    applying a round's DDL before its older DML would send them to a table that no longer exists."""
    store = MemoryStore("renames")
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    opts = ConsumerOptions(include_commit_ts=True)
    applier = SqliteApplier(tmp_path / "t.db")
    replayer = Replayer(store, applier, opts)
    pending = list(checkpoints)

    def at(n: int) -> None:
        nonlocal applier, replayer
        while pending and pending[0] <= n:
            feed.checkpoint(ts(pending.pop(0)))
            if restart:
                applier.close()
                applier = SqliteApplier(tmp_path / "t.db")
                replayer = Replayer(store, applier, opts)
            replayer.run()

    a1 = feed.create(table("a", *COLS), ts(1))
    feed.rows(a1, Op.INSERT, [(1, 1), (2, 2)], ts(2))
    feed.flush()
    at(4)
    feed.rows(a1, Op.INSERT, [(3, 3)], ts(5))
    feed.rows(a1, Op.UPDATE, [(1, 10)], ts(6), before=[(1, 1)])
    at(9)
    _rename(feed, ts(10), A, B)
    b = table("b", *COLS, version=ts(10))
    feed.rows(b, Op.INSERT, [(4, 4)], ts(11))
    feed.rows(b, Op.DELETE, [(2, 2)], ts(12))
    at(19)
    _rename(feed, ts(20), B, A)
    a2 = table("a", *COLS, version=ts(20))
    feed.rows(a2, Op.UPDATE, [(3, 30)], ts(21), before=[(3, 3)])
    at(29)
    _rename(feed, ts(30), A, C)
    c = table("c", *COLS, version=ts(30))
    feed.rows(c, Op.INSERT, [(5, 5)], ts(31))
    at(40)
    assert applier.tables() == ["db.c"]
    assert applier.rows(c) == [(1, 10), (3, 30), (4, 4), (5, 5)]


def test_rename_swap_moves_rows(tmp_path: Path) -> None:
    store = MemoryStore("swap")
    feed = Feed(store, protocol="parquet")
    ta = feed.create(table("a", pk(), col("from_a", "INT")), ts(1))
    tb = feed.create(table("b", pk(), col("from_b", "INT")), ts(2))
    feed.rows(ta, Op.INSERT, [(1, 100)], ts(3))
    feed.rows(tb, Op.INSERT, [(2, 200)], ts(4))
    feed.ddl(ts(5), "RENAME TABLE a TO tmp, b TO a, tmp TO b", ddl_types.RENAME_TABLES, tables=(A, B),
             new_tables=(table("a", pk(), col("from_b", "INT")), table("b", pk(), col("from_a", "INT"))))
    feed.checkpoint(ts(6))
    applier, _ = consume(store, tmp_path / "t.db")
    assert applier.rows(table("a", pk(), col("from_b", "INT"))) == [(2, 200)]
    assert applier.rows(table("b", pk(), col("from_a", "INT"))) == [(1, 100)]


def test_table_from_a_dml_path_schema_file(tmp_path: Path) -> None:
    """A table that existed at the changefeed's start has only a schema file with no query."""
    store = MemoryStore("start")
    feed = Feed(store, protocol="canal-json")
    start = T.with_version(ts(0))
    feed.sink.write_table_schema(start)
    feed.rows(start, Op.INSERT, [(1, "a")], ts(1))
    feed.checkpoint(ts(2))
    applier, _ = consume(store, tmp_path / "t.db")
    assert applier.rows(start) == [(1, "a")]


def test_create_select_takes_its_columns_from_the_dml_path_schema_file() -> None:
    """CREATE ... SELECT writes a schema file without columns; the DML path writes the columns at the same
    version. Whatever order their keys sort in, the statement is the DDL's and the table gets the columns."""
    info = table("copy", col("id", "INT"), version=ts(5))
    ctas = schema_file_for_table(table("copy", version=ts(5)), "CREATE TABLE copy SELECT id FROM t",
                                 ddl_types.CREATE_TABLE)
    dml = schema_file_for_table(info)
    for files in ((ctas, dml), (dml, ctas)):
        change = plan_ddl(DdlStep(ts(5), files), Progress())
        assert change.query == "CREATE TABLE copy SELECT id FROM t" and change.create_select
        assert [t.new.column_names for t in change.tables] == [("id",)]
        assert change.dropped == ()
