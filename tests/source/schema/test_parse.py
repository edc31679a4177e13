"""DDL parsing: every statement form, pass-over statements, hostile identifiers and comments.

Every statement that sqlglot reads is also read by the hand parser, and the two must agree exactly.
"""

from __future__ import annotations

import pytest

from storagecdc import ddl_types
from storagecdc.errors import SchemaError
from storagecdc.source.schema import is_dml, parse_ddl
from storagecdc.source.schema.glotparse import parse_with_sqlglot
from storagecdc.source.schema.lexer import tokenize
from storagecdc.source.schema.parse import parse_tokens
from storagecdc.source.schema.statements import (
    AddColumn,
    AddPrimaryKey,
    AlterDatabase,
    AlterTable,
    ChangeColumn,
    ConvertCharset,
    CreateDatabase,
    CreateTable,
    DropColumn,
    DropDatabase,
    DropPrimaryKey,
    DropTables,
    IndexChange,
    OtherAlter,
    Position,
    RenameColumn,
    RenameTables,
    RenameTo,
    SetDefault,
    SetOptions,
    Statement,
    TableOptions,
    TableRef,
    TruncateTable,
)


def parse(query: str) -> Statement | None:
    """parse_ddl, checking that sqlglot (when it reads the statement) and the hand parser agree."""
    stmt = parse_ddl(query)
    via_glot = parse_with_sqlglot(query)
    if via_glot is not None:
        assert via_glot == parse_tokens(tokenize(query)), query
    return stmt


def alter(query: str) -> tuple[object, ...]:
    stmt = parse(query)
    assert isinstance(stmt, AlterTable)
    return stmt.actions


# ---- CREATE TABLE -------------------------------------------------------------------------------------


def test_create_table_columns_and_options() -> None:
    stmt = parse(
        "CREATE TABLE `shop`.`t` (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, "
        "name VARCHAR(255) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL DEFAULT 'it''s', "
        "price DECIMAL(18,4) DEFAULT -1.5, d DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE "
        "CURRENT_TIMESTAMP(6), n INT NULL DEFAULT NULL, flag BOOLEAN DEFAULT TRUE, "
        "e ENUM('a','b') NOT NULL DEFAULT 'a' COMMENT 'an enum', PRIMARY KEY (`id`), KEY k (name(10)), "
        "UNIQUE KEY u (e, n), CONSTRAINT fk FOREIGN KEY (n) REFERENCES o (id) ON DELETE CASCADE) "
        "ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='x'"
    )
    assert isinstance(stmt, CreateTable)
    assert stmt.table == TableRef("shop", "t")
    assert stmt.primary_key == ("id",)
    assert stmt.options == TableOptions("utf8mb4", "utf8mb4_unicode_ci")
    cols = {c.name: c for c in stmt.columns}
    assert list(cols) == ["id", "name", "price", "d", "n", "flag", "e"]
    assert cols["id"].primary and cols["id"].nullable is False and cols["id"].type.unsigned
    assert (cols["name"].type.charset, cols["name"].type.collation) == ("latin1", "latin1_bin")
    assert (cols["name"].default, cols["name"].has_default) == ("it's", True)
    assert cols["price"].default == "-1.5"
    assert cols["d"].default == "CURRENT_TIMESTAMP(6)"
    assert (cols["n"].default, cols["n"].has_default, cols["n"].nullable) == (None, True, True)
    assert cols["flag"].default == "1"
    assert cols["e"].type.elems == ("a", "b")


def test_create_table_inline_pk_generated_invisible_serial() -> None:
    stmt = parse(
        "CREATE TABLE t (id INT PRIMARY KEY, g INT AS (id * 2) VIRTUAL, s INT GENERATED ALWAYS AS (id + 1) "
        "STORED NOT NULL, h INT INVISIBLE, x SERIAL, p POINT NOT NULL SRID 4326, v VECTOR(4), "
        "j JSON CHECK (json_valid(j)), ts TIMESTAMP NOT NULL DEFAULT NOW(), u VARCHAR(36) DEFAULT (uuid()))"
    )
    assert isinstance(stmt, CreateTable)
    cols = {c.name: c for c in stmt.columns}
    assert cols["id"].primary
    assert cols["g"].generated and cols["s"].generated and cols["s"].nullable is False
    assert cols["h"].invisible
    assert cols["x"].type.type_name == "BIGINT" and cols["x"].nullable is False
    assert cols["p"].type.type_name == "POINT"
    assert cols["v"].type.length == 4
    assert cols["ts"].default == "CURRENT_TIMESTAMP"
    assert cols["u"].default == "uuid()"


