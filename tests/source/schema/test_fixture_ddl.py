"""The real DDL in the binlog fixtures: every QUERY statement is understood, and replaying it gives, at every
row event, the columns the server itself logged (checked against mariadb-binlog's decoded output)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.source.schema import MARIADB, MYSQL, SchemaTracker, parse_ddl
from storagecdc.source.schema.charsets import max_bytes_per_char
from storagecdc.source.schema.glotparse import parse_with_sqlglot
from storagecdc.source.schema.lexer import tokenize
from storagecdc.source.schema.loader import split_sql
from storagecdc.source.schema.parse import parse_tokens, statement_kind

from .binlog_queries import Query, read_queries

QUERY_FILES = [
    "alibaba_canal/mysql-bin.000001", "alibaba_canal/tsdb/mysql-bin.000002",
    "alibaba_canal/tsdb/mysql-bin.000003", "apecloud_mysql-binlog-connector-rust/mysql-bin.000080",
    "blackbeam_rust_mysql_common/binlog-invisible-columns.000001",
    "blackbeam_rust_mysql_common/binlog_56_gtid_reserved_word.000001",
    "blackbeam_rust_mysql_common/bug27213339-bin.000001", "blackbeam_rust_mysql_common/json.binlog.000001",
    "blackbeam_rust_mysql_common/json-opaque.binlog", "blackbeam_rust_mysql_common/mysql-enum-string-set.000001",
    "blackbeam_rust_mysql_common/rpl_unfiltered_hidden_gcol.000001", "blackbeam_rust_mysql_common/vector.binlog",
    "blackbeam_rust_mysql_common/ver_trunk_row_v2.001",
    "mariadb/mariadb-10.11-types.000001", "mariadb/mariadb-10.11-minimal-nometa.000012",
    "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010", "osheroff/mysql-bin.checksum-none",
    "osheroff/mysql-bin.sakila.gz", "zalora_binlog-parser/mysql-bin.02", "zalora_binlog-parser/mysql-bin.05",
    "zalora_binlog-parser/mysql-bin.06", "zalora_binlog-parser/mysql-bin.07",
]
SQL_FILES = ["mariadb/mariadb-10.11-types.sql", "mariadb/mariadb-10.11-small.sql", "go-mysql-org_go-mysql/ddsql.sql",
             "zalora_binlog-parser/test_db.sql"]


def _replay(tr: SchemaTracker, queries: list[Query]) -> None:
    for q in queries:
        tr.apply_query(q.text, q.db, q.timestamp << 18, position=f"{q.file}:{q.offset}")


@pytest.mark.parametrize("name", QUERY_FILES)
def test_every_fixture_query_is_understood(binlog_fixtures: Path, name: str) -> None:
    """Each statement parses (or is passed over); sqlglot and the hand parser agree; replay succeeds."""
    queries = list(read_queries(binlog_fixtures / name))
    assert queries
    for q in queries:
        parse_ddl(q.text)
        tokens = tokenize(q.text)
        if statement_kind(tokens) == "table" and (via_glot := parse_with_sqlglot(q.text)) is not None:
            assert via_glot == parse_tokens(tokens), q.text
    _replay(SchemaTracker(flavor=MARIADB if "mariadb" in name else MYSQL), queries)


@pytest.mark.parametrize("name", SQL_FILES)
def test_every_fixture_sql_statement_is_understood(binlog_fixtures: Path, name: str) -> None:
    text = (binlog_fixtures / name).read_text()
    statements = [s for _, s in split_sql(text)]
    assert statements
    for stmt in statements:
        parse_ddl(stmt)
    SchemaTracker().load_sql_file(binlog_fixtures / name, schema="test")


def test_types_sql_replay_final_columns(binlog_fixtures: Path) -> None:
    """All the DDL of mariadb-10.11-types.sql, replayed: the final tables and their columns."""
    tr = SchemaTracker(flavor=MARIADB, server_charset="latin1")
    tr.load_sql_file(binlog_fixtures / "mariadb" / "mariadb-10.11-types.sql")
    assert tr.table_names() == [TableName("fixt", n) for n in ("all_types", "t_big", "t_composite_renamed",
                                                              "t_myisam")]
    info = tr.table(TableName("fixt", "all_types"))
    assert info is not None
    got = [(c.name, c.type_name, c.unsigned, c.length, c.scale) for c in info.columns]
    assert got == [
        ("id", "INT", True, 10, None), ("c_tiny", "TINYINT", False, 4, None),
        ("c_added", "INT", False, 11, None), ("c_tiny_u", "TINYINT", True, 3, None),
        ("c_small", "BIGINT", False, 20, None), ("c_small_u", "SMALLINT", True, 5, None),
        ("c_med_u", "MEDIUMINT", True, 8, None), ("c_int", "INT", False, 11, None),
        ("c_int_u", "INT", True, 10, None), ("c_big", "BIGINT", False, 20, None),
        ("c_big_u", "BIGINT", True, 20, None), ("c_dec", "DECIMAL", False, 20, 6),
        ("c_dec_small", "DECIMAL", True, 5, 2), ("c_float", "FLOAT", False, None, None),
        ("c_double", "DOUBLE", False, None, None), ("c_bit1", "BIT", False, 1, None),
        ("c_bit", "BIT", False, 13, None), ("c_date", "DATE", False, None, None),
        ("c_time", "TIME", False, None, 0), ("c_time3", "TIME", False, None, 3),
        ("c_dt", "DATETIME", False, None, 0), ("c_dt6", "DATETIME", False, None, 6),
        ("c_ts", "TIMESTAMP", False, None, 0), ("c_ts6", "TIMESTAMP", False, None, 6),
        ("c_year", "YEAR", False, 4, None), ("c_char", "CHAR", False, 10, None),
        ("c_varchar", "VARCHAR", False, 255, None), ("c_vbin", "VARBINARY", False, 64, None),
        ("c_bin", "BINARY", False, 4, None), ("c_text", "TEXT", False, None, None),
        ("c_mtext", "MEDIUMTEXT", False, None, None), ("c_blob", "BLOB", False, None, None),
        ("c_lblob", "LONGBLOB", False, None, None), ("c_enum", "ENUM", False, None, None),
        ("c_set", "SET", False, None, None), ("c_json", "LONGTEXT", False, None, None),
        ("c_latin1", "VARCHAR", False, 20, None), ("c_bool", "TINYINT", False, 1, None),
        ("c_uuid_like", "CHAR", False, 36, None),
    ]
    by_name = {c.name: c for c in info.columns}
    assert info.pk_indexes == (0,)
    assert (by_name["c_added"].nullable, by_name["c_added"].default) == (False, "7")
    assert by_name["c_varchar"].collation == "utf8mb4_unicode_ci"
    assert by_name["c_latin1"].charset == "latin1" and by_name["c_uuid_like"].charset == "ascii"
    assert by_name["c_json"].collation == "utf8mb4_bin"
    assert by_name["c_enum"].elems == ("small", "medium", "large")
    assert by_name["c_set"].elems == ("a", "b", "c", "d")
    composite = tr.table(TableName("fixt", "t_composite_renamed"))
    assert composite is not None and composite.pk_indexes == (0, 1)
    big = tr.table(TableName("fixt", "t_big"))  # CREATE ... AS SELECT: learned from the next TABLE_MAP
    assert big is not None and big.columns == ()


def test_alibaba_tsdb_history(binlog_fixtures: Path) -> None:
    """Two consecutive files of one server: tables created in the first, altered in the second."""
    tr = SchemaTracker(server_charset="utf8")
    for name in ("mysql-bin.000002", "mysql-bin.000003"):
        _replay(tr, list(read_queries(binlog_fixtures / "alibaba_canal" / "tsdb" / name)))
    test = tr.table(TableName("wanshao", "wanshao_test"))
    assert test is not None and test.column_names == ("id", "name", "age", "col2", "col1")
    assert tr.table(TableName("local", "wanshao_test")) is None
    exc = tr.table(TableName("local", "exception"))
    assert exc is not None
    exp_str = next(c for c in exc.columns if c.name == "exp_str")
    assert (exp_str.type_name, exp_str.nullable, exp_str.charset) == ("LONGTEXT", False, "utf8mb3")


def test_go_mysql_decimals(binlog_fixtures: Path) -> None:
    tr = SchemaTracker()
    tr.apply_query("CREATE DATABASE test", "", 1)
    for _, stmt in split_sql((binlog_fixtures / "go-mysql-org_go-mysql" / "ddsql.sql").read_text()):
        tr.apply_query(stmt, "test", 2)
    info = tr.table(TableName("test", "decodedecimal"))
    assert info is not None
    decimals = [(c.length, c.scale) for c in info.columns if c.type_name == "DECIMAL"]
    assert decimals == [(4, 2), (5, 0), (7, 3), (10, 2), (10, 3), (13, 2), (15, 14), (20, 10), (30, 5),
                        (30, 20), (30, 25)]


# ---- the tracked schema at every row event, against mariadb-binlog's own decoding ---------------------------

_AT = re.compile(r"^# at (\d+)$")
_ROW_HEAD = re.compile(r"^### (?:INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")
_COLUMN = re.compile(r"^###   @(\d+)=.* /\* (\S+(?: bytes?\))?) meta=(\d+) nullable=(\d) is_null=\d \*/$")
_FAMILY = {"TINYINT": "TINYINT", "SHORTINT": "SMALLINT", "MEDIUMINT": "MEDIUMINT", "INT": "INT",
           "LONGINT": "BIGINT", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "DATE": "DATE", "YEAR": "YEAR"}


Image = dict[int, tuple[str, int, bool]]
"""Column position (0-based) -> (type annotation, meta, nullable); MINIMAL images leave some out."""


def _decoded_images(path: Path) -> list[tuple[int, TableName, Image]]:
    """(rows event offset, table, columns) for the first row image of each rows event."""
    opener = gzip.open if path.suffix == ".gz" else open
    images: list[tuple[int, TableName, Image]] = []
    offset = 0
    current: Image | None = None
    seen: set[int] = set()
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for raw_line in fh:
            line = raw_line.rstrip("\n")
            if m := _AT.match(line):
                offset = int(m.group(1))
                current = None
            elif m := _ROW_HEAD.match(line):
                current = None
                if offset not in seen:
                    seen.add(offset)
                    current = {}
                    table = TableName(m.group(1).replace("``", "`"), m.group(2).replace("``", "`"))
                    images.append((offset, table, current))
            elif line in ("### SET", "### WHERE") and current:
                current = None  # the first image of the event is enough
            elif current is not None and (m := _COLUMN.match(line)):
                current[int(m.group(1)) - 1] = (m.group(2), int(m.group(3)), m.group(4) == "1")
    return images


def _check_column(col: ColumnInfo, annot: str, meta: int, nullable: bool, where: str) -> None:
    assert col.nullable == nullable, where
    base = annot.split("(", 1)[0]
    args = [int(x) for x in re.findall(r"\d+", annot)]
    if base in _FAMILY:
        assert col.type_name == _FAMILY[base], where
    elif base == "DECIMAL":
        assert (col.type_name, col.length, col.scale) == ("DECIMAL", args[0], args[1]), where
    elif base == "BIT":
        assert (col.type_name, col.length) == ("BIT", args[0]), where
    elif base in ("TIME", "DATETIME", "TIMESTAMP"):
        assert (col.type_name, col.scale) == (base, args[0]), where
    elif base in ("STRING", "VARSTRING"):
        binary = col.charset == "binary"
        names = ("BINARY", "CHAR") if base == "STRING" else ("VARBINARY", "VARCHAR")
        assert col.type_name == names[0 if binary else 1], where
        assert col.length is not None
        assert col.length * (1 if binary else max_bytes_per_char(col.charset or "")) == args[0], where
    elif base in ("ENUM", "SET"):
        assert col.type_name == base and col.elems, where
    elif "BLOB" in base:
        prefix = {1: "TINY", 2: "", 3: "MEDIUM", 4: "LONG"}[meta]
        assert col.type_name in (prefix + "BLOB", prefix + "TEXT"), where
    else:
        raise AssertionError(f"unexpected annotation {annot!r} at {where}")


@pytest.mark.parametrize("name", ["mariadb-10.11-types.000001", "mariadb-10.11-minimal-nometa.000012",
                                  "mariadb-10.11-sysbench-oltp_write_only.000010"])
def test_tracked_schema_at_every_row_event(binlog_fixtures: Path, name: str) -> None:
    """Replaying the file's DDL in binlog order, every row image has exactly the tracked columns' types,
    lengths and nullability (sysbench's tables were created before the file: a schema file gives them)."""
    binlog = binlog_fixtures / "mariadb" / name
    decoded = binlog.parent / (name + ".decoded.txt")
    if not decoded.exists():
        decoded = binlog.parent / (name + ".decoded.txt.gz")
    tr = SchemaTracker(flavor=MARIADB, server_charset="latin1")  # the fixture server's default
    if "types" not in name:  # its database was made by the types run, before this file: initial schema
        tr.apply_query("CREATE DATABASE fixt CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", "", 0)
    queries = {q.offset: q for q in read_queries(binlog)}
    images = _decoded_images(decoded)
    assert images
    events: list[tuple[int, Query | tuple[TableName, Image]]] = [
        *queries.items(), *((off, (table, cols)) for off, table, cols in images)
    ]
    checked = 0
    for offset, item in sorted(events, key=lambda e: e[0]):
        if isinstance(item, Query):
            tr.apply_query(item.text, item.db, item.timestamp << 18, position=f"{name}:{offset}")
            continue
        table, columns = item
        info: TableInfo | None = tr.table(table)
        if info is None or not info.columns:
            continue  # created before the file (sysbench) or by CREATE ... SELECT
        if "minimal" not in name:
            assert len(info.columns) == len(columns), f"{table} at {offset}"
        for i, (annot, meta, nullable) in columns.items():
            col = info.columns[i]
            _check_column(col, annot, meta, nullable, f"{table}.{col.name} at {name}:{offset}")
        checked += 1
    assert checked > 0
