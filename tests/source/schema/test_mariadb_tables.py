"""MariaDB table features the tracker must model as the server stores them: system versioning (implicit and
declared period columns, ADD/DROP SYSTEM VERSIONING), application-time periods, REF_SYSTEM_ID, and the
fixed-size binary types UUID/INET6/INET4. Facts checked against information_schema of MariaDB 10.11/11."""

from __future__ import annotations

import pytest

from storagecdc import ddl_types
from storagecdc.errors import SchemaError
from storagecdc.model import TableName
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.schema import MARIADB, SchemaTracker
from storagecdc.source.schema.parse import parse_ddl
from storagecdc.source.schema.statements import AlterTable, CreateTable, SystemVersioning

T = TableName("d", "t")


def tracker(*queries: str) -> SchemaTracker:
    tr = SchemaTracker(flavor=MARIADB)
    tr.apply_query("CREATE DATABASE d", "", 1)
    for k, q in enumerate(queries):
        tr.apply_query(q, "d", 10 + k)
    return tr


def facts(tr: SchemaTracker) -> list[tuple[str, str, int | None, bool, bool, bool, bool]]:
    """(name, type, scale, nullable, pk, invisible, generated) of every column of d.t."""
    info = tr.table(T)
    assert info is not None
    return [(c.name, c.type_name, c.scale, c.nullable, c.is_pk, c.invisible, c.generated) for c in info.columns]


IMPLICIT = [
    ("row_start", "TIMESTAMP", 6, False, False, True, True),
    ("row_end", "TIMESTAMP", 6, False, True, True, True),
]


def test_with_system_versioning_adds_invisible_period_columns() -> None:
    tr = tracker("CREATE TABLE t (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING")
    assert facts(tr) == [("id", "INT", None, False, True, False, False), ("v", "INT", None, True, False, False, False),
                         *IMPLICIT]  # fmt: skip
    info = tr.table(T)
    assert info is not None and info.pk_indexes == (0, 3)  # the server appends row_end to the key


def test_versioned_table_without_key_keeps_no_key() -> None:
    tr = tracker("CREATE TABLE t (id INT, v INT WITHOUT SYSTEM VERSIONING) WITH SYSTEM VERSIONING")
    assert [f[:5] for f in facts(tr)[2:]] == [("row_start", "TIMESTAMP", 6, False, False),
                                               ("row_end", "TIMESTAMP", 6, False, False)]  # fmt: skip


def test_column_level_with_system_versioning_versions_the_table() -> None:
    tr = tracker("CREATE TABLE t (x INT WITH SYSTEM VERSIONING, y INT)")
    assert [f[0] for f in facts(tr)] == ["x", "y", "row_start", "row_end"]


def test_declared_period_columns_are_not_duplicated() -> None:
    tr = tracker(
        "CREATE TABLE t (id INT PRIMARY KEY, rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,"
        " re TIMESTAMP(6) AS ROW END, PERIOD FOR SYSTEM_TIME(rs, re)) WITH SYSTEM VERSIONING"
    )
    assert facts(tr) == [("id", "INT", None, False, True, False, False),
                         ("rs", "TIMESTAMP", 6, False, False, True, True),
                         ("re", "TIMESTAMP", 6, False, True, False, True)]  # fmt: skip


def test_alter_add_and_drop_system_versioning() -> None:
    tr = tracker("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
    ev = tr.apply_query("ALTER TABLE t ADD SYSTEM VERSIONING", "d", 20)
    assert ev is not None and ev.ddl_type == ddl_types.ADD_COLUMN
    assert facts(tr)[2:] == IMPLICIT
    with pytest.raises(SchemaError, match="already system-versioned"):
        tr.apply_query("ALTER TABLE t ADD SYSTEM VERSIONING", "d", 21)
    ev = tr.apply_query("ALTER TABLE t DROP SYSTEM VERSIONING", "d", 22)
    assert ev is not None and ev.ddl_type == ddl_types.DROP_COLUMN
    assert [f[0] for f in facts(tr)] == ["id", "v"]


def test_alter_adds_declared_period_columns() -> None:
    query = ("ALTER TABLE t ADD COLUMN rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START, ADD COLUMN re TIMESTAMP(6)"
             " GENERATED ALWAYS AS ROW END, ADD PERIOD FOR SYSTEM_TIME(rs, re), ADD SYSTEM VERSIONING")
    stmt = parse_ddl(query)
    assert isinstance(stmt, AlterTable) and stmt.actions[-1] == SystemVersioning(add=True, row_end="re")
    tr = tracker("CREATE TABLE t (id INT PRIMARY KEY)", query)
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", False, True), ("rs", False, False), ("re", False, True)]
    tr.apply_query("ALTER TABLE t DROP SYSTEM VERSIONING, DROP PERIOD FOR SYSTEM_TIME, DROP rs, DROP re", "d", 30)
    assert [f[0] for f in facts(tr)] == ["id"]


def test_application_time_period_makes_bounds_not_null_and_keyed() -> None:
    tr = tracker("CREATE TABLE t (id INT, s DATE, e DATE, x DATE, PERIOD FOR p(s, e),"
                 " PRIMARY KEY (id, p WITHOUT OVERLAPS))")
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", False, True), ("s", False, True), ("e", False, True),
                                                        ("x", True, False)]  # fmt: skip
    tr = tracker("CREATE TABLE t (id INT PRIMARY KEY, s DATE, e DATE, PERIOD FOR p(s, e))")
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", False, True), ("s", False, False), ("e", False, False)]