def test_create_table_key_shorthand_and_defaults() -> None:
    stmt = parse("CREATE TABLE t (a INT KEY, b BIT(3) DEFAULT b'101', c BINARY(2) DEFAULT x'00ff', "
                 "d VARCHAR(3) DEFAULT _utf8mb4'hi', e DOUBLE DEFAULT +2)")
    assert isinstance(stmt, CreateTable)
    defaults = [c.default for c in stmt.columns]
    assert stmt.columns[0].primary
    assert defaults == [None, "b'101'", "x'00ff'", "hi", "2"]


def test_create_table_variants() -> None:
    like = parse("CREATE TABLE IF NOT EXISTS a.t2 LIKE a.t1")
    assert isinstance(like, CreateTable)
    assert (like.like, like.if_not_exists) == (TableRef("a", "t1"), True)
    paren_like = parse("CREATE TABLE t2 (LIKE t1)")
    assert isinstance(paren_like, CreateTable) and paren_like.like == TableRef(None, "t1")
    for q in ("CREATE TABLE t AS SELECT 1 AS a", "CREATE TABLE t SELECT * FROM u",
              "CREATE TABLE t (a INT) ENGINE=InnoDB SELECT a FROM u", "CREATE TABLE t IGNORE SELECT * FROM u",
              "CREATE TABLE t (SELECT 1)"):
        stmt = parse(q)
        assert isinstance(stmt, CreateTable) and stmt.as_select, q
    temp = parse("CREATE TEMPORARY TABLE tmp (a INT)")
    assert isinstance(temp, CreateTable) and temp.temporary
    replace = parse("CREATE OR REPLACE TABLE t (a INT)")
    assert isinstance(replace, CreateTable) and replace.columns[0].name == "a"
    part = parse("CREATE TABLE t (a INT) PARTITION BY HASH (a) PARTITIONS 4")
    assert isinstance(part, CreateTable) and not part.as_select


# ---- DROP / TRUNCATE / RENAME ---------------------------------------------------------------------------


def test_drop_truncate_rename() -> None:
    assert parse("DROP TABLE IF EXISTS a, `b`.`c` /* generated by server */") == DropTables(
        (TableRef(None, "a"), TableRef("b", "c"))
    )
    assert parse("DROP TEMPORARY TABLE IF EXISTS t") == DropTables((TableRef(None, "t"),), temporary=True)
    assert parse("TRUNCATE TABLE d.t") == TruncateTable(TableRef("d", "t"))
    assert parse("TRUNCATE t") == TruncateTable(TableRef(None, "t"))
    assert parse("RENAME TABLE a TO b, x.c TO y.d") == RenameTables(
        ((TableRef(None, "a"), TableRef(None, "b")), (TableRef("x", "c"), TableRef("y", "d")))
    )
    assert parse("RENAME TABLE IF EXISTS a NOWAIT TO b") == RenameTables(
        ((TableRef(None, "a"), TableRef(None, "b")),)
    )


# ---- ALTER TABLE ------------------------------------------------------------------------------------------


def test_alter_add_forms() -> None:
    a = alter("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER b")
    assert isinstance(a[0], AddColumn) and a[0].position == Position("b")
    assert a[0].column.default == "7"
    first = alter("ALTER TABLE t ADD c INT FIRST")
    assert isinstance(first[0], AddColumn) and first[0].position == Position(None)
    many = alter("ALTER TABLE t ADD COLUMN (a INT, b VARCHAR(3))")
    assert [x.column.name for x in many if isinstance(x, AddColumn)] == ["a", "b"]
    ine = alter("ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT")
    assert isinstance(ine[0], AddColumn)


def test_alter_drop_modify_change_rename() -> None:
    actions = alter(
        "ALTER TABLE t DROP COLUMN a, DROP b, MODIFY c BIGINT NOT NULL FIRST, MODIFY COLUMN d TEXT, "
        "CHANGE e f VARCHAR(3) AFTER c, CHANGE COLUMN g g INT, RENAME COLUMN h TO i"
    )
    assert actions[0] == DropColumn("a")
    assert actions[1] == DropColumn("b")
    assert isinstance(actions[2], ChangeColumn) and actions[2].old_name == "c"
    assert actions[2].position == Position(None) and actions[2].column.nullable is False
    assert isinstance(actions[3], ChangeColumn) and actions[3].column.type.type_name == "TEXT"
    assert isinstance(actions[4], ChangeColumn)
    assert (actions[4].old_name, actions[4].column.name, actions[4].position) == ("e", "f", Position("c"))
    assert isinstance(actions[5], ChangeColumn) and actions[5].column.name == "g"
    assert actions[6] == RenameColumn("h", "i")


