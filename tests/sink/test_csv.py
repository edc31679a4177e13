"""CSV bytes, golden against TiCDC's own test values (pkg/sink/codec/csv tests) and the reference."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pytest

from storagecdc.errors import SinkError
from storagecdc.model import ABSENT, Op
from storagecdc.sink.formats.csv import CsvEncoder
from storagecdc.sink.options import SinkOptions
from tests.sink.tables import batch, col, f32, table


def line(info, op, row, before=None, **opts) -> str:
    options = SinkOptions(protocol="csv", **opts)
    b = batch(info, op, [row], before=[before] if before is not None else None)
    data: bytes = CsvEncoder(info, options).encode(b).data
    return data.decode()


T2 = table("table2", col("a", "VARCHAR"), col("b", "VARCHAR"))


def test_typical_configuration() -> None:
    t = table("table1", col("a", "INT"), col("b", "VARCHAR"))
    got = line(t, Op.INSERT, (123, "hello,world"), terminator="\n", include_commit_ts=True)
    assert got == '"I","table1","test",435661838416609281,123,"hello,world"\n'


def test_single_char_delimiter_without_quote() -> None:
    got = line(T2, Op.UPDATE, ("a!b!c", "def"), delimiter="!", quote="", terminator="\n",
               include_commit_ts=True)
    assert got == "U!table2!test!435661838416609281!a\\!b\\!c!def\n"


def test_update_with_old_value_is_delete_then_insert() -> None:
    got = line(T2, Op.UPDATE, ("a!b!c", "def"), before=("a!b!c", "abc"), delimiter="!", quote="",
               terminator="\n", include_commit_ts=True, output_old_value=True)
    assert got == ("D!table2!test!435661838416609281!true!a\\!b\\!c!abc\n"
                   "I!table2!test!435661838416609281!true!a\\!b\\!c!def\n")


def test_insert_with_old_value_has_is_update_false() -> None:
    got = line(T2, Op.INSERT, ("a!b!c", "def"), delimiter="!", quote="", terminator="\n",
               include_commit_ts=True, output_old_value=True)
    assert got == "I!table2!test!435661838416609281!false!a\\!b\\!c!def\n"


def test_quoted_values_with_delimiter_and_datetime() -> None:
    t = table("table3", col("a", "VARCHAR"), col("b", "VARCHAR"), col("c", "DATETIME"))
    got = line(t, Op.UPDATE, ("a,b,c", "def", dt.datetime(2022, 8, 31, 17, 7)), terminator="\n",
               include_commit_ts=True)
    assert got == '"U","table3","test",435661838416609281,"a,b,c","def","2022-08-31 17:07:00"\n'


def test_multi_char_delimiter_without_quote() -> None:
    t = table("table4", col("a", "VARCHAR"), col("b", "VARCHAR"))
    got = line(t, Op.DELETE, ("a[*]b[*]c", "def"), delimiter="[*]", quote="")
    assert got == "D[*]table4[*]test[*]a\\[\\*\\]b\\[\\*\\]c[*]def\r\n"


def test_multi_char_delimiter_with_quote_null_and_double() -> None:
    t = table("table5", col("a", "VARCHAR"), col("b", "VARCHAR"), col("c", "INT"), col("d", "DOUBLE"))
    got = line(t, Op.INSERT, ("a[*]b[*]c", "def", None, 12345.678), delimiter="[*]", quote="'",
               terminator="\n")
    assert got == "'I'[*]'table5'[*]'test'[*]'a[*]b[*]c'[*]'def'[*]\\N[*]12345.678\n"


def test_backslash_and_lf_without_quote() -> None:
    t = table("table6", col("a", "VARCHAR"), col("b", "VARCHAR"))
    got = line(t, Op.UPDATE, ("a\\b\\c", "def\n"), quote="", terminator="\n", include_commit_ts=True)
    assert got == "U,table6,test,435661838416609281,a\\\\b\\\\c,def\\n\n"


def test_backslash_and_cr_with_quote_are_kept() -> None:
    t = table("table7", col("a", "VARCHAR"), col("b", "VARCHAR"), col("c", "VARCHAR"))
    got = line(t, Op.INSERT, ("\\", "\\\r", "\\\\"), quote="'", terminator="\n")
    assert got == "'I','table7','test','\\','\\\r','\\\\'\n"


def test_tab_delimiter_and_unicode() -> None:
    t = table("table8", col("a", "VARCHAR"), col("b", "DOUBLE"), col("c", "VARCHAR"))
    got = line(t, Op.DELETE, ("a\tb", 123.456, "你好，世界"), delimiter="\t", terminator="\n",
               include_commit_ts=True)
    assert got == '"D"\t"table8"\t"test"\t435661838416609281\t"a\tb"\t123.456\t"你好，世界"\n'


@pytest.mark.parametrize(
    ("quote", "delimiter", "value", "want"),
    [
        ('"', ",", "a,b,c", '"a,b,c"'),
        ('"', ",", '"a,b,c', '"""a,b,c"'),
        ('"', ",", "", '""'),
        ("", ",", "abcdef", "abcdef"),
        ("", ",", "abc\r\ndef", "abc\\r\\ndef"),
        ("", ",", "abc\\def", "abc\\\\def"),
        ("", ",", "abc,def", "abc\\,def"),
        ("", "***", "abc***def", "abc\\*\\*\\*def"),
        ("", "?", "abc\\def?ghi\\r\\n", "abc\\\\def\\?ghi\\\\r\\\\n"),
    ],
)
def test_quoting_and_escaping(quote: str, delimiter: str, value: str, want: str) -> None:
    t = table("t", col("a", "VARCHAR"))
    got = line(t, Op.INSERT, (value,), quote=quote, delimiter=delimiter)
    assert got.split(delimiter, 3)[3] == want + "\r\n"


