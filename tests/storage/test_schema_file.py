"""Schema files: TiCDC's test values (table_definition_test.go), byte-exact JSON, checksums, parsing back."""

from __future__ import annotations

import dataclasses
import json

import pytest

from storagecdc import ddl_types
from storagecdc.errors import ConsumerError
from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.storage import gojson
from storagecdc.storage.paths import parse_schema_file_key
from storagecdc.storage.schema_file import (
    SchemaFile,
    column_from_info,
    parse_schema_file,
    schema_file_for_database,
    schema_file_for_table,
)

# TiCDC TestTableCol: (column, expected JSON). Unset flen/decimal -> None.
TICDC_COLUMNS = [
    (ColumnInfo("", "TIME", scale=5), '{"ColumnName":"","ColumnType":"TIME","ColumnScale":"5"}'),
    (ColumnInfo("", "INT", unsigned=True, length=5),
     '{"ColumnName":"","ColumnType":"INT UNSIGNED","ColumnPrecision":"5"}'),
    (ColumnInfo("", "FLOAT", length=12, scale=3),
     '{"ColumnName":"","ColumnType":"FLOAT","ColumnPrecision":"12","ColumnScale":"3"}'),
    (ColumnInfo("", "FLOAT", length=12, scale=-1), '{"ColumnName":"","ColumnType":"FLOAT","ColumnPrecision":"12"}'),
    (ColumnInfo("", "FLOAT", length=5, scale=-1), '{"ColumnName":"","ColumnType":"FLOAT","ColumnPrecision":"5"}'),
    (ColumnInfo("", "FLOAT", length=7, scale=3),
     '{"ColumnName":"","ColumnType":"FLOAT","ColumnPrecision":"7","ColumnScale":"3"}'),
    (ColumnInfo("", "DOUBLE", length=12, scale=3),
     '{"ColumnName":"","ColumnType":"DOUBLE","ColumnPrecision":"12","ColumnScale":"3"}'),
    (ColumnInfo("", "DOUBLE", length=12, scale=-1), '{"ColumnName":"","ColumnType":"DOUBLE","ColumnPrecision":"12"}'),
    (ColumnInfo("", "DOUBLE", length=5, scale=-1), '{"ColumnName":"","ColumnType":"DOUBLE","ColumnPrecision":"5"}'),
    (ColumnInfo("", "DOUBLE", length=7, scale=3),
     '{"ColumnName":"","ColumnType":"DOUBLE","ColumnPrecision":"7","ColumnScale":"3"}'),
    (ColumnInfo("", "TINYINT", length=5), '{"ColumnName":"","ColumnType":"TINYINT","ColumnPrecision":"5"}'),
    (ColumnInfo("", "SMALLINT", length=5), '{"ColumnName":"","ColumnType":"SMALLINT","ColumnPrecision":"5"}'),
    (ColumnInfo("", "MEDIUMINT", length=10), '{"ColumnName":"","ColumnType":"MEDIUMINT","ColumnPrecision":"10"}'),
    (ColumnInfo("", "INT", is_pk=True),
     '{"ColumnName":"","ColumnType":"INT","ColumnPrecision":"11","ColumnIsPk":"true"}'),
    (ColumnInfo("", "BIGINT", length=20), '{"ColumnName":"","ColumnType":"BIGINT","ColumnPrecision":"20"}'),
    (ColumnInfo("", "BIT", length=5), '{"ColumnName":"","ColumnType":"BIT","ColumnPrecision":"5"}'),
    (ColumnInfo("", "VARCHAR", length=128, charset="utf8mb4", collation="utf8mb4_bin"),
     '{"ColumnName":"","ColumnType":"VARCHAR","ColumnPrecision":"128"}'),
    (ColumnInfo("", "CHAR", length=32, charset="utf8mb4", collation="utf8mb4_bin"),
     '{"ColumnName":"","ColumnType":"CHAR","ColumnPrecision":"32"}'),
    (ColumnInfo("", "VAR_STRING", length=64), '{"ColumnName":"","ColumnType":"VAR_STRING","ColumnPrecision":"64"}'),
    (ColumnInfo("", "BLOB", length=100), '{"ColumnName":"","ColumnType":"BLOB","ColumnPrecision":"100"}'),
    (ColumnInfo("", "BLOB", length=100, charset="utf8mb4"),
     '{"ColumnName":"","ColumnType":"TEXT","ColumnPrecision":"100"}'),
    (ColumnInfo("", "TINYBLOB", length=120), '{"ColumnName":"","ColumnType":"TINYBLOB","ColumnPrecision":"120"}'),
    (ColumnInfo("", "MEDIUMBLOB", length=100),
     '{"ColumnName":"","ColumnType":"MEDIUMBLOB","ColumnPrecision":"100"}'),
    (ColumnInfo("", "LONGBLOB", length=5), '{"ColumnName":"","ColumnType":"LONGBLOB","ColumnPrecision":"5"}'),
    (ColumnInfo("", "ENUM"), '{"ColumnName":"","ColumnType":"ENUM"}'),
    (ColumnInfo("", "SET"), '{"ColumnName":"","ColumnType":"SET"}'),
    (ColumnInfo("", "TIMESTAMP", length=8, scale=2), '{"ColumnName":"","ColumnType":"TIMESTAMP","ColumnScale":"2"}'),
    (ColumnInfo("", "TIMESTAMP", length=8, scale=0), '{"ColumnName":"","ColumnType":"TIMESTAMP"}'),
    (ColumnInfo("", "DATETIME", length=8, scale=2), '{"ColumnName":"","ColumnType":"DATETIME","ColumnScale":"2"}'),
    (ColumnInfo("", "DATETIME", length=8, scale=0), '{"ColumnName":"","ColumnType":"DATETIME"}'),
    (ColumnInfo("", "DATE", length=8, scale=2), '{"ColumnName":"","ColumnType":"DATE"}'),
    (ColumnInfo("", "DATE", length=8, scale=0), '{"ColumnName":"","ColumnType":"DATE"}'),
    (ColumnInfo("", "YEAR", length=4, scale=0), '{"ColumnName":"","ColumnType":"YEAR","ColumnPrecision":"4"}'),
    (ColumnInfo("", "YEAR", length=2, scale=2), '{"ColumnName":"","ColumnType":"YEAR","ColumnPrecision":"2"}'),
]

