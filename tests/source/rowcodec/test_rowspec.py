"""column_specs: TABLE_MAP metadata first, the tracked schema second."""

from __future__ import annotations

from typing import Any

import pytest

from storagecdc.model import ColumnInfo
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.rowcodec import ColumnSpec, column_specs

TYPES = (ft.LONG, ft.VARCHAR, ft.STRING, ft.BLOB, ft.BLOB, ft.ENUM, ft.JSON)
METAS = (0, 400, 4, 2, 2, 1, 4)


def table_map(**optional: Any) -> TableMap:
    return TableMap(1, "db", "t", TYPES, METAS, (True,) * len(TYPES), **optional)


def test_full_metadata() -> None:
    tm = table_map(
        unsigned=(True, False, False, False, False, False, False),
        collations=(None, 255, 63, 8, 63, 45, None),
        column_names=("id", "name", "code", "note", "data", "state", "doc"),
        elems=(None, None, None, None, None, ("a", "b"), None),
    )
    assert column_specs(tm) == (
        ColumnSpec(ft.LONG, 0, True, name="id"),
        ColumnSpec(ft.VARCHAR, 400, encoding="utf-8", name="name"),
        ColumnSpec(ft.STRING, 4, pad_to=4, name="code"),
        ColumnSpec(ft.BLOB, 2, encoding="mysql_latin1", name="note"),
        ColumnSpec(ft.BLOB, 2, name="data"),
        ColumnSpec(ft.ENUM, 1, elems=("a", "b"), name="state"),
        ColumnSpec(ft.JSON, 4, name="doc"),
    )


def test_tracked_schema_fills_in_without_metadata() -> None:
    columns = (
        ColumnInfo("id", "INT", unsigned=True),
        ColumnInfo("name", "VARCHAR", charset="utf8mb4"),
        ColumnInfo("code", "BINARY", length=4),
        ColumnInfo("note", "TEXT", charset="latin1"),
        ColumnInfo("data", "BLOB"),
        ColumnInfo("state", "ENUM", charset="utf8mb4", elems=("a", "b")),
        ColumnInfo("doc", "JSON"),
    )
    specs = column_specs(table_map(), columns)
    assert specs[0] == ColumnSpec(ft.LONG, 0, True, name="id")
    assert specs[1].encoding == "utf-8"
    assert (specs[2].encoding, specs[2].pad_to) == (None, 4)
    assert specs[3].encoding == "mysql_latin1"
    assert specs[4].encoding is None
    assert specs[5].elems == ("a", "b")


def test_unknown_charset_uses_the_default_and_mismatches_fail() -> None:
    specs = column_specs(table_map(), None, default_encoding="utf-8")
    assert (specs[1].encoding, specs[2].encoding, specs[3].encoding) == ("utf-8", "utf-8", None)
    with pytest.raises(ValueError, match="7 columns in TABLE_MAP but 1"):
        column_specs(table_map(), (ColumnInfo("id", "INT"),))
    with pytest.raises(ValueError, match="unknown collation 9999"):
        column_specs(table_map(collations=(None, 9999, None, None, None, None, None)))
