"""PARTIAL_UPDATE_ROWS: JSON diffs applied to the before image (MySQL binlog_row_value_options=PARTIAL_JSON)."""

from __future__ import annotations

import copy
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagecdc.model import ABSENT
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.partial_json import parse_path
from storagecdc.source.binlog.rowcodec import ColumnSpec, RowDecodeError, compile_decoder

from .encoder import enc_image, encode_json
from .strategies import JSON_SCALARS, JSON_TREES, json_text

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


def _leg(leg: str | int) -> str:
    if isinstance(leg, int):
        return f"[{leg}]"
    return "." + json.dumps(leg, ensure_ascii=False)


def _paths(tree: Any, prefix: str = "$") -> list[tuple[str, Any, Any]]:
    """(path of the container, container, leg) of every member/element of a tree."""
    out: list[tuple[str, Any, Any]] = []
    items = list(tree.items()) if isinstance(tree, dict) else list(enumerate(tree)) if isinstance(tree, list) else []
    for leg, value in items:
        out.append((prefix, tree, leg))
        out += _paths(value, prefix + _leg(leg))
    return out


KEYS = st.text(max_size=5)


@settings(max_examples=150, deadline=None)
@given(JSON_TREES.filter(lambda t: isinstance(t, (dict, list))), st.data())
def test_random_diffs_match_a_python_model(tree: Any, data: st.DataObject) -> None:
    model = copy.deepcopy(tree)
    paths = _paths(model)
    diffs = b""
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(model)
        if not paths:
            break
        where, parent, leg = data.draw(st.sampled_from(paths))
        path = where + _leg(leg)
        op = data.draw(st.sampled_from([REPLACE, REMOVE, INSERT]))
        value = data.draw(JSON_SCALARS)
        if op == REPLACE:
            parent[leg] = value
            diffs += diff(REPLACE, path, value)
        elif op == REMOVE:
            del parent[leg]
            diffs += diff(REMOVE, path)
        elif isinstance(parent, list):
            parent.insert(leg, value)
            diffs += diff(INSERT, path, value)
        else:
            key = data.draw(KEYS.filter(lambda k, p=parent: k not in p))
            parent[key] = value
            diffs += diff(INSERT, where + _leg(key), value)
    body = partial_row([1, encode_json(tree), None], [1, diffs, None], 0b01)
    assert decode(body)[1] == [(1, json_text(model), None)]