def test_alter_keys_and_defaults() -> None:
    actions = alter(
        "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (a, b), ADD INDEX i (c), ADD KEY (d), "
        "ADD UNIQUE KEY u (e), ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES o (id), DROP INDEX i, "
        "DROP KEY k, DROP FOREIGN KEY fk, ALTER COLUMN a SET DEFAULT 3, ALTER COLUMN b DROP DEFAULT, "
        "ADD FULLTEXT INDEX ft (c), ADD CONSTRAINT pk PRIMARY KEY (a)"
    )
    assert actions[0] == DropPrimaryKey()
    assert actions[1] == AddPrimaryKey(("a", "b"))
    assert actions[2:5] == (IndexChange(ddl_types.ADD_INDEX),) * 3
    assert actions[5] == IndexChange(ddl_types.ADD_FOREIGN_KEY)
    assert actions[6:8] == (IndexChange(ddl_types.DROP_INDEX),) * 2
    assert actions[8] == IndexChange(ddl_types.DROP_FOREIGN_KEY)
    assert actions[9] == SetDefault("a", "3")
    assert actions[10] == SetDefault("b", None, drop=True)
    assert actions[11] == IndexChange(ddl_types.ADD_INDEX)
    assert actions[12] == AddPrimaryKey(("a",))


def test_alter_rename_convert_options() -> None:
    assert alter("ALTER TABLE a RENAME TO b.c") == (RenameTo(TableRef("b", "c")),)
    assert alter("ALTER TABLE a RENAME AS c") == (RenameTo(TableRef(None, "c")),)
    assert alter("ALTER TABLE a RENAME c") == (RenameTo(TableRef(None, "c")),)
    assert alter("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin") == (
        ConvertCharset(TableOptions("utf8mb4", "utf8mb4_bin")),
    )
    assert alter("ALTER TABLE t DEFAULT CHARSET=latin1") == (SetOptions(TableOptions("latin1")),)
    assert alter("ALTER TABLE t ENGINE=InnoDB") == (OtherAlter(0),)
    assert alter("ALTER TABLE t ENGINE InnoDB, ALGORITHM=INPLACE, LOCK=NONE") == (OtherAlter(0),) * 3
    assert alter("ALTER TABLE t COMMENT = 'hello'") == (OtherAlter(ddl_types.MODIFY_TABLE_COMMENT),)
    assert alter("ALTER TABLE t AUTO_INCREMENT=100") == (OtherAlter(ddl_types.REBASE_AUTO_ID),)
    assert alter("ALTER TABLE t FORCE") == (OtherAlter(0),)
    assert alter("ALTER ONLINE IGNORE TABLE t ADD INDEX (a)") == (IndexChange(ddl_types.ADD_INDEX),)


def test_index_statements() -> None:
    assert parse("CREATE INDEX k_1 ON sbtest1(k)") == AlterTable(
        TableRef(None, "sbtest1"), (IndexChange(ddl_types.ADD_INDEX),)
    )
    assert parse("CREATE UNIQUE INDEX u USING BTREE ON d.t (a, b DESC)") == AlterTable(
        TableRef("d", "t"), (IndexChange(ddl_types.ADD_INDEX),)
    )
    assert parse("DROP INDEX k ON t") == AlterTable(TableRef(None, "t"), (IndexChange(ddl_types.DROP_INDEX),))


# ---- databases ----------------------------------------------------------------------------------------------


def test_database_statements() -> None:
    assert parse("CREATE DATABASE fixt CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci") == CreateDatabase(
        "fixt", TableOptions("utf8mb4", "utf8mb4_unicode_ci")
    )
    assert parse("CREATE SCHEMA IF NOT EXISTS s DEFAULT CHARSET=latin1") == CreateDatabase(
        "s", TableOptions("latin1"), if_not_exists=True
    )
    assert parse("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `test_db` /*!40100 DEFAULT CHARACTER SET utf8 */") == (
        CreateDatabase("test_db", TableOptions("utf8"), if_not_exists=True)
    )
    assert parse("DROP DATABASE IF EXISTS fixt2") == DropDatabase("fixt2")
    assert parse("DROP SCHEMA s") == DropDatabase("s")
    assert parse("ALTER DATABASE d CHARACTER SET latin1") == AlterDatabase("d", TableOptions("latin1"))
    assert parse("ALTER SCHEMA DEFAULT COLLATE utf8mb4_bin") == AlterDatabase(
        None, TableOptions(collation="utf8mb4_bin")
    )


