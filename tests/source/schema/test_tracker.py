"""SchemaTracker: DDL events, table versions, charset inheritance, TABLE_MAP checks, resume state."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc import ddl_types
from storagecdc.errors import SchemaError
from storagecdc.model import BlockScope, TableInfo, TableName
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.schema import MARIADB, SchemaTracker

T = TableName


def tracker(**kw: object) -> SchemaTracker:
    tr = SchemaTracker(start_ts=5, **kw)  # type: ignore[arg-type]
    tr.apply_query("CREATE DATABASE d", "", 10)
    return tr


def cols(tr: SchemaTracker, name: TableName) -> list[tuple[str, str]]:
    info = tr.table(name)
    assert info is not None
    return [(c.name, c.type_name) for c in info.columns]


def test_create_table_event_and_version() -> None:
    tr = tracker()
    ev = tr.apply_query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "d", 100, position="f:4")
    assert ev is not None
    assert (ev.ddl_type, ev.scope, ev.schema, ev.commit_ts) == (ddl_types.CREATE_TABLE, BlockScope.TABLE, "d", 100)
    assert ev.tables == () and ev.dropped == ()
    assert [t.name for t in ev.new_tables] == [T("d", "t")]
    assert ev.new_tables[0].version == 100
    assert ev.creates_or_drops
    info = tr.table(T("d", "t"))
    assert info is not None and info == ev.new_tables[0]
    assert info.pk_indexes == (0,)
    assert info.columns[0].nullable is False
    assert tr.apply_query("CREATE TABLE IF NOT EXISTS t (x INT)", "d", 101) is None
    assert cols(tr, T("d", "t")) == [("id", "INT"), ("v", "VARCHAR")]


def test_charset_inheritance() -> None:
    tr = SchemaTracker(server_charset="latin1")
    tr.apply_query("CREATE DATABASE a", "", 1)
    tr.apply_query("CREATE DATABASE b DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", "", 2)
    tr.apply_query("CREATE TABLE a.t1 (c VARCHAR(3), n INT, bl BLOB)", "", 3)
    tr.apply_query("CREATE TABLE b.t2 (c VARCHAR(3), l TEXT CHARACTER SET latin1, "
                   "x CHAR(2) COLLATE utf8mb4_bin, e ENUM('y') CHARSET ascii)", "", 4)
    tr.apply_query("CREATE TABLE b.t3 (c VARCHAR(3)) DEFAULT CHARSET=utf8", "", 5)
    tr.apply_query("CREATE TABLE b.t4 (c VARCHAR(3), k CHAR(1) BINARY) COLLATE=utf8mb4_bin", "", 6)
    tr.apply_query("CREATE TABLE nodb.t5 (c VARCHAR(3))", "", 7)

    def cs(schema: str, table: str) -> list[tuple[str | None, str | None]]:
        info = tr.table(T(schema, table))
        assert info is not None
        return [(c.charset, c.collation) for c in info.columns]

    assert cs("a", "t1") == [("latin1", "latin1_swedish_ci"), (None, None), ("binary", "binary")]
    assert cs("b", "t2") == [("utf8mb4", "utf8mb4_unicode_ci"), ("latin1", "latin1_swedish_ci"),
                             ("utf8mb4", "utf8mb4_bin"), ("ascii", "ascii_general_ci")]
    assert cs("b", "t3") == [("utf8mb3", "utf8mb3_general_ci")]
    assert cs("b", "t4") == [("utf8mb4", "utf8mb4_bin"), ("utf8mb4", "utf8mb4_bin")]
    assert cs("nodb", "t5") == [("latin1", "latin1_swedish_ci")]
    ev = tr.apply_query("ALTER DATABASE a CHARACTER SET utf8mb4", "", 8)
    assert ev is not None and ev.scope is BlockScope.DATABASE
    assert ev.ddl_type == ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE
    tr.apply_query("CREATE TABLE a.t6 (c VARCHAR(3))", "", 9)
    assert cs("a", "t6") == [("utf8mb4", "utf8mb4_general_ci")]
    assert cs("a", "t1")[0] == ("latin1", "latin1_swedish_ci")  # existing tables keep their charset
    tr.apply_query("ALTER TABLE a.t1 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "", 10)
    assert cs("a", "t1") == [("utf8mb4", "utf8mb4_bin"), (None, None), ("binary", "binary")]
    tr.apply_query("ALTER TABLE a.t1 DEFAULT CHARSET latin1, ADD COLUMN z VARCHAR(1)", "", 11)
    assert cs("a", "t1")[-1] == ("latin1", "latin1_swedish_ci")


def test_mariadb_json_is_longtext() -> None:
    tr = tracker(flavor=MARIADB)
    tr.apply_query("CREATE TABLE t (j JSON)", "d", 20)
    info = tr.table(T("d", "t"))
    assert info is not None
    c = info.columns[0]
    assert (c.type_name, c.charset, c.collation) == ("LONGTEXT", "utf8mb4", "utf8mb4_bin")
    mysql = tracker()
    mysql.apply_query("CREATE TABLE t (j JSON)", "d", 20)
    assert cols(mysql, T("d", "t")) == [("j", "JSON")]


def test_alter_sequence() -> None:
    tr = tracker()
    tr.apply_query("CREATE TABLE t (a INT, b INT, c INT)", "d", 20)
    ev = tr.apply_query("ALTER TABLE t ADD COLUMN x INT AFTER a", "d", 21)
    assert ev is not None and ev.ddl_type == ddl_types.ADD_COLUMN
    assert ev.tables == (T("d", "t"),) and not ev.creates_or_drops
    assert ev.new_tables[0].version == 21
    assert cols(tr, T("d", "t")) == [("a", "INT"), ("x", "INT"), ("b", "INT"), ("c", "INT")]
    ev = tr.apply_query("ALTER TABLE t ADD y INT FIRST, DROP COLUMN b", "d", 22)
    assert ev is not None and ev.ddl_type == ddl_types.MULTI_SCHEMA_CHANGE
    assert [n for n, _ in cols(tr, T("d", "t"))] == ["y", "a", "x", "c"]
    ev = tr.apply_query("ALTER TABLE t MODIFY c BIGINT NOT NULL FIRST", "d", 23)
    assert ev is not None and ev.ddl_type == ddl_types.MODIFY_COLUMN
    assert cols(tr, T("d", "t"))[0] == ("c", "BIGINT")
    tr.apply_query("ALTER TABLE t CHANGE x x2 VARCHAR(5) AFTER y", "d", 24)
    assert [n for n, _ in cols(tr, T("d", "t"))] == ["c", "y", "x2", "a"]
    tr.apply_query("ALTER TABLE t CHANGE COLUMN a a DECIMAL(5,2)", "d", 25)
    assert cols(tr, T("d", "t"))[-1] == ("a", "DECIMAL")
    tr.apply_query("ALTER TABLE t RENAME COLUMN y TO Y2", "d", 26)
    tr.apply_query("ALTER TABLE t ADD (p INT, q INT)", "d", 27)
    assert [n for n, _ in cols(tr, T("d", "t"))] == ["c", "Y2", "x2", "a", "p", "q"]
    ev = tr.apply_query("ALTER TABLE t ADD PRIMARY KEY (c, x2)", "d", 28)
    assert ev is not None and ev.ddl_type == ddl_types.ADD_PRIMARY_KEY
    info = tr.table(T("d", "t"))
    assert info is not None and info.pk_indexes == (0, 2) and info.columns[2].nullable is False
    ev = tr.apply_query("ALTER TABLE t DROP PRIMARY KEY", "d", 29)
    assert ev is not None and ev.ddl_type == ddl_types.DROP_PRIMARY_KEY
    info = tr.table(T("d", "t"))
    assert info is not None and info.pk_indexes == ()
    ev = tr.apply_query("ALTER TABLE t ALTER COLUMN p SET DEFAULT 5", "d", 30)
    assert ev is not None and ev.ddl_type == ddl_types.SET_DEFAULT_VALUE
    info = tr.table(T("d", "t"))
    assert info is not None and (info.columns[4].default, info.columns[4].has_default) == ("5", True)
    tr.apply_query("ALTER TABLE t ALTER COLUMN p DROP DEFAULT", "d", 31)
    info = tr.table(T("d", "t"))
    assert info is not None and info.columns[4].has_default is False
    for q, kind in [("ALTER TABLE t ENGINE=InnoDB", 0), ("ALTER TABLE t ADD INDEX i (p)", ddl_types.ADD_INDEX),
                    ("ALTER TABLE t DROP INDEX i", ddl_types.DROP_INDEX),
                    ("ALTER TABLE t ADD INDEX i2 (q), ALGORITHM=INPLACE", ddl_types.ADD_INDEX),
                    ("CREATE INDEX i3 ON t (q)", ddl_types.ADD_INDEX), ("DROP INDEX i3 ON t", ddl_types.DROP_INDEX)]:
        ev = tr.apply_query(q, "d", 40)
        assert ev is not None and ev.ddl_type == kind, q
        assert ev.new_tables[0].columns == info.columns
    info = tr.table(T("d", "t"))
    assert info is not None and info.version == 40


def test_alter_errors_name_table_and_position() -> None:
    tr = tracker()
    tr.apply_query("CREATE TABLE t (a INT)", "d", 20)
    with pytest.raises(SchemaError, match=r"at bin\.000001:99.*d\.t.*'nope'"):
        tr.apply_query("ALTER TABLE t DROP COLUMN nope", "d", 21, position="bin.000001:99")
    with pytest.raises(SchemaError, match="no default database"):
        tr.apply_query("CREATE TABLE x (a INT)", "", 22)


def test_drop_truncate_rename() -> None:
    tr = tracker()
    for name in ("a", "b", "c"):
        tr.apply_query(f"CREATE TABLE {name} (id INT, {name}_col INT)", "d", 20)
    a_id = tr.table(T("d", "a")).table_id  # type: ignore[union-attr]
    ev = tr.apply_query("TRUNCATE TABLE a", "d", 21)
    assert ev is not None and ev.ddl_type == ddl_types.TRUNCATE_TABLE
    assert ev.tables == (T("d", "a"),) and ev.new_tables[0].version == 21
    assert ev.new_tables[0].table_id != a_id
    assert not ev.creates_or_drops
    ev = tr.apply_query("RENAME TABLE a TO tmp, b TO a, tmp TO b", "d", 22)
    assert ev is not None and ev.ddl_type == ddl_types.RENAME_TABLES
    assert ev.tables == (T("d", "a"), T("d", "b")) and ev.dropped == ()
    assert {t.name for t in ev.new_tables} == {T("d", "a"), T("d", "b")}
    assert cols(tr, T("d", "a"))[1] == ("b_col", "INT")
    assert cols(tr, T("d", "b"))[1] == ("a_col", "INT")
    assert tr.table(T("d", "tmp")) is None
    tr.apply_query("CREATE DATABASE e", "", 23)
    ev = tr.apply_query("RENAME TABLE d.c TO e.c2", "x", 24)
    assert ev is not None and ev.ddl_type == ddl_types.RENAME_TABLE
    assert ev.tables == (T("d", "c"),) and ev.dropped == (T("d", "c"),)
    assert ev.new_tables[0].name == T("e", "c2") and ev.new_tables[0].version == 24
    ev = tr.apply_query("ALTER TABLE e.c2 RENAME TO d.c3", "", 25)
    assert ev is not None and ev.ddl_type == ddl_types.RENAME_TABLE and ev.dropped == (T("e", "c2"),)
    assert cols(tr, T("d", "c3"))[1] == ("c_col", "INT")
    ev = tr.apply_query("DROP TABLE IF EXISTS a, b, `nothere` /* generated by server */", "d", 26)
    assert ev is not None and ev.ddl_type == ddl_types.DROP_TABLE
    assert ev.dropped == (T("d", "a"), T("d", "b"), T("d", "nothere"))
    assert tr.table(T("d", "a")) is None
    assert tr.apply_query("DROP TEMPORARY TABLE IF EXISTS tt", "d", 27) is None
    assert tr.apply_query("CREATE TEMPORARY TABLE tt (a INT)", "d", 28) is None
    assert tr.table(T("d", "tt")) is None


def test_databases() -> None:
    tr = tracker()
    ev = tr.apply_query("CREATE DATABASE IF NOT EXISTS x", "", 20)
    assert ev is not None and (ev.ddl_type, ev.scope, ev.schema) == (ddl_types.CREATE_SCHEMA,
                                                                     BlockScope.DATABASE, "x")
    assert tr.apply_query("CREATE DATABASE IF NOT EXISTS x", "", 21) is None
    tr.apply_query("CREATE TABLE x.t1 (a INT)", "", 22)
    tr.apply_query("CREATE TABLE x.t2 (a INT)", "", 23)
    ev = tr.apply_query("DROP DATABASE x", "", 24)
    assert ev is not None and (ev.ddl_type, ev.scope) == (ddl_types.DROP_SCHEMA, BlockScope.DATABASE)
    assert ev.dropped == (T("x", "t1"), T("x", "t2"))
    assert tr.table_names("x") == []


def test_create_like() -> None:
    tr = tracker()
    tr.apply_query("CREATE TABLE src (id INT PRIMARY KEY, v VARCHAR(3) CHARACTER SET latin1)", "d", 20)
    ev = tr.apply_query("CREATE TABLE copy LIKE src", "d", 21)
    assert ev is not None and ev.new_tables[0].name == T("d", "copy")
    src, copy = tr.table(T("d", "src")), tr.table(T("d", "copy"))
    assert src is not None and copy is not None
    assert copy.columns == src.columns and copy.version == 21 and copy.table_id != src.table_id
    with pytest.raises(SchemaError, match="unknown"):
        tr.apply_query("CREATE TABLE c2 LIKE missing", "d", 22)


def _map(schema: str, table: str, names: tuple[str, ...] | None, table_id: int = 7) -> TableMap:
    return TableMap(
        table_id=table_id, schema=schema, table=table,
        column_types=(ft.LONGLONG, ft.VARCHAR, ft.NEWDECIMAL, ft.DATETIME2, ft.BLOB, ft.BLOB, ft.ENUM,
                      ft.STRING, ft.GEOMETRY, ft.LONG),
        column_metas=(0, 92, (10 << 8) | 2, 6, 4, 2, 1, 4, 4, 0),
        nullable=(False, True, True, True, True, True, True, True, True, True),
        unsigned=(True, False, False, False, False, False, False, False, False, False),
        collations=(None, 45, None, None, 46, 63, 8, 63, None, None),
        column_names=names,
        elems=(None, None, None, None, None, None, ("x", "y"), None, None, None),
        geometry_types=(None, None, None, None, None, None, None, None, 1, None),
        primary_key=(0,),
        visible=(True,) * 9 + (False,),
    )


NAMES = ("id", "s", "amount", "ts", "j", "b", "e", "bin", "pt", "hidden")


def test_learn_from_table_map() -> None:
    tr = tracker()
    info = tr.on_table_map(_map("d", "t", NAMES), 50, position="bin.1:100")
    assert info.version == 5  # the tracker's start_ts: the table existed before the stream
    got = [(c.name, c.type_name, c.unsigned, c.length, c.scale, c.charset) for c in info.columns]
    assert got == [
        ("id", "BIGINT", True, 20, None, None),
        ("s", "VARCHAR", False, 23, None, "utf8mb4"),
        ("amount", "DECIMAL", False, 10, 2, None),
        ("ts", "DATETIME", False, None, 6, None),
        ("j", "LONGTEXT", False, None, None, "utf8mb4"),
        ("b", "BLOB", False, None, None, "binary"),
        ("e", "ENUM", False, None, None, "latin1"),
        ("bin", "BINARY", False, 4, None, "binary"),
        ("pt", "POINT", False, None, None, "binary"),
        ("hidden", "INT", False, 11, None, None),
    ]
    assert info.pk_indexes == (0,) and info.columns[0].nullable is False
    assert info.columns[6].elems == ("x", "y")
    assert info.columns[9].invisible and info.columns[4].collation == "utf8mb4_bin"
    assert tr.table(T("d", "t")) == info
    assert tr.on_table_map(_map("d", "t", None), 51) is info  # checked by count only now
    tr.apply_query("ALTER TABLE t ADD COLUMN extra INT", "d", 60)  # learned tables follow DDL too
    assert tr.table(T("d", "t")).column_names[-1] == "extra"  # type: ignore[union-attr]


def test_table_map_mismatches() -> None:
    tr = tracker()
    tr.apply_query("CREATE TABLE t (id INT)", "d", 20)
    with pytest.raises(SchemaError, match=r"d\.t at bin\.1:400.*10 columns.*has 1"):
        tr.on_table_map(_map("d", "t", None), 30, position="bin.1:400")
    tr.apply_query("DROP TABLE t", "d", 31)
    tr.apply_query("CREATE TABLE t (" + ", ".join(f"c{i} INT" for i in range(10)) + ")", "d", 32)
    with pytest.raises(SchemaError, match=r"d\.t at bin\.1:500.*differ"):
        tr.on_table_map(_map("d", "t", NAMES), 33, position="bin.1:500")
    with pytest.raises(SchemaError, match=r"d\.unknown at bin\.1:600.*unknown"):
        tr.on_table_map(_map("d", "unknown", None, table_id=9), 34, position="bin.1:600")


def test_create_table_select_learns_from_next_table_map() -> None:
    tr = tracker()
    ev = tr.apply_query("CREATE TABLE t AS SELECT 1 AS id", "d", 70)
    assert ev is not None and ev.ddl_type == ddl_types.CREATE_TABLE
    assert ev.new_tables[0].columns == ()
    info = tr.on_table_map(_map("d", "t", NAMES), 70)
    assert info.version == 70 and info.column_names == NAMES
    assert tr.table(T("d", "t")) == info
    tr.apply_query("CREATE TABLE u SELECT 1 AS id", "d", 80)
    with pytest.raises(SchemaError, match=r"d\.u at bin:9"):
        tr.on_table_map(_map("d", "u", None, table_id=8), 80, position="bin:9")


def test_ignore_ddl_patterns() -> None:
    tr = tracker(ignore_ddl=[r"^ALTER TABLE \w+ FROBNICATE"])
    assert tr.apply_query("ALTER TABLE t FROBNICATE everything", "d", 20, position="b:1") is None
    long_query = "CREATE TABLE t (a " + "x" * 500 + ")"
    with pytest.raises(SchemaError) as err:
        tr.apply_query(long_query, "d", 21, position="b:2")
    message = str(err.value)
    assert "at b:2" in message and "CREATE TABLE t (a xxx" in message and len(message) < 400


def test_json_round_trip() -> None:
    tr = tracker(flavor=MARIADB, server_charset="latin1", ignore_ddl=["x"])
    tr.apply_query("CREATE DATABASE u CHARACTER SET utf8mb4", "", 11)
    tr.apply_query("CREATE TABLE u.t (id INT UNSIGNED PRIMARY KEY, e ENUM('a','b') DEFAULT 'a', "
                   "g INT AS (id) VIRTUAL, h INT INVISIBLE, j JSON)", "", 12)
    tr.apply_query("CREATE TABLE d.p AS SELECT 1", "", 13)
    tr.on_table_map(_map("d", "learned", NAMES), 14)
    text = tr.to_json()
    back = SchemaTracker.from_json(text, ignore_ddl=["x"])
    assert back.to_json() == text
    assert back.tables == tr.tables and back.databases == tr.databases
    assert (back.flavor, back.start_ts, back.next_table_id, back.server_charset) == (
        tr.flavor, tr.start_ts, tr.next_table_id, tr.server_charset)
    with pytest.raises(SchemaError):
        SchemaTracker.from_json("{}")
    with pytest.raises(SchemaError):
        SchemaTracker.from_json("not json")


def test_load_sql_file(tmp_path: Path, binlog_fixtures: Path) -> None:
    tr = SchemaTracker(start_ts=77)
    tr.load_sql_file(binlog_fixtures / "zalora_binlog-parser" / "test_db.sql")
    names = tr.table_names("test_db")
    assert T("test_db", "buildings") in names
    info = tr.table(T("test_db", "buildings"))
    assert isinstance(info, TableInfo) and info.version == 77
    assert [(c.name, c.type_name, c.length) for c in info.columns] == [
        ("building_no", "INT", 11), ("building_name", "VARCHAR", 255), ("address", "VARCHAR", 355)]
    assert info.columns[1].charset == "utf8mb3" and info.pk_indexes == (0,)
    dump = tmp_path / "dump.sql"
    dump.write_text(
        "-- dump\nCREATE DATABASE `x;y`;\nUSE `x;y`;\n/*!40101 SET NAMES utf8 */;\n"
        "CREATE TABLE `a` (\n  `v` varchar(5) DEFAULT 'a;b' -- c;\n) ENGINE=InnoDB;\n"
        "DELIMITER ;;\nCREATE TRIGGER tr BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.v = 'x'; END ;;\n"
        "DELIMITER ;\nCREATE TABLE b (id int);\n"
    )
    tr.load_sql_file(dump)
    assert cols(tr, T("x;y", "a")) == [("v", "VARCHAR")]
    assert tr.table(T("x;y", "a")).columns[0].default == "a;b"  # type: ignore[union-attr]
    assert cols(tr, T("x;y", "b")) == [("id", "INT")]
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE d.ok (a INT);\n\nCREATE TABLE d.bad (a WHATEVER);\n")
    with pytest.raises(SchemaError, match=r"bad\.sql:3"):
        tr.load_sql_file(bad)
    with pytest.raises(SchemaError, match="cannot read"):
        tr.load_sql_file(tmp_path / "missing.sql")


def test_stream_started_mid_history() -> None:
    """DDL on tables the tracker never saw: events still name them; columns come from TABLE_MAP later."""
    tr = tracker()
    ev = tr.apply_query("ALTER TABLE old ADD COLUMN x INT", "d", 20)
    assert ev is not None and ev.tables == (T("d", "old"),) and ev.new_tables == ()
    assert tr.table(T("d", "old")) is None
    ev = tr.apply_query("TRUNCATE TABLE old", "d", 21)
    assert ev is not None and ev.tables == (T("d", "old"),) and ev.new_tables == ()
    ev = tr.apply_query("RENAME TABLE old TO newer", "d", 22)
    assert ev is not None and ev.tables == (T("d", "old"),) and ev.dropped == (T("d", "old"),)
    ev = tr.apply_query("ALTER TABLE old2 RENAME TO newer2", "d", 23)
    assert ev is not None and ev.dropped == (T("d", "old2"),)
    info = tr.on_table_map(_map("d", "newer", NAMES), 24)
    assert info.column_names == NAMES and info.version == 5


def test_column_if_exists_and_replace() -> None:
    tr = tracker()
    tr.apply_query("CREATE TABLE t (a INT)", "d", 20)
    tr.apply_query("ALTER TABLE t ADD COLUMN IF NOT EXISTS a BIGINT, DROP COLUMN IF EXISTS zz", "d", 21)
    assert cols(tr, T("d", "t")) == [("a", "INT")]
    with pytest.raises(SchemaError, match="already has a column"):
        tr.apply_query("ALTER TABLE t ADD COLUMN a BIGINT", "d", 22)
    ev = tr.apply_query("CREATE OR REPLACE TABLE t (b TEXT)", "d", 23)
    assert ev is not None and ev.ddl_type == ddl_types.CREATE_TABLE
    assert cols(tr, T("d", "t")) == [("b", "TEXT")]
    ev = tr.apply_query("CREATE TABLE ctas (a INT) START TRANSACTION", "d", 24)  # MySQL 8 atomic CTAS
    assert ev is not None and cols(tr, T("d", "ctas")) == [("a", "INT")]
    with pytest.raises(SchemaError, match="unknown character set 'nope'"):
        tr.apply_query("CREATE TABLE bad (a VARCHAR(3) CHARACTER SET nope)", "d", 25)


def test_ignore_ddl_only_for_unparseable() -> None:
    tr = tracker(ignore_ddl=[".*"])
    ev = tr.apply_query("CREATE TABLE t (a INT)", "d", 20)
    assert ev is not None  # parseable DDL is never ignored
    with pytest.raises(SchemaError, match="no column"):
        tr.apply_query("ALTER TABLE t DROP COLUMN nope", "d", 21)  # parsed, but wrong for the state


def test_server_collation_from_query_event() -> None:
    tr = SchemaTracker(server_charset="utf8mb4")
    tr.apply_query("CREATE DATABASE a", "", 1, server_collation_id=8)  # latin1_swedish_ci
    tr.apply_query("CREATE TABLE a.t (c CHAR(1))", "", 2)
    info = tr.table(T("a", "t"))
    assert info is not None and (info.columns[0].charset, info.columns[0].collation) == (
        "latin1", "latin1_swedish_ci")
    assert tr.server_charset == ("latin1", "latin1_swedish_ci")


def test_sequences_are_remembered_and_pass_as_no_ddl() -> None:
    tracker = SchemaTracker(flavor="mariadb")
    assert tracker.apply_query("CREATE SEQUENCE IF NOT EXISTS `s q` START WITH 10", "db", 5) is None
    assert tracker.apply_query("CREATE OR REPLACE SEQUENCE other.s2", "db", 6) is None
    assert tracker.sequences == {TableName("db", "s q"), TableName("other", "s2")}
    restored = SchemaTracker.from_json(tracker.to_json())
    assert restored.sequences == tracker.sequences
    assert tracker.apply_query("DROP SEQUENCE IF EXISTS `s q`, other.s2", "db", 7) is None
    assert not tracker.sequences
