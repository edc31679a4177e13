"""MySQL partial JSON updates (binlog_row_value_options=PARTIAL_JSON): parse a JSON diff, apply it.

A partial JSON column's after value is a list of diffs, each: operation (1 byte: 0 REPLACE, 1 INSERT,
2 REMOVE), path (length-encoded string such as ``$.a[2]."b c"``), and for REPLACE/INSERT the new value
(length-encoded binary JSON). Applied in order to the before image's document they give the after document.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any

from storagecdc.source.binlog import jsonb


class DiffOp(enum.IntEnum):
    REPLACE = 0
    INSERT = 1
    REMOVE = 2


PathLeg = str | int
"""An object member name or an array index."""

_LEG = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[\s]+))|\[\s*(\d+)\s*\]')


def read_lenenc(buf: bytes, pos: int) -> tuple[int, int]:
    """A MySQL length-encoded integer at ``pos``: (value, position after it)."""
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if width is None:
        raise ValueError(f"invalid length-encoded integer prefix {first:#x}")
    if pos + 1 + width > len(buf):
        raise ValueError("length-encoded integer runs past the data")
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def parse_path(path: str) -> tuple[PathLeg, ...]:
    """The legs of a MySQL JSON path without wildcards (``$``, ``.key``, ``."quoted key"``, ``[n]``)."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"JSON path {path!r} does not start with $")
    legs: list[PathLeg] = []
    pos = 1
    while pos < len(text):
        m = _LEG.match(text, pos)
        if m is None:
            raise ValueError(f"unsupported JSON path {path!r} at {pos}")
        quoted, bare, index = m.groups()
        if index is not None:
            legs.append(int(index))
        elif quoted is not None:
            legs.append(json.loads('"' + quoted + '"'))
        else:
            legs.append(bare)
        pos = m.end()
    return tuple(legs)


def parse_diffs(data: bytes) -> list[tuple[DiffOp, tuple[PathLeg, ...], Any]]:
    """The diffs of one partial JSON value: (operation, path legs, new value tree or None)."""
    diffs: list[tuple[DiffOp, tuple[PathLeg, ...], Any]] = []
    pos = 0
    while pos < len(data):
        op = DiffOp(data[pos])
        n, pos = read_lenenc(data, pos + 1)
        path = parse_path(data[pos : pos + n].decode("utf-8"))
        pos += n
        value: Any = None
        if op is not DiffOp.REMOVE:
            n, pos = read_lenenc(data, pos)
            if pos + n > len(data):
                raise ValueError("JSON diff value runs past the data")
            value = jsonb.parse(data[pos : pos + n])
            pos += n
        diffs.append((op, path, value))
    return diffs


def apply_diffs(doc: Any, diffs: list[tuple[DiffOp, tuple[PathLeg, ...], Any]]) -> Any:
    """The document after applying ``diffs`` in order (``doc`` is modified in place where possible)."""
    for op, path, value in diffs:
        if not path:
            if op is DiffOp.REMOVE:
                raise ValueError("JSON diff removes the whole document")
            doc = value
            continue
        parent = doc
        for leg in path[:-1]:
            parent = parent[leg]
        leg = path[-1]
        if isinstance(parent, list):
            if not isinstance(leg, int):
                raise ValueError(f"JSON diff path leg {leg!r} used on an array")
            if op is DiffOp.INSERT:
                parent.insert(min(leg, len(parent)), value)
            elif op is DiffOp.REPLACE:
                parent[leg] = value
            else:
                del parent[leg]
        elif isinstance(parent, dict):
            if not isinstance(leg, str):
                raise ValueError(f"JSON diff path leg {leg!r} used on an object")
            if op is DiffOp.REMOVE:
                del parent[leg]
            elif leg in parent:
                parent[leg] = value
            else:
                parent[leg] = value
                _sort_keys(parent)
        else:
            raise ValueError(f"JSON diff path {path!r} goes through a scalar")
    return doc


def _sort_keys(obj: dict[str, Any]) -> None:
    """Restore MySQL's member order (by key length in bytes, then bytewise) after adding a key."""
    items = sorted(obj.items(), key=lambda kv: (len(kv[0].encode("utf-8")), kv[0].encode("utf-8")))
    obj.clear()
    obj.update(items)


_OP_FUNCTIONS = {DiffOp.REPLACE: "JSON_REPLACE", DiffOp.INSERT: "JSON_INSERT", DiffOp.REMOVE: "JSON_REMOVE"}


def diff_text(column: int, diff: bytes) -> str:
    """The diff as ``mysqlbinlog -v`` shows it, e.g. ``JSON_REPLACE(@2, '$.age', 26)`` for column 1."""
    expr = f"@{column + 1}"
    for op, path, value in parse_diffs(diff):
        path_text = "$" + "".join(f"[{leg}]" if isinstance(leg, int) else "." + _quote_key(leg) for leg in path)
        args = f"{expr}, '{path_text}'"
        if op is not DiffOp.REMOVE:
            args += ", " + jsonb.to_text(value)
        expr = f"{_OP_FUNCTIONS[op]}({args})"
    return expr


def _quote_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", key):
        return key
    return json.dumps(key, ensure_ascii=False)


def apply_partial(before: bytes, diff: bytes) -> str:
    """The after value's JSON text: the binary JSON diff ``diff`` applied to binary JSON ``before``."""
    return jsonb.to_text(apply_diffs(jsonb.parse(before), parse_diffs(diff)))