def test_ref_system_id_is_read_and_ignored() -> None:
    stmt = parse_ddl("CREATE TABLE t (id INT PRIMARY KEY, g GEOMETRY REF_SYSTEM_ID=4326 NOT NULL, p POINT"
                     " REF_SYSTEM_ID = 0)")
    assert isinstance(stmt, CreateTable)
    assert [(c.name, c.type.type_name, c.nullable) for c in stmt.columns] == [
        ("id", "INT", False), ("g", "GEOMETRY", False), ("p", "POINT", None)]  # fmt: skip


def test_uuid_and_inet_are_binary() -> None:
    tr = tracker("CREATE TABLE t (u UUID, i6 INET6, i4 INET4)")
    info = tr.table(T)
    assert info is not None
    assert [(c.type_name, c.charset, c.is_binary) for c in info.columns] == [
        ("UUID", "binary", True), ("INET6", "binary", True), ("INET4", "binary", True)]  # fmt: skip


def test_compressed_columns_learned_from_table_map() -> None:
    tm = TableMap(
        table_id=9, schema="d", table="t",
        column_types=(ft.LONG, ft.BLOB_COMPRESSED, ft.BLOB_COMPRESSED, ft.VARCHAR_COMPRESSED, ft.VARCHAR_COMPRESSED),
        column_metas=(0, 2, 4, 400, 30), nullable=(False, True, True, True, True),
        collations=(None, 8, 63, 45, 63), column_names=("id", "t", "lb", "v", "vb"),
    )  # fmt: skip
    info = tracker().on_table_map(tm, 50)
    assert [(c.type_name, c.length, c.charset) for c in info.columns] == [
        ("INT", 11, None), ("TEXT", None, "latin1"), ("LONGBLOB", None, "binary"), ("VARCHAR", 100, "utf8mb4"),
        ("VARBINARY", 30, "binary")]  # fmt: skip


def test_periods_added_by_alter_key_a_later_primary_key() -> None:
    """As MariaDB 10.11 does: ADD PERIOD makes the bounds NOT NULL, a later ``p WITHOUT OVERLAPS`` keys them,
    DROP PERIOD leaves them NOT NULL; the periods survive the resume state."""
    tr = tracker("CREATE TABLE t (id INT, s DATE, e DATE)", "ALTER TABLE t ADD PERIOD FOR p(s, e)")
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", True, False), ("s", False, False), ("e", False, False)]
    tr = SchemaTracker.from_json(tr.to_json())
    tr.apply_query("ALTER TABLE t ADD PRIMARY KEY (id, p WITHOUT OVERLAPS)", "d", 30)
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", False, True), ("s", False, True), ("e", False, True)]
    tr.apply_query("ALTER TABLE t DROP PRIMARY KEY, DROP PERIOD FOR p", "d", 31)
    assert [(f[0], f[3], f[4]) for f in facts(tr)] == [("id", False, False), ("s", False, False), ("e", False, False)]
    with pytest.raises(SchemaError, match="no column 'p'"):
        tr.apply_query("ALTER TABLE t ADD PRIMARY KEY (id, p WITHOUT OVERLAPS)", "d", 32)


def test_period_of_create_table_and_like_copy() -> None:
    tr = tracker("CREATE TABLE t0 (id INT, s DATE, e DATE, PERIOD FOR p(s, e))", "CREATE TABLE t LIKE t0",
                 "ALTER TABLE t RENAME COLUMN e TO e2, ADD PRIMARY KEY (id, p WITHOUT OVERLAPS)")
    assert [(f[0], f[4]) for f in facts(tr)] == [("id", True), ("s", True), ("e2", True)]


def test_new_primary_key_of_versioned_table_keeps_row_end() -> None:
    tr = tracker("CREATE TABLE t (id INT, v INT) WITH SYSTEM VERSIONING", "ALTER TABLE t ADD PRIMARY KEY (id)")
    info = tr.table(T)
    assert info is not None and info.pk_indexes == (0, 3)
    tr.apply_query("ALTER TABLE t DROP PRIMARY KEY", "d", 40)
    info = tr.table(T)
    assert info is not None and info.pk_indexes == ()
