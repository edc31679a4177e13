"""Replay into the private MariaDB: DDL text executed (CREATE ... SELECT built from columns), DML in batches,
values exact, progress in the target so a restart adds nothing twice, and no password in any message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from storagecdc import ddl_types
from storagecdc.consumer import ConsumerOptions, MySqlApplier, Replayer, open_applier
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.errors import ConsumerError
from storagecdc.model import Op, TableInfo, TableName
from storagecdc.sink.options import SinkOptions
from storagecdc.storage.memory import MemoryStore
from tests.consumer.feed import Feed, col, pk, table, ts
from tests.consumer.test_binlog_end_to_end import FIXTURE, write_with_sink

pytestmark = pytest.mark.mariadb

PASSWORD = "pw-never-printed-7"


def _target(mariadb: MariaDBServer, progress_db: str) -> str:
    mariadb.create_user("consumer", PASSWORD, "ALL PRIVILEGES")
    return mariadb.uri("consumer", PASSWORD) + progress_db


def _select(mariadb: MariaDBServer, db: str, sql: str) -> list[tuple[Any, ...]]:
    return mariadb.execute(sql, database=db)


TYPES = (pk("id", "BIGINT", unsigned=True), col("d", "DECIMAL", length=65, scale=30),
         col("u", "BIGINT", unsigned=True), col("dt", "DATETIME", scale=6), col("ts", "TIMESTAMP", scale=3),
         col("day", "DATE"), col("t", "TIME", scale=6), col("v", "VARCHAR", length=20),
         col("b", "BLOB", charset="binary"),
         col("e", "ENUM", elems=("x", "y")), col("s", "SET", elems=("a", "b")), col("bits", "BIT", length=64))
TYPES_DDL = ("CREATE TABLE types (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(65,30), u BIGINT UNSIGNED, "
             "dt DATETIME(6), ts TIMESTAMP(3) NULL, day DATE, t TIME(6), v VARCHAR(20) CHARACTER SET utf8mb4, "
             "b BLOB, e ENUM('x','y'), s SET('a','b'), bits BIT(64))")
D65 = Decimal("-" + "9" * 35 + "." + "9" * 30)
ROW = (18446744073709551615, D65, 2**64 - 1, dt.datetime(2024, 2, 29, 23, 59, 58, 1),
       dt.datetime(2038, 1, 19, 3, 14, 7, 999000, tzinfo=dt.UTC), dt.date(9999, 12, 31),
       dt.timedelta(hours=-838, minutes=-59, seconds=-59), "𝐀😀'\\", bytes(range(256)), "y", "a,b", 2**64 - 1)
ZERO = (1, Decimal(0), 0, "0000-00-00 00:00:00", None, "0000-00-00", dt.timedelta(microseconds=-1), "", b"",
        "", "", 0)


@pytest.mark.parametrize("protocol", ["csv", "parquet"])
def test_types_and_ddl_replay_into_mariadb(protocol: str, mariadb: MariaDBServer, mariadb_db: str) -> None:
    db = mariadb_db
    store = MemoryStore(f"mysql-{protocol}")
    feed = Feed(store, protocol=protocol, include_commit_ts=True)
    types = feed.create(table("types", *TYPES, schema=db), ts(1), TYPES_DDL)
    feed.rows(types, Op.INSERT, [ROW, ZERO], ts(2))
    t = table("t", pk(), col("a", "VARCHAR", length=10), schema=db)
    v1 = feed.create(t, ts(3), "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
    feed.rows(v1, Op.INSERT, [(1, "a"), (2, "b"), (3, "c")], ts(4))
    v2 = table("t", pk(), col("a", "VARCHAR", length=10), col("n", "INT", default="5", has_default=True), schema=db)
    feed.ddl(ts(5), "ALTER TABLE t ADD COLUMN n INT DEFAULT 5", ddl_types.ADD_COLUMN, schema=db, tables=(t.name,),
             new_tables=(v2,))
    feed.rows(v2.with_version(ts(5)), Op.UPDATE, [(2, "b2", 6), (30, "c", 5)], ts(6),
              before=[(2, "b", 5), (3, "c", 5)], pk_changed=[False, True])
    renamed = TableName(db, "t2")
    feed.ddl(ts(7), "RENAME TABLE t TO t2", ddl_types.RENAME_TABLE, schema=db, tables=(t.name,),
             new_tables=(table("t2", *v2.columns, schema=db),), dropped=(t.name,))
    ctas = table("copy", col("id", "INT"), col("a", "VARCHAR", length=10), schema=db)
    feed.ddl(ts(8), "CREATE TABLE copy SELECT id, a FROM t2", ddl_types.CREATE_TABLE, schema=db,
             new_tables=(table("copy", schema=db),))
    feed.sink.write_table_schema(ctas.with_version(ts(8)))
    feed.rows(ctas.with_version(ts(8)), Op.INSERT, [(1, "a"), (1, "a")], ts(9))
    feed.checkpoint(ts(10))
    target = _target(mariadb, db)
    applier = open_applier(target)
    assert PASSWORD not in applier.display_uri
    stats = Replayer(store, applier, ConsumerOptions(include_commit_ts=True)).run()
    applier.close()
    assert stats.rows == 2 + 3 + 3 + 2  # the key-changing update is a D and an I
    got = _select(mariadb, db, "SELECT id, d, u, dt, ts, day, t, v, b, e, s, CAST(bits AS UNSIGNED) FROM types "
                              "ORDER BY id")
    # pymysql gives a zero DATETIME(6) as the server prints it; Parquet has no zero dates (written as null)
    want_zero = ((*ZERO[:3], "0000-00-00 00:00:00.000000", *ZERO[4:]) if protocol == "csv"
                 else (*ZERO[:3], None, None, None, *ZERO[6:]))
    assert got[0] == want_zero
    assert got[1] == (*ROW[:4], ROW[4].replace(tzinfo=None), *ROW[5:])
    assert _select(mariadb, db, "SELECT id, a, n FROM t2 ORDER BY id") == [(1, "a", 5), (2, "b2", 6), (30, "c", 5)]
    assert _select(mariadb, db, "SELECT id, a FROM copy") == [(1, "a"), (1, "a")]
    assert renamed.table in {r[0] for r in _select(mariadb, db, "SHOW TABLES")}

    # a restart adds nothing; new data after it is applied once
    feed.rows(ctas.with_version(ts(8)), Op.DELETE, [(1, "a")], ts(11))
    feed.checkpoint(ts(12))
    applier = open_applier(target)
    Replayer(store, applier, ConsumerOptions(include_commit_ts=True)).run()
    applier.close()
    assert _select(mariadb, db, "SELECT id, a FROM copy") == [(1, "a")]
    assert _select(mariadb, db, "SELECT id, a, n FROM t2 ORDER BY id") == [(1, "a", 5), (2, "b2", 6), (30, "c", 5)]


def test_bad_credentials_never_print_the_password(mariadb: MariaDBServer) -> None:
    uri = f"mysql://consumer:{PASSWORD}x@127.0.0.1:{mariadb.port}/"
    with pytest.raises(ConsumerError) as info:
        MySqlApplier.from_uri(uri)
    assert PASSWORD not in str(info.value)
    assert "consumer:***@" in str(info.value)


def _normal(info: TableInfo, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A model row as pymysql reads it back (BIT as bytes, FLOAT from its text, TIMESTAMP naive UTC)."""
    out = []
    for c, value in zip(info.columns, row, strict=True):
        v = value
        if v is not None and c.type_name == "BIT":
            v = v.to_bytes(((c.length or 1) + 7) // 8, "big")
        elif v is not None and c.type_name == "FLOAT":
            v = float(f"{v:.7g}")
        elif isinstance(v, dt.datetime) and v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        elif isinstance(v, str) and c.type_name == "DATETIME" and c.scale:
            v = v + "." + "0" * c.scale
        out.append(v)
    return tuple(out)


def test_mariadb_types_binlog_replays_into_mariadb(mariadb: MariaDBServer, binlog_fixtures: Path) -> None:
    """The real binlog's DDL text runs on the target; every table ends as the decoder's stream implies."""
    store = MemoryStore("e2e-mysql")
    model, _ = write_with_sink(binlog_fixtures / FIXTURE, store, SinkOptions(protocol="csv", include_commit_ts=True))
    progress_db = "consume_e2e_progress"
    try:
        applier = open_applier(_target(mariadb, progress_db))
        Replayer(store, applier, ConsumerOptions(include_commit_ts=True)).run()
        applier.close()
        assert {r[0] for r in mariadb.execute("SHOW TABLES", database="fixt")} == {n.table for n in model.tables}
        for name, info in model.tables.items():
            cols = ", ".join(f"`{c.name}`" for c in info.columns)
            got = mariadb.execute(f"SELECT {cols} FROM {name.quoted()}")
            want = [_normal(info, r) for r in model.rows[name]]
            assert sorted(got, key=repr) == sorted(want, key=repr), name
    finally:
        for db in ("fixt", "fixt2", progress_db):
            mariadb.execute(f"DROP DATABASE IF EXISTS `{db}`")


def test_bulk_deletes_and_updates_by_composite_key(mariadb: MariaDBServer, mariadb_db: str) -> None:
    """Deletes go out in chunks of keys, updates that keep the key as whole-row REPLACE batches."""
    db = mariadb_db
    store = MemoryStore("mysql-bulk")
    feed = Feed(store, protocol="parquet")
    info = feed.create(table("c", pk("a", "INT"), pk("b", "VARCHAR", length=8, charset="utf8mb4"),
                             col("v", "INT"), schema=db), ts(1),
                       "CREATE TABLE c (a INT, b VARCHAR(8), v INT, PRIMARY KEY (a, b))")
    rows = [(i, f"k{i % 7}", i) for i in range(2500)]
    feed.rows(info, Op.INSERT, rows, ts(2))
    feed.rows(info, Op.DELETE, rows[:2400], ts(3))
    feed.rows(info, Op.UPDATE, [(r[0], r[1], -r[2]) for r in rows[2400:2450]], ts(4), before=rows[2400:2450])
    feed.checkpoint(ts(5))
    applier = open_applier(_target(mariadb, db))
    Replayer(store, applier, ConsumerOptions()).run()
    applier.close()
    got = _select(mariadb, db, "SELECT a, b, v FROM c ORDER BY a")
    assert got == [(a, b, -v if a < 2450 else v) for a, b, v in rows[2400:]]


def test_hostile_names_replay_into_mariadb(mariadb: MariaDBServer, mariadb_db: str) -> None:
    """Quotes, backticks, spaces and non-ASCII in table and column names (MariaDB identifiers are 3-byte
    UTF-8); the DDL text with them runs."""
    db = mariadb_db
    store = MemoryStore("mysql-hostile")
    feed = Feed(store, protocol="parquet")
    name = 't"1`x 名'
    info = feed.create(table(name, pk('id "q"', "INT"), col("sp ace`s", "VARCHAR", length=10), schema=db), ts(1),
                       'CREATE TABLE `t"1``x 名` (`id "q"` INT PRIMARY KEY, `sp ace``s` VARCHAR(10))')
    feed.rows(info, Op.INSERT, [(1, "x"), (2, "y")], ts(2))
    feed.rows(info, Op.DELETE, [(1, "x")], ts(3))
    feed.checkpoint(ts(4))
    applier = open_applier(_target(mariadb, db))
    Replayer(store, applier, ConsumerOptions()).run()
    applier.close()
    assert _select(mariadb, db, "SELECT * FROM `t\"1``x 名`") == [(2, "y")]
