"""canal-json lines as TiCDC's storage sink writes them (key order, type maps, string values)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from storagecdc.model import Op
from storagecdc.sink.formats.canal_json import CanalJsonEncoder, go_json_string, java_type, mysql_type
from storagecdc.sink.options import SinkOptions
from tests.sink.tables import TS, WIDE, batch, col, f32, table, wide_row

EMP = table(
    "employee",
    col("Id", "INT", is_pk=True, nullable=False),
    col("LastName", "VARCHAR", length=20, charset="utf8mb4"),
    col("HireDate", "DATE"),
    col("Salary", "DECIMAL", length=10, scale=2),
    schema="hr",
)
ES = TS >> 18


def lines(info, b, **opts) -> list[str]:
    options = SinkOptions(protocol="canal-json", terminator="\n", **opts)
    return CanalJsonEncoder(info, options).encode(b).data.decode().splitlines()


def test_insert_line_is_byte_exact() -> None:
    got = lines(EMP, batch(EMP, Op.INSERT, [(101, "Smith", dt.date(2014, 6, 4), Decimal("1.50"))]))
    assert got == [
        '{"id":0,"database":"hr","table":"employee","pkNames":["Id"],"isDdl":false,"type":"INSERT",'
        f'"es":{ES},"ts":{ES},"sql":"",'
        '"sqlType":{"Id":4,"LastName":12,"HireDate":91,"Salary":3},'
        '"mysqlType":{"Id":"int","LastName":"varchar","HireDate":"date","Salary":"decimal"},'
        '"old":null,"data":[{"Id":"101","LastName":"Smith","HireDate":"2014-06-04","Salary":"1.50"}]}'
    ]


def test_update_carries_old_and_tidb_extension() -> None:
    b = batch(EMP, Op.UPDATE, [(101, None, None, None)], before=[(101, "Smith", None, None)])
    (got,) = lines(EMP, b, enable_tidb_extension=True)
    assert got.endswith(
        '"old":[{"Id":"101","LastName":"Smith","HireDate":null,"Salary":null}],'
        '"data":[{"Id":"101","LastName":null,"HireDate":null,"Salary":null}],'
        f'"_tidb":{{"commitTs":{TS}}}}}'
    )
    assert '"type":"UPDATE"' in got


def test_delete_uses_old_row_as_data() -> None:
    (got,) = lines(EMP, batch(EMP, Op.DELETE, [(7, "x", None, None)]))
    assert '"type":"DELETE"' in got
    assert got.endswith('"old":null,"data":[{"Id":"7","LastName":"x","HireDate":null,"Salary":null}]}')


def test_primary_key_change_is_delete_then_insert() -> None:
    b = batch(EMP, Op.UPDATE, [(2, "b", None, None)], before=[(1, "a", None, None)], pk_changed=[True])
    got = [json.loads(x) for x in lines(EMP, b)]
    assert [g["type"] for g in got] == ["DELETE", "INSERT"]
    assert [g["data"][0]["Id"] for g in got] == ["1", "2"]


def test_no_primary_key_gives_null_pk_names() -> None:
    t = table("t", col("a", "INT"))
    (got,) = lines(t, batch(t, Op.INSERT, [(1,)]))
    assert '"pkNames":null' in got


def test_values_and_types_of_every_kind() -> None:
    (got,) = lines(WIDE, batch(WIDE, Op.INSERT, [wide_row(3)]))
    doc = json.loads(got)
    data = doc["data"][0]
    assert data["id"] == str(2**63 + 3)
    assert data["f"] == "3.25"
    assert data["db"] == "4.5"
    assert data["dt"] == "2024-02-29 23:59:58.000003"
    assert data["ts"] == "2024-03-01 00:00:01.123456"
    assert data["t"] == "-03:01:00.000"
    assert data["e"] == "2"
    assert data["s"] == "5"
    assert data["b"] == "\x03\x00\xff"
    assert data["bits"] == "683"
    assert doc["sqlType"]["id"] == 3, "BIGINT UNSIGNED above 2^63-1 is promoted to DECIMAL"
    assert doc["sqlType"]["u"] == -5, "INT UNSIGNED above 2^31-1 is promoted to BIGINT"
    assert doc["sqlType"]["si"] == 4
    assert doc["mysqlType"]["id"] == "bigint unsigned"
    assert doc["mysqlType"]["b"] == "blob"
    assert doc["mysqlType"]["y"] == "year"
    assert list(doc) == ["id", "database", "table", "pkNames", "isDdl", "type", "es", "ts", "sql", "sqlType",
                         "mysqlType", "old", "data"]


def test_go_escaping() -> None:
    assert go_json_string('a<b>&"\\\n\t\x08\x0c\x01\u2028é') == (
        '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\t\\u0008\\u000c\\u0001\\u2028é"'
    )
    assert go_json_string("\\b") == '"\\\\b"'


def test_type_names() -> None:
    assert mysql_type(col("a", "VARCHAR", charset="binary")) == "varbinary"
    assert mysql_type(col("a", "CHAR", charset="binary")) == "binary"
    assert mysql_type(col("a", "TEXT", charset="binary")) == "blob"
    assert mysql_type(col("a", "BIT", unsigned=True)) == "bit"
    assert mysql_type(col("a", "DECIMAL", unsigned=True)) == "decimal unsigned"
    assert java_type(col("a", "TEXT", charset="utf8mb4")) == 2005
    assert java_type(col("a", "VARBINARY", charset="binary")) == 2004
    assert java_type(col("a", "CHAR")) == 1
    assert java_type(col("a", "YEAR")) == 12
    assert java_type(col("a", "FLOAT")) == 7


def test_plain_float_notation() -> None:
    t = table("t", col("f", "FLOAT"), col("d", "DOUBLE"))
    (got,) = lines(t, batch(t, Op.INSERT, [(f32(1e7), 1e-7)]))
    assert json.loads(got)["data"][0] == {"f": "10000000", "d": "0.0000001"}
