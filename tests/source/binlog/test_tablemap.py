"""TABLE_MAP decoding against known schemas: every kind of optional metadata and the STRING quirk."""

from __future__ import annotations

import struct
from pathlib import Path

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.events import TableMapEvent
from storagecdc.source.binlog.tablemap import decode_table_map
from tests.source.binlog._support import decode_file


def _table_maps(path: Path) -> list[TableMap]:
    return [e.table_map for e in decode_file(path) if isinstance(e, TableMapEvent)]


def _all_types_columns(sql: str) -> list[str]:
    block = sql[sql.index("CREATE TABLE all_types (") : sql.index(") ENGINE=InnoDB;")]
    body = block.split("(", 1)[1]
    columns = []
    depth = 0
    current = ""
    for ch in body:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            columns.append(current.strip().split()[0])
            current = ""
        else:
            current += ch
    columns.append(current.strip().split()[0])
    return columns


def test_mariadb_all_types_full_metadata(binlog_fixtures: Path) -> None:
    directory = binlog_fixtures / "mariadb"
    names = _all_types_columns((directory / "mariadb-10.11-types.sql").read_text())
    assert len(names) == 39
    first = _table_maps(directory / "mariadb-10.11-types.000001")[0]
    assert (first.schema, first.table, first.column_count) == ("fixt", "all_types", 39)
    assert first.column_names == tuple(names)
    by_name = dict(zip(names, range(39), strict=True))
    types = first.column_types
    metas = first.column_metas
    assert types[by_name["c_char"]] == ft.STRING and metas[by_name["c_char"]] == 40
    assert types[by_name["c_bin"]] == ft.STRING and metas[by_name["c_bin"]] == 4
    assert types[by_name["c_enum"]] == ft.ENUM and metas[by_name["c_enum"]] == 1
    assert types[by_name["c_set"]] == ft.SET and metas[by_name["c_set"]] == 1
    assert types[by_name["c_varchar"]] == ft.VARCHAR and metas[by_name["c_varchar"]] == 1020
    assert metas[by_name["c_dec"]] == 20 << 8 | 6
    assert metas[by_name["c_bit"]] == 13
    assert metas[by_name["c_dt6"]] == 6 and metas[by_name["c_time3"]] == 3
    assert metas[by_name["c_float"]] == 4 and metas[by_name["c_double"]] == 8
    assert types[by_name["c_json"]] == ft.BLOB  # MariaDB's JSON is LONGTEXT
    assert first.elems is not None
    assert first.elems[by_name["c_enum"]] == ("small", "medium", "large")
    assert first.elems[by_name["c_set"]] == ("a", "b", "c", "d")
    assert first.unsigned is not None
    unsigned = {n for n, u in zip(names, first.unsigned, strict=True) if u}
    assert unsigned == {n for n in names if n.endswith("_u")} | {"id", "c_dec_small", "c_year"}
    assert first.collations is not None
    collations = dict(zip(names, first.collations, strict=True))
    assert collations["c_latin1"] == 8
    assert collations["c_uuid_like"] == 11
    assert collations["c_vbin"] == 63 and collations["c_blob"] == 63
    assert collations["c_varchar"] == 224 and collations["c_enum"] == 224
    assert collations["c_int"] is None
    assert first.primary_key == (0,)
    assert first.nullable[0] is False and all(first.nullable[1:])


def test_mariadb_later_versions_of_the_table(binlog_fixtures: Path) -> None:
    maps = _table_maps(binlog_fixtures / "mariadb/mariadb-10.11-types.000001")
    added = next(m for m in maps if m.column_names and "c_added" in m.column_names)
    assert added.column_names is not None
    assert added.column_names.index("c_added") == 2
    composite = next(m for m in maps if m.table == "t_composite")
    assert composite.primary_key == (0, 1)
    pk_less = next(m for m in maps if m.table == "t_pk_less")
    assert pk_less.primary_key is None


def test_mysql_enum_string_set_full_metadata(binlog_fixtures: Path) -> None:
    table = _table_maps(binlog_fixtures / "blackbeam_rust_mysql_common/mysql-enum-string-set.000001")[0]
    assert table.column_names == ("f1", "f2", "f3", "f4", "f5")
    assert table.column_types == (ft.STRING, ft.VARCHAR, ft.ENUM, ft.SET, ft.BLOB)
    # CHAR(128) utf8mb4 is 512 bytes: the length's high bits hide in the real-type byte.
    assert table.column_metas == (512, 1200, 1, 1, 2)
    assert table.elems == (None, None, ("var1", "variant2", "foo"), ("one", "two", "three", "four"), None)
    assert table.collations == (255, 255, 255, 255, 255)
    assert table.visible == (True,) * 5