@pytest.mark.parametrize(
    ("column", "value", "want"),
    [
        (col("tiny", "TINYINT"), 1, "1"),
        (col("short", "SMALLINT"), 1, "1"),
        (col("int24", "MEDIUMINT"), 1, "1"),
        (col("long", "INT"), 1, "1"),
        (col("longlong", "BIGINT"), 1, "1"),
        (col("longlongunsigned", "BIGINT", unsigned=True), 18446744073709551615, "18446744073709551615"),
        (col("float", "FLOAT"), f32(3.14), "3.14"),
        (col("double", "DOUBLE"), 3.14, "3.14"),
        (col("bit", "BIT", length=10), 683, "683"),
        (col("decimal", "DECIMAL", length=13, scale=7), Decimal("129012.1230000"), '"129012.1230000"'),
        (col("tinytext", "TINYTEXT", charset="utf8mb4"), "hello world", '"hello world"'),
        (col("varchar", "VARCHAR", charset="utf8mb4"), "hello world", '"hello world"'),
        (col("json", "JSON"), '{"key": "value"}', '"{""key"": ""value""}"'),
        (col("blob", "BLOB", charset="binary"), b"hello world", '"aGVsbG8gd29ybGQ="'),
        (col("varbinary", "VARBINARY", charset="binary"), b"hello world", '"aGVsbG8gd29ybGQ="'),
        (col("binary", "BINARY", length=11, charset="binary"), b"hello world", '"aGVsbG8gd29ybGQ="'),
        (col("enum", "ENUM", elems=("a,", "b")), "a,", '"a,"'),
        (col("set", "SET", elems=("a", "b", "c", "d")), "a,d", '"a,d"'),
        (col("date", "DATE"), dt.date(2000, 1, 1), '"2000-01-01"'),
        (col("zero_date", "DATE"), "0000-00-00", '"0000-00-00"'),
        (col("datetime", "DATETIME"), dt.datetime(2015, 12, 20, 23, 58, 58), '"2015-12-20 23:58:58"'),
        (col("datetime3", "DATETIME", scale=3), dt.datetime(2015, 12, 20, 23, 58, 58, 120000),
         '"2015-12-20 23:58:58.120"'),
        (col("timestamp", "TIMESTAMP"), dt.datetime(1973, 12, 30, 15, 30, tzinfo=dt.UTC),
         '"1973-12-30 15:30:00"'),
        (col("timestamp6", "TIMESTAMP", scale=6), dt.datetime(1973, 12, 30, 15, 30, tzinfo=dt.UTC),
         '"1973-12-30 15:30:00.000000"'),
        (col("time", "TIME"), dt.timedelta(hours=23, minutes=59, seconds=59), '"23:59:59"'),
        (col("time_neg", "TIME", scale=2), -dt.timedelta(hours=838, minutes=59, seconds=59, microseconds=990000),
         '"-838:59:59.99"'),
        (col("time_long", "TIME"), dt.timedelta(hours=100), '"100:00:00"'),
        (col("year", "YEAR"), 1970, "1970"),
        (col("vector", "VECTOR"), struct.pack("<5f", 1, 2, 3, 4, 5), '"[1,2,3,4,5]"'),
        (col("null", "INT"), None, "\\N"),
    ],
)
def test_value_conversion(column, value, want: str) -> None:
    t = table("t", column)
    got = line(t, Op.INSERT, (value,))
    assert got == f'"I","t","test",{want}\r\n'


