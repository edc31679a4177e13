"""Hand-checked bytes: values whose encodings are given in MySQL's documentation or worked out by hand."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import pytest

from storagecdc.model import ABSENT
from storagecdc.source.binlog import charsets, jsonb
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.rowcodec import ColumnSpec, RowDecodeError, compile_decoder


def one(spec: ColumnSpec, value_bytes: bytes) -> object:
    buf = b"\x00" + value_bytes
    return compile_decoder((spec,)).decode_rows(buf, 0, len(buf), 1)[0][0]


def test_decimal_from_mysql_docs() -> None:
    # MySQL's strings/decimal.c comment: DECIMAL(14,4) 1234567890.1234 is 81 0D FB 38 D2 04 D2.
    spec = ColumnSpec(ft.NEWDECIMAL, 14 << 8 | 4)
    assert repr(one(spec, bytes.fromhex("810DFB38D204D2"))) == "Decimal('1234567890.1234')"
    # and the negative is every byte inverted
    assert repr(one(spec, bytes.fromhex("7EF204C72DFB2D"))) == "Decimal('-1234567890.1234')"


@pytest.mark.parametrize(
    ("meta", "raw", "expected"),
    [
        (5 << 8 | 2, "800000", "Decimal('0.00')"),  # zero keeps the scale
        (4 << 8 | 2, "9963", "Decimal('25.99')"),  # 2-digit leftover groups: 1 byte each
        (4 << 8 | 2, "669c", "Decimal('-25.99')"),
        (10 << 8 | 0, "8000000001", "Decimal('1')"),  # 10 digits: 1 leftover digit + one 9-digit group
        (18 << 8 | 9, "8000000100000000", "Decimal('1.000000000')"),
    ],
)
def test_decimal_shapes(meta: int, raw: str, expected: str) -> None:
    assert repr(one(ColumnSpec(ft.NEWDECIMAL, meta), bytes.fromhex(raw))) == expected


def test_datetime2_and_time2_by_hand() -> None:
    # 2024-02-29 13:14:15.5 (fsp 1): year*13+month = 26314, packed into 40 bits with the sign bit set.
    bits = 1 << 39 | 26314 << 22 | 29 << 17 | 13 << 12 | 14 << 6 | 15
    raw = bits.to_bytes(5, "big") + bytes([50])
    assert one(ColumnSpec(ft.DATETIME2, 1), raw) == datetime(2024, 2, 29, 13, 14, 15, 500000)
    # TIME2(0) '-838:59:59': 0x800000 - (838 << 12 | 59 << 6 | 59)
    raw = (0x800000 - (838 << 12 | 59 << 6 | 59)).to_bytes(3, "big")
    assert one(ColumnSpec(ft.TIME2, 0), raw) == -timedelta(hours=838, minutes=59, seconds=59)
    # TIME2(2) '-00:00:00.01': int part -1 (0x7fffff), fraction byte 0xff
    assert one(ColumnSpec(ft.TIME2, 2), bytes.fromhex("7fffffff")) == -timedelta(microseconds=10000)


def test_timestamp_and_date_forms() -> None:
    assert one(ColumnSpec(ft.TIMESTAMP2, 0), struct.pack(">I", 1)) == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert one(ColumnSpec(ft.TIMESTAMP2, 3), bytes(6)) == "0000-00-00 00:00:00.000"
    assert one(ColumnSpec(ft.TIMESTAMP), bytes(4)) == "0000-00-00 00:00:00"
    assert one(ColumnSpec(ft.DATE), (2024 << 9 | 2 << 5 | 29).to_bytes(3, "little")) == date(2024, 2, 29)
    assert one(ColumnSpec(ft.DATE), (2024 << 9 | 0 << 5 | 29).to_bytes(3, "little")) == "2024-00-29"
    assert one(ColumnSpec(ft.DATETIME), struct.pack("<Q", 20240229131415)) == datetime(2024, 2, 29, 13, 14, 15)
    assert one(ColumnSpec(ft.TIME), (-(838 * 10000 + 5959) & 0xFFFFFF).to_bytes(3, "little")) == -timedelta(
        hours=838, minutes=59, seconds=59
    )
    assert one(ColumnSpec(ft.YEAR), b"\x00") == 0
    assert one(ColumnSpec(ft.YEAR), b"\xff") == 2155


def test_strings_binary_padding_and_prefix_sizes() -> None:
    assert one(ColumnSpec(ft.STRING, 4, pad_to=4), b"\x02\xde\xad") == b"\xde\xad\x00\x00"
    # CHAR with a max byte length >= 256 has a 2-byte length prefix
    assert one(ColumnSpec(ft.STRING, 1020, encoding="utf-8"), b"\x03\x00h\xc3\xa9") == "hé"
    assert one(ColumnSpec(ft.BLOB, 3, encoding="utf-16-be"), b"\x02\x00\x00\x00a") == "a"
    assert one(ColumnSpec(ft.VARCHAR, 10, encoding="mysql_latin1"), b"\x02\x80\x81") == "€\x81"
    assert one(ColumnSpec(ft.BIT, 13), b"\x15\x55") == 0b1010101010101
    assert one(ColumnSpec(ft.SET, 1, elems=("a", "b", "c", "d")), b"\x0d") == "a,c,d"
    assert one(ColumnSpec(ft.ENUM, 1, elems=("x", "y")), b"\x00") == ""
    assert one(ColumnSpec(ft.INT24), b"\xff\xff\xff") == -1
    assert one(ColumnSpec(ft.INT24, unsigned=True), b"\xff\xff\xff") == 16777215


def test_float_is_the_exact_32_bit_value() -> None:
    value = one(ColumnSpec(ft.FLOAT, 4), struct.pack("<f", 3.14159))
    assert value == struct.unpack("<f", struct.pack("<f", 3.14159))[0]
    assert value != 3.14159


def test_json_column_text_is_mysql_formatted() -> None:
    # {"age": 24, "data": "xxxxxxxxxx", "name": "Joe"} as MySQL 8.0.22 wrote it (json.binlog.000001)
    doc = bytes.fromhex(
        "0003003300190003001c000400200004000518000c24000c2f00616765646174616e616d650a78787878787878787878034a6f65"
    )
    assert jsonb.decode(doc) == '{"age": 24, "data": "xxxxxxxxxx", "name": "Joe"}'
    spec = ColumnSpec(ft.JSON, 4)
    assert one(spec, len(doc).to_bytes(4, "little") + doc) == '{"age": 24, "data": "xxxxxxxxxx", "name": "Joe"}'
    assert one(spec, bytes(4)) == "null"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (3.0, "3.0"),
        (-0.25, "-0.25"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (123.456, "123.456"),
        (1e14, "100000000000000.0"),
        (1e15, "1e15"),
        (1e20, "1e20"),
        (-1.2345678901234568e20, "-1.2345678901234568e20"),
        (1.5e-7, "0.00000015"),
        (1e-15, "0.000000000000001"),
        (1e-16, "1e-16"),
        (1e300, "1e300"),
        (2.5e-300, "2.5e-300"),
        (12345678.9, "12345678.9"),
    ],
)
def test_json_doubles(value: float, text: str) -> None:
    assert jsonb.decode(b"\x0b" + struct.pack("<d", value)) == text


def test_json_strings_escape_like_mysql() -> None:
    s = 'a"b\\c\n\t\x01é😀/'
    data = s.encode()
    assert jsonb.decode(b"\x0c" + bytes([len(data)]) + data) == '"a\\"b\\\\c\\n\\t\\u0001é😀/"'


def test_charsets() -> None:
    assert charsets.codec_of_collation(33) == ("utf8mb3", "utf-8")
    assert charsets.codec_of_collation(45) == ("utf8mb4", "utf-8")
    assert charsets.codec_of_collation(255) == ("utf8mb4", "utf-8")
    assert charsets.codec_of_collation(224) == ("utf8mb4", "utf-8")
    assert charsets.codec_of_collation(8) == ("latin1", "mysql_latin1")
    assert charsets.codec_of_collation(63) == ("binary", None)
    assert charsets.codec_of_collation(28) == ("gbk", "gbk")
    assert charsets.codec_of_collation(1057) == ("utf8mb3", "utf-8")  # MariaDB utf8mb3_general_nopad_ci
    assert bytes(range(256)).decode("mysql_latin1").encode("mysql_latin1") == bytes(range(256))
    with pytest.raises(ValueError, match="not supported"):
        charsets.codec_of_charset("armscii8")
    with pytest.raises(ValueError, match="not known"):
        charsets.codec_of_collation(100000)


def test_absent_and_null_columns() -> None:
    specs = (ColumnSpec(ft.LONG), ColumnSpec(ft.VARCHAR, 10, encoding="utf-8"), ColumnSpec(ft.LONG))
    # present: columns 0 and 2; the second of them is NULL
    buf = b"\x02" + struct.pack("<i", 7)
    assert compile_decoder(specs).decode_rows(buf, 0, len(buf), 0b101) == [(7, ABSENT, None)]


def test_errors_name_the_row_offset_and_reason() -> None:
    enum = compile_decoder((ColumnSpec(ft.LONG), ColumnSpec(ft.ENUM, 1, elems=("a",), name="state")))
    buf = b"\x00" + struct.pack("<i", 1) + b"\x01" + b"\x00" + struct.pack("<i", 2) + b"\x05"
    with pytest.raises(RowDecodeError, match=r"row at byte 6 .*state: ENUM index 5") as info:
        enum.decode_rows(buf, 0, len(buf), 0b11)
    assert info.value.offset == 6
    good = buf[:-1] + b"\x01"
    assert enum.decode_rows(good, 0, len(good), 0b11) == [(1, "a"), (2, "a")]
    with pytest.raises(RowDecodeError, match="do not end where"):
        enum.decode_rows(good, 0, len(good) - 1, 0b11)
    with pytest.raises(RowDecodeError, match="beyond the table"):
        enum.decode_rows(buf, 0, len(buf), 0b111)
    with pytest.raises(RowDecodeError, match="cannot be decoded"):
        compile_decoder((ColumnSpec(ft.TYPED_ARRAY),))


@pytest.mark.parametrize("ncols", [9, 17, 30, 70])
def test_wide_null_bitmaps(ncols: int) -> None:
    specs = tuple(ColumnSpec(ft.LONG) if i % 3 else ColumnSpec(ft.VARCHAR, 300, encoding="utf-8") for i in range(ncols))

    def image(nulls: set[int]) -> tuple[bytes, tuple[object, ...]]:
        bitmap = sum(1 << i for i in nulls).to_bytes((ncols + 7) // 8, "little")
        body = b"".join(
            (struct.pack("<i", -i) if i % 3 else struct.pack("<H", 2) + b"v%d" % (i % 10))
            for i in range(ncols)
            if i not in nulls
        )
        row = tuple(None if i in nulls else (-i if i % 3 else f"v{i % 10}") for i in range(ncols))
        return bitmap + body, row

    images = [image(set()), image({0, ncols - 1}), image(set(range(1, ncols, 2))), image(set(range(ncols)))]
    buf = b"".join(img for img, _ in images)
    assert compile_decoder(specs).decode_rows(buf, 0, len(buf), (1 << ncols) - 1) == [row for _, row in images]