def test_invisible_columns_and_signedness(binlog_fixtures: Path) -> None:
    table = _table_maps(binlog_fixtures / "blackbeam_rust_mysql_common/binlog-invisible-columns.000001")[0]
    assert table.column_names == ("f1", "f2", "f3", "f4", "f5", "f6")
    assert table.visible == (False, False, True, True, True, False)
    assert table.unsigned == (True, True, False, False, False, True)
    assert table.collations == (None, None, None, 255, 63, None)


def test_minimal_metadata_has_no_names(binlog_fixtures: Path) -> None:
    table = _table_maps(binlog_fixtures / "blackbeam_rust_mysql_common/minimal_row_metadata.000001")[0]
    assert table.column_names is None
    assert table.unsigned == (False, False, False, False, True)
    assert table.collations == (None, 63, 255, None, None)


def test_no_metadata_tables(binlog_fixtures: Path) -> None:
    maps = _table_maps(binlog_fixtures / "osheroff/mysql-bin.sakila.gz")
    film = next(m for m in maps if m.table == "film")
    assert film.column_types[10:12] == (ft.ENUM, ft.SET)
    assert film.column_metas[7] == 4 << 8 | 2  # rental_rate DECIMAL(4,2)
    assert film.column_names is None and film.unsigned is None and film.collations is None


def test_vector_columns_take_binary_collation(binlog_fixtures: Path) -> None:
    maps = _table_maps(binlog_fixtures / "blackbeam_rust_mysql_common/vector.binlog")
    bar = next(m for m in maps if m.table == "bar")
    assert bar.column_types == (ft.LONGLONG, ft.VECTOR, ft.BLOB, ft.VECTOR)
    assert bar.column_metas == (0, 4, 2, 4)
    assert bar.collations == (None, 63, 255, 63)
    assert bar.column_names == ("id", "vector_column", "foo", "vector_column2")


def _synthetic(columns: bytes, meta: bytes, optional: bytes) -> bytes:
    n = len(columns)
    return (
        struct.pack("<IHH", 7, 0, 1)
        + b"\x02db\x00\x01t\x00"
        + bytes([n])
        + columns
        + bytes([len(meta)])
        + meta
        + bytes((n + 7) // 8)
        + optional
    )


def test_geometry_and_prefixed_primary_key_and_column_charsets() -> None:
    columns = bytes([ft.GEOMETRY, ft.VARCHAR, ft.STRING, ft.STRING])
    meta = bytes([4]) + struct.pack("<H", 400) + bytes([ft.ENUM, 2]) + bytes([ft.STRING, 30])
    optional = (
        bytes([7, 1, 2])  # GEOMETRY_TYPE: POINT
        + bytes([9, 4, 1, 10, 0, 0])  # PRIMARY_KEY_WITH_PREFIX: (1, prefix 10), (0, full)
        + bytes([3, 2, 33, 8])  # COLUMN_CHARSET for the two character columns
        + bytes([11, 1, 45])  # ENUM_AND_SET_COLUMN_CHARSET
        + bytes([6, 5, 1, 3])
        + b"abc"  # ENUM_STR_VALUE: the ENUM column has one member
        + bytes([99, 2, 0, 0])  # an unknown field: skipped by its length
    )
    table = decode_table_map(_synthetic(columns, meta, optional), 8)
    assert table.geometry_types == (2, None, None, None)
    assert table.primary_key == (1, 0)
    assert table.column_types == (ft.GEOMETRY, ft.VARCHAR, ft.ENUM, ft.STRING)
    assert table.column_metas == (4, 400, 2, 30)
    assert table.collations == (None, 33, 45, 8)
    assert table.elems == (None, None, ("abc",), None)


def test_long_char_quirk_resolves_real_type_and_length() -> None:
    # CHAR(255) in utf8mb4 = 1020 bytes: the length's bits 8-9, inverted, sit in bits 4-5 of the type byte.
    length = 1020
    b0 = ft.STRING ^ ((length >> 4) & 0x30)
    meta = bytes([b0, length & 0xFF])
    table = decode_table_map(_synthetic(bytes([ft.STRING]), meta, b""), 8)
    assert table.column_types == (ft.STRING,)
    assert table.column_metas == (length,)
    assert table.table == "t"