def test_binary_hex() -> None:
    t = table("t", col("b", "BLOB", charset="binary"))
    got = line(t, Op.INSERT, (b"hello world",), binary_encoding_method="hex")
    assert got == '"I","t","test","68656c6c6f20776f726c64"\r\n'


@pytest.mark.parametrize(
    ("value", "want"),
    [(123456.0, "123456"), (12345.678, "12345.678"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
     (1e-05, "1e-05"), (0.0001, "0.0001"), (0.0, "0"), (-2.5e-7, "-2.5e-07"), (1e21, "1e+21"),
     (100000000.0, "1e+08")],
)
def test_go_float_format(value: float, want: str) -> None:
    t = table("t", col("d", "DOUBLE"))
    assert line(t, Op.INSERT, (value,)) == f'"I","t","test",{want}\r\n'


def test_float_column_is_printed_as_32_bit() -> None:
    t = table("t", col("f", "FLOAT"))
    assert line(t, Op.INSERT, (f32(0.1),)) == '"I","t","test",0.1\r\n'
    assert line(t, Op.INSERT, (f32(1234567.0),)) == '"I","t","test",1.234567e+06\r\n'


@pytest.mark.parametrize(
    ("opts", "want"),
    [
        ({"output_old_value": True, "include_commit_ts": True, "delimiter": " "},
         "ticdc-meta$operation ticdc-meta$table ticdc-meta$schema ticdc-meta$commit-ts ticdc-meta$is-update "
         "col1 col2"),
        ({"include_commit_ts": True, "delimiter": " "},
         "ticdc-meta$operation ticdc-meta$table ticdc-meta$schema ticdc-meta$commit-ts col1 col2"),
        ({"delimiter": " "}, "ticdc-meta$operation ticdc-meta$table ticdc-meta$schema col1 col2"),
        ({}, "ticdc-meta$operation,ticdc-meta$table,ticdc-meta$schema,col1,col2"),
    ],
)
def test_header(opts: dict, want: str) -> None:
    t = table("t", col("col1", "INT"), col("col2", "INT"))
    enc = CsvEncoder(t, SinkOptions(protocol="csv", output_field_header=True, **opts))
    data = enc.assemble([enc.encode(batch(t, Op.INSERT, [(1, 2)]))]).decode()
    header, first = data.split("\r\n")[:2]
    assert header == want
    assert first.endswith("1" + opts.get("delimiter", ",") + "2")


def test_update_changing_primary_key_is_delete_plus_insert() -> None:
    t = table("t", col("id", "INT", is_pk=True), col("v", "VARCHAR"))
    b = batch(t, Op.UPDATE, [(2, "b"), (3, "c"), (4, "d")], before=[(1, "a"), (3, "x"), (5, "e")],
              pk_changed=[True, False, True])
    data = CsvEncoder(t, SinkOptions(protocol="csv", terminator="\n")).encode(b).data.decode()
    assert data == ('"D","t","test",1,"a"\n"I","t","test",2,"b"\n"U","t","test",3,"c"\n'
                    '"D","t","test",5,"e"\n"I","t","test",4,"d"\n')


def test_primary_key_change_with_old_value_marks_is_update() -> None:
    t = table("t", col("id", "INT", is_pk=True))
    b = batch(t, Op.UPDATE, [(2,)], before=[(1,)], pk_changed=[True])
    data = CsvEncoder(t, SinkOptions(protocol="csv", output_old_value=True, quote="")).encode(b).data
    assert data == b"D,t,test,true,1\r\nI,t,test,true,2\r\n"


def test_absent_values_are_refused_naming_the_table() -> None:
    t = table("minimal", col("id", "INT"), col("v", "VARCHAR"))
    b = batch(t, Op.DELETE, [(1, ABSENT)])
    with pytest.raises(SinkError, match=r"test\.minimal"):
        CsvEncoder(t, SinkOptions(protocol="csv")).encode(b)


def test_chunk_counts_records_and_bytes() -> None:
    t = table("t", col("id", "INT"))
    b = batch(t, Op.UPDATE, [(1,), (2,)], before=[(0,), (1,)])
    chunk = CsvEncoder(t, SinkOptions(protocol="csv", output_old_value=True)).encode(b)
    assert chunk.rows == 4
    assert chunk.size == len(chunk.data)


def test_quote_doubling_over_whole_columns() -> None:
    t = table("t", col("j", "JSON"))
    for values in (['{"a": 1}', "plain"], ['{"a": 1}', 'x\x00"y']):
        b = batch(t, Op.INSERT, [(v,) for v in values])
        data = CsvEncoder(t, SinkOptions(protocol="csv", terminator="\n")).encode(b).data.decode()
        assert data.splitlines() == ['"I","t","test","' + v.replace('"', '""') + '"' for v in values]


def test_percent_signs_in_names_and_values() -> None:
    t = table("100%", col("p", "VARCHAR"), col("n", "INT"), schema="%s")
    got = line(t, Op.INSERT, ("50%s", 5), null="%d", quote="")
    assert got == "I,100%,%s,50%s,5\r\n"


@pytest.mark.parametrize("scale", [0, 1, 2, 3, 4, 5, 6])
def test_datetime_digits_with_nulls_and_old_dates(scale: int) -> None:
    t = table("t", col("a", "DATETIME", scale=scale), col("b", "TIMESTAMP", scale=scale), col("c", "DATE"))
    micro = 123456 - 123456 % 10 ** (6 - scale)
    values = [
        (dt.datetime(1969, 12, 31, 23, 59, 59, micro), dt.datetime(1970, 1, 1, 0, 0, 1, micro, tzinfo=dt.UTC),
         dt.date(1, 1, 1)),
        (None, None, None),
        (dt.datetime(9999, 12, 31, 23, 59, 59, micro), dt.datetime(2038, 1, 19, 3, 14, 7, micro, tzinfo=dt.UTC),
         "0000-00-00"),
    ]
    enc = CsvEncoder(t, SinkOptions(protocol="csv", quote="", terminator="\n"))
    got = enc.encode(batch(t, Op.INSERT, values)).data.decode().splitlines()
    frac = ("." + f"{micro:06d}"[:scale]) if scale else ""
    assert got == [
        f"I,t,test,1969-12-31 23:59:59{frac},1970-01-01 00:00:01{frac},0001-01-01",
        "I,t,test,\\N,\\N,\\N",
        f"I,t,test,9999-12-31 23:59:59{frac},2038-01-19 03:14:07{frac},0000-00-00",
    ]
