"""Initial schema from a live MariaDB's information_schema equals the schema tracked from the same DDL."""

from __future__ import annotations

import contextlib

import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.errors import SourceError
from storagecdc.model import TableName
from storagecdc.source.schema import MARIADB, SchemaTracker

DDL = [
    "CREATE TABLE all_types (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, c_tiny TINYINT, "
    "c_tiny_u TINYINT UNSIGNED, c_small SMALLINT DEFAULT -3, c_med MEDIUMINT UNSIGNED ZEROFILL, c_int INT(5), "
    "c_big BIGINT UNSIGNED NOT NULL DEFAULT 18446744073709551615, c_dec DECIMAL(20,6), c_dec_d DECIMAL, "
    "c_float FLOAT, c_double DOUBLE, c_bit BIT(13), c_date DATE, c_time TIME(3), c_dt DATETIME(6) "
    "DEFAULT CURRENT_TIMESTAMP(6), c_ts TIMESTAMP NULL DEFAULT NULL, c_year YEAR, c_char CHAR(10) DEFAULT 'it''s', "
    "c_varchar VARCHAR(255) NOT NULL DEFAULT '', c_vbin VARBINARY(64), c_bin BINARY(4), c_text TEXT, "
    "c_mtext MEDIUMTEXT, c_blob BLOB, c_lblob LONGBLOB, c_enum ENUM('small','medium','large') DEFAULT 'small', "
    "c_set SET('a','b','c'), c_json JSON, c_latin1 VARCHAR(20) CHARACTER SET latin1, "
    "c_bin_coll VARCHAR(5) COLLATE utf8mb4_bin, c_bool BOOLEAN, c_uuid CHAR(36) CHARACTER SET ascii, "
    "c_point POINT, c_geo GEOMETRY, c_gen INT AS (c_int * 2) VIRTUAL, c_stored BIGINT AS (c_int + 1) PERSISTENT, "
    "c_hidden INT INVISIBLE)",
    "CREATE TABLE composite (a INT, b VARCHAR(20), v DECIMAL(10,2), PRIMARY KEY (b, a)) DEFAULT CHARSET=latin1",
    "CREATE TABLE `odd name``s` (`a/b` INT PRIMARY KEY, `c d` TEXT) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE no_pk (x INT, y INT)",
    "ALTER TABLE no_pk ADD COLUMN z VARCHAR(3) FIRST, MODIFY y BIGINT NOT NULL",
    "CREATE VIEW v AS SELECT 1 AS one",
    "CREATE TABLE sv (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
    "CREATE TABLE sv_no_pk (x INT WITH SYSTEM VERSIONING, y INT)",
    "CREATE TABLE sx (id INT PRIMARY KEY, g INT AS (id + 1) STORED, rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START"
    " INVISIBLE, re TIMESTAMP(6) GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME(rs, re)) WITH SYSTEM VERSIONING",
    "CREATE TABLE pe (id INT, s DATE, e DATE, PERIOD FOR p(s, e), PRIMARY KEY (id, p WITHOUT OVERLAPS))",
    "CREATE TABLE fx (u UUID, i6 INET6, i4 INET4, g GEOMETRY REF_SYSTEM_ID=4326,"
    " cz BLOB COMPRESSED, vz VARCHAR(10) COMPRESSED)",
]
"""The workload's tables plus MariaDB's: system-versioned ones (information_schema leaves out the implicit
row_start/row_end), application-time periods, UUID/INET, compressed columns."""


@pytest.mark.mariadb
def test_information_schema_matches_tracked_ddl(mariadb: MariaDBServer, mariadb_db: str) -> None:
    server_charset, server_collation = mariadb.execute("SELECT @@character_set_server, @@collation_server")[0]
    mariadb.execute(f"ALTER DATABASE `{mariadb_db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    for stmt in DDL:
        mariadb.execute(stmt, database=mariadb_db)

    from_ddl = SchemaTracker(flavor=MARIADB, server_charset=server_charset, server_collation=server_collation)
    from_ddl.apply_query(f"CREATE DATABASE `{mariadb_db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                         "", 1)
    for stmt in DDL:
        from_ddl.apply_query(stmt, mariadb_db, 2)

    loaded = SchemaTracker(flavor=MARIADB, start_ts=9)
    with contextlib.closing(mariadb.connect()) as conn:
        loaded.load_from_server(conn, [mariadb_db])

    assert loaded.databases[mariadb_db] == ("utf8mb4", "utf8mb4_unicode_ci")
    tables = ("all_types", "composite", "fx", "no_pk", "odd name`s", "pe", "sv", "sv_no_pk", "sx")
    names = [TableName(mariadb_db, t) for t in tables]
    assert loaded.table_names() == names  # the view is not a table
    for name in names:
        got, want = loaded.table(name), from_ddl.table(name)
        assert got is not None and want is not None
        assert got.version == 9
        assert got.pk_indexes == want.pk_indexes, name
        for g, w in zip(got.columns, want.columns, strict=True):
            assert g == w, f"{name}.{w.name}"


@pytest.mark.mariadb
def test_information_schema_errors_are_wrapped(mariadb: MariaDBServer) -> None:
    tracker = SchemaTracker()
    conn = mariadb.connect()
    conn.close()
    with pytest.raises(SourceError, match="information_schema"):
        tracker.load_from_server(conn, ["x"])
