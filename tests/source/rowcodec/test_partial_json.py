"""PARTIAL_UPDATE_ROWS: JSON diffs applied to the before image (MySQL binlog_row_value_options=PARTIAL_JSON)."""

from __future__ import annotations

import struct

import pytest

from storagecdc.model import ABSENT
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.partial_json import parse_path
from storagecdc.source.binlog.rowcodec import ColumnSpec, RowDecodeError, compile_decoder

from .encoder import enc_image, encode_json

SPECS = (ColumnSpec(ft.LONG), ColumnSpec(ft.JSON, 4), ColumnSpec(ft.JSON, 2))
COLS = [(s.type_code, s.meta, s.unsigned) for s in SPECS]
ALL = 0b111

REPLACE, INSERT, REMOVE = 0, 1, 2


def lenenc(n: int) -> bytes:
    return bytes([n]) if n < 251 else b"\xfc" + struct.pack("<H", n)


def diff(op: int, path: str, value: object = None) -> bytes:
    p = path.encode()
    out = bytes([op]) + lenenc(len(p)) + p
    if op != REMOVE:
        doc = encode_json(value)
        out += lenenc(len(doc)) + doc
    return out


def partial_row(before: list[object], after: list[object], partial_bits: int | None, present: int = ALL) -> bytes:
    shared = b"\x00" if partial_bits is None else b"\x01" + bytes([partial_bits])
    return enc_image(COLS, before, present) + shared + enc_image(COLS, after, ALL)


def decode(body: bytes, present: int = ALL, **kw: bool) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return compile_decoder(SPECS).decode_partial_update_rows(body, 0, len(body), present, ALL, **kw)


def test_diffs_apply_in_order_and_keep_mysql_key_order() -> None:
    doc = {"a": [1, 2, 3], "name": "x", "zz": {"k": True}}
    diffs = (
        diff(REPLACE, "$.a[1]", 20)
        + diff(INSERT, "$.b", "new")
        + diff(REMOVE, "$.zz.k")
        + diff(INSERT, "$.a[9]", None)
        + diff(INSERT, '$."x y"', 1.5)
    )
    body = partial_row([1, encode_json(doc), encode_json([1])], [1, diffs, encode_json([2])], 0b01)
    before, after = decode(body)
    assert before == [(1, '{"a": [1, 2, 3], "zz": {"k": true}, "name": "x"}', "[1]")]
    assert after == [(1, '{"a": [1, 20, 3, null], "b": "new", "zz": {}, "x y": 1.5, "name": "x"}', "[2]")]


def test_second_json_column_partial_first_full_and_no_partial_rows() -> None:
    rows = partial_row(
        [1, encode_json({"a": 1}), encode_json({"n": 1})], [1, encode_json({"a": 2}), diff(REPLACE, "$.n", 2)], 0b10
    )
    rows += partial_row([2, encode_json([]), None], [2, encode_json([1]), None], None)
    before, after = decode(rows)
    assert after == [(1, '{"a": 2}', '{"n": 2}'), (2, "[1]", None)]
    assert before[1] == (2, "[]", None)


def test_whole_document_replace() -> None:
    body = partial_row([1, encode_json({"a": 1}), None], [1, diff(REPLACE, "$", [1, 2]), None], 0b01)
    assert decode(body)[1] == [(1, "[1, 2]", None)]


def test_minimal_before_image_is_an_error_unless_diff_text_is_asked_for() -> None:
    body = partial_row([1, None, None], [1, diff(REPLACE, "$.age", 26), None], 0b01, present=0b001)
    with pytest.raises(RowDecodeError, match="before value"):
        decode(body, present=0b001)
    before, after = decode(body, present=0b001, diff_text_without_before=True)
    assert before == [(1, ABSENT, ABSENT)]
    assert after == [(1, "JSON_REPLACE(@2, '$.age', 26)", None)]


def test_paths() -> None:
    assert parse_path('$.a[3]."b c".d') == ("a", 3, "b c", "d")
    assert parse_path("$") == ()
    with pytest.raises(ValueError, match="unsupported JSON path"):
        parse_path("$.a[*]")