MORE_COLUMNS = [
    (ColumnInfo("d", "DECIMAL", length=65, scale=30),
     '{"ColumnName":"d","ColumnType":"DECIMAL","ColumnPrecision":"65","ColumnScale":"30"}'),
    (ColumnInfo("d", "DECIMAL"), '{"ColumnName":"d","ColumnType":"DECIMAL","ColumnPrecision":"10","ColumnScale":"0"}'),
    (ColumnInfo("t", "TEXT", length=65535, charset="binary"),
     '{"ColumnName":"t","ColumnType":"BLOB","ColumnPrecision":"65535"}'),
    (ColumnInfo("b", "VARBINARY", length=16, charset="binary"),
     '{"ColumnName":"b","ColumnType":"VARBINARY","ColumnPrecision":"16"}'),
    (ColumnInfo("c", "CHAR", length=4, charset="binary"),
     '{"ColumnName":"c","ColumnType":"BINARY","ColumnPrecision":"4"}'),
    (ColumnInfo("e", "ENUM", elems=("a", "b,c"), charset="utf8mb4", nullable=False, has_default=True, default="a"),
     '{"ColumnName":"e","ColumnType":"ENUM","ColumnDefault":"a","ColumnNullable":"false","ColumnElems":["a","b,c"]}'),
    (ColumnInfo("u", "BIGINT", unsigned=True, length=20, has_default=True, default=""),
     '{"ColumnName":"u","ColumnType":"BIGINT UNSIGNED","ColumnDefault":"","ColumnPrecision":"20"}'),
    (ColumnInfo("n", "INT", has_default=True, default=None),
     '{"ColumnName":"n","ColumnType":"INT","ColumnPrecision":"11"}'),
    (ColumnInfo("j", "JSON"), '{"ColumnName":"j","ColumnType":"JSON"}'),
    (ColumnInfo("x", "INTEGER"), '{"ColumnName":"x","ColumnType":"INT","ColumnPrecision":"11"}'),
]


@pytest.mark.parametrize(("column", "expected"), TICDC_COLUMNS + MORE_COLUMNS)
def test_column_json(column: ColumnInfo, expected: str) -> None:
    encoded = gojson.marshal(column_from_info(column).to_json_obj())
    assert json.loads(encoded) == json.loads(expected)
    assert encoded == expected.encode()


def _ticdc_table_def(query: str = "", ddl_type: int = 0) -> SchemaFile:
    """TiCDC generateTableDef: defaults 10 and 12345678 are Go ints there, so set them as ints here."""
    table = TableInfo(TableName("schema1", "table1"), (
        ColumnInfo("Id", "INT", nullable=False, is_pk=True),
        ColumnInfo("LastName", "VARCHAR", length=128, nullable=False, has_default=True, default="Default LastName"),
        ColumnInfo("FirstName", "VARCHAR", length=64, has_default=True, default="Default FirstName"),
        ColumnInfo("Birthday", "DATETIME"),
    ), 100)
    sf = schema_file_for_table(table, query, ddl_type)
    assert sf.columns is not None
    cols = list(sf.columns)
    cols[0] = dataclasses.replace(cols[0], default=10)
    cols[3] = dataclasses.replace(cols[3], default=12345678)
    return dataclasses.replace(sf, columns=tuple(cols))


TICDC_TABLE_JSON = """{
    "Table": "table1",
    "Schema": "schema1",
    "Version": 1,
    "TableVersion": 100,
    "Query": "%s",
    "Type": %d,
    "TableColumns": [
        {
            "ColumnName": "Id",
            "ColumnType": "INT",
            "ColumnDefault": 10,
            "ColumnPrecision": "11",
            "ColumnNullable": "false",
            "ColumnIsPk": "true"
        },
        {
            "ColumnName": "LastName",
            "ColumnType": "VARCHAR",
            "ColumnDefault": "Default LastName",
            "ColumnPrecision": "128",
            "ColumnNullable": "false"
        },
        {
            "ColumnName": "FirstName",
            "ColumnType": "VARCHAR",
            "ColumnDefault": "Default FirstName",
            "ColumnPrecision": "64"
        },
        {
            "ColumnName": "Birthday",
            "ColumnType": "DATETIME",
            "ColumnDefault": 12345678
        }
    ],
    "TableColumnsTotal": 4
}"""