# ---- statements that change no table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT sp1", "ROLLBACK TO SAVEPOINT sp1", "XA START 'x'",
        "XA COMMIT 'x'", "CREATE USER 'u'@'%' IDENTIFIED BY 'secret'", "DROP USER u", "ALTER USER u ACCOUNT LOCK",
        "GRANT SELECT ON *.* TO 'u'@'%'", "REVOKE ALL ON d.* FROM u", "SET PASSWORD FOR u = PASSWORD('x')",
        "CREATE VIEW v AS SELECT 1", "CREATE OR REPLACE ALGORITHM=MERGE DEFINER=`root`@`localhost` SQL SECURITY "
        "DEFINER VIEW v AS SELECT * FROM t", "DROP VIEW IF EXISTS v",
        "CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        "DROP TRIGGER tr", "CREATE PROCEDURE p() BEGIN CREATE TABLE x (a INT); END", "DROP PROCEDURE p",
        "CREATE FUNCTION f() RETURNS INT RETURN 1", "DROP FUNCTION IF EXISTS f",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t", "ALTER EVENT e DISABLE", "DROP EVENT e",
        "ANALYZE TABLE t", "OPTIMIZE TABLE t", "FLUSH TABLES", "FLUSH PRIVILEGES",
        "INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "DELETE FROM t", "REPLACE INTO t VALUES (1)",
        "# Dummy event replacing event type 160 that slave cannot handle.", "/* only a comment */",
        "-- nothing\n", "", "   ;", "CREATE ROLE r", "DROP SEQUENCE s", "RENAME USER a TO b",
        "SET NAMES utf8mb4",
        "/*!40101 SET NAMES utf8 */", "LOCK TABLES t WRITE", "UNLOCK TABLES",
    ],
)
def test_passed_over(query: str) -> None:
    assert parse(query) is None


def test_dml_recognised() -> None:
    assert is_dml("INSERT INTO t VALUES (1)")
    assert is_dml("  update t set a=1")
    assert is_dml("/* c */ DELETE FROM t")
    assert not is_dml("CREATE TABLE t (a INT)")
    assert not is_dml("BEGIN")


@pytest.mark.parametrize(
    "query",
    ["FROBNICATE TABLE t", "CREATE TABLE t (a NOSUCHTYPE)", "ALTER TABLE t ADD COLUMN", "CREATE TABLE",
     "CREATE TABLE t (a INT", "ALTER TABLE t MODIFY a INT BOGUS", "CREATE TABLE t (a INT) garbage here",
     "DROP TABLE 'unterminated"],
)
def test_unparseable(query: str) -> None:
    with pytest.raises(SchemaError):
        parse_ddl(query)


# ---- identifiers and comments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "name"),
    [("`a/b`", "a/b"), ("`..`", ".."), ("`with space`", "with space"), ("`back``tick`", "back`tick"),
     ("`日本`", "日本"), ("`select`", "select"), ("`t;x`", "t;x"), ("`a.b`", "a.b"), ("`--x`", "--x"),
     ("`/*x*/`", "/*x*/"), ("`'q'`", "'q'"), ("`$x`", "$x"), ("status", "status")],
)
def test_hostile_identifiers(written: str, name: str) -> None:
    stmt = parse(f"CREATE TABLE {written}.{written} ({written} INT PRIMARY KEY, `c``2` VARCHAR(3))")
    assert isinstance(stmt, CreateTable)
    assert stmt.table == TableRef(name, name)
    assert [c.name for c in stmt.columns] == [name, "c`2"]
    assert stmt.columns[0].primary
    dropped = parse(f"ALTER TABLE {written}.{written} DROP COLUMN {written}")
    assert dropped == AlterTable(TableRef(name, name), (DropColumn(name),))
    renamed = parse(f"RENAME TABLE {written}.{written} TO {written}.`new`")
    assert renamed == RenameTables(((TableRef(name, name), TableRef(name, "new")),))


def test_comments_everywhere() -> None:
    stmt = parse(
        "/* lead */ CREATE /* mid */ TABLE t -- line comment\n (a INT /* c */ NOT NULL, # hash comment\n"
        " b /*!50001 BIGINT */ UNSIGNED) /*!40101 ENGINE=InnoDB DEFAULT CHARSET=latin1 */ /* generated by server */"
    )
    assert isinstance(stmt, CreateTable)
    assert [(c.name, c.type.type_name, c.type.unsigned) for c in stmt.columns] == [
        ("a", "INT", False), ("b", "BIGINT", True)
    ]
    assert stmt.options.charset == "latin1"
    maria = parse("/*M!100100 ALTER TABLE t ADD COLUMN x INT */")
    assert isinstance(maria, AlterTable) and isinstance(maria.actions[0], AddColumn)
    quoted = parse("CREATE TABLE t (a VARCHAR(9) DEFAULT '/* not a comment */ -- nor this')")
    assert isinstance(quoted, CreateTable) and quoted.columns[0].default == "/* not a comment */ -- nor this"