def test_ticdc_table_definition_bytes_and_path() -> None:
    sf = _ticdc_table_def()
    assert sf.to_json() == (TICDC_TABLE_JSON % ("", 0)).encode()
    assert sf.key() == "schema1/table1/meta/schema_100_3752767265.json"
    ddl = _ticdc_table_def("alter table schema1.table1 add Birthday date", ddl_types.ADD_COLUMN)
    assert ddl.to_json() == (TICDC_TABLE_JSON % ("alter table schema1.table1 add Birthday date", 5)).encode()
    assert ddl.key() == sf.key(), "Query and Type are not part of the checksum"


def test_checksum_ignores_column_order() -> None:
    sf = _ticdc_table_def()
    assert sf.columns is not None
    shuffled = dataclasses.replace(sf, columns=tuple(reversed(sf.columns)))
    assert shuffled.checksum() == sf.checksum() == 3752767265


def test_database_level_schema_file() -> None:
    sf = schema_file_for_database("schema1", 100, "", 0)
    assert sf.key() == "schema1/meta/schema_100_3233644819.json"
    assert sf.to_json() == (b'{\n    "Table": "",\n    "Schema": "schema1",\n    "Version": 1,\n'
                            b'    "TableVersion": 100,\n    "Query": "",\n    "Type": 0,\n'
                            b'    "TableColumns": null,\n    "TableColumnsTotal": 0\n}')
    assert parse_schema_file(sf.to_json()) == sf


def test_go_escaping_and_no_trailing_newline() -> None:
    table = TableInfo(TableName("db", "t<&>"), (ColumnInfo("名前\u2028", "INT", has_default=True, default="'\"\\"),), 7)
    sf = schema_file_for_table(table, "CREATE TABLE `t<&>` (x int) COMMENT 'a\u2029b\tc'", ddl_types.CREATE_TABLE)
    data = sf.to_json()
    assert not data.endswith(b"\n")
    assert b'"Table": "t\\u003c\\u0026\\u003e"' in data
    assert '"ColumnName": "名前\\u2028"'.encode() in data
    assert b"COMMENT 'a\\u2029b\\tc'" in data
    assert b'"ColumnDefault": "\'\\"\\\\"' in data
    assert parse_schema_file(data) == sf


def test_parse_back_to_table_info_with_real_names() -> None:
    table = TableInfo(TableName("..", "a/b"), (
        ColumnInfo("id", "BIGINT", unsigned=True, length=20, nullable=False, is_pk=True),
        ColumnInfo("price", "DECIMAL", length=12, scale=4),
        ColumnInfo("at", "DATETIME", scale=6),
        ColumnInfo("raw", "VARBINARY", length=10, charset="binary"),
        ColumnInfo("note", "TEXT", length=65535, charset="utf8mb4"),
        ColumnInfo("kind", "ENUM", elems=("x", "y"), charset="utf8mb4"),
    ), 433305438660591626)
    sf = schema_file_for_table(table, "CREATE TABLE ...", ddl_types.CREATE_TABLE)
    key = sf.key()
    assert key.startswith("%2E%2E/a%2Fb/meta/schema_433305438660591626_")
    parsed_key = parse_schema_file_key(key)
    assert parsed_key is not None
    assert (parsed_key.schema, parsed_key.table, parsed_key.checksum) == ("..", "a/b", sf.checksum())
    back = parse_schema_file(sf.to_json(), key)
    assert back == sf
    info = back.to_table_info()
    assert info.name == TableName("..", "a/b")
    assert info.version == 433305438660591626
    assert info.column_names == ("id", "price", "at", "raw", "note", "kind")
    assert [(c.type_name, c.unsigned, c.length, c.scale) for c in info.columns] == [
        ("BIGINT", True, 20, None), ("DECIMAL", False, 12, 4), ("DATETIME", False, None, 6),
        ("VARBINARY", False, 10, None), ("TEXT", False, 65535, None), ("ENUM", False, None, None)]
    assert [c.is_binary for c in info.columns] == [False, False, False, True, False, False]
    assert info.pk_indexes == (0,)
    assert not info.columns[0].nullable
    assert info.columns[5].elems == ("x", "y")


@pytest.mark.parametrize("bad", [b"", b"[]", b"{", b'{"TableColumns": 3}', b'{"TableColumns": [{}]}',
                                 b'{"TableColumns": [], "TableColumnsTotal": 2}', b'{"TableVersion": "x"}'])
def test_bad_schema_files_name_the_key(bad: bytes) -> None:
    with pytest.raises(ConsumerError) as info:
        parse_schema_file(bad, "db/t/meta/schema_1_0000000001.json")
    assert "db/t/meta/schema_1_0000000001.json" in str(info.value)
