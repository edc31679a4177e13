"""canal-json (TiCDC's storage flavour) back into typed changes.

One JSON object per line (terminator-separated): ``type`` INSERT/UPDATE/DELETE, ``data`` (one row of strings
or nulls), ``old`` (the previous row for UPDATE; canal proper may list only the changed columns, so it is laid
over ``data``), ``_tidb.commitTs`` with the TiDB extension. ENUM is its 1-based index, SET its bit value,
binary bytes are ISO-8859-1 characters. A row that lacks a column (MINIMAL row images) cannot be replayed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from storagecdc.consumer.changes import DELETE, INSERT, UPDATE, Change
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.values import parse_columns, text_parser
from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo

SLICE_ROWS = 4096
_KINDS = {"INSERT": INSERT, "DELETE": DELETE, "UPDATE": UPDATE}


class CanalJsonReader:
    """Reads the canal-json data files of one table version."""

    def __init__(self, table: TableInfo, options: ConsumerOptions) -> None:
        self._table = table
        self._terminator = options.terminator
        self._names = table.column_names
        self._parsers = [text_parser(c, binary="latin1", canal=True) for c in table.columns]

    def _row(self, image: Any, key: str, line: int) -> list[Any]:
        if not isinstance(image, list) or len(image) != 1 or not isinstance(image[0], dict):
            raise ConsumerError(f"data file {key!r}: line {line}: data/old is not a list of one row")
        values = image[0]
        try:
            return [values[name] for name in self._names]
        except KeyError as exc:
            raise ConsumerError(f"data file {key!r}: line {line}: the row lacks column {exc.args[0]!r} "
                                "(MINIMAL row images cannot be replayed)") from None

    def _typed(self, rows: list[list[Any]], key: str) -> list[tuple[Any, ...]]:
        if not rows:
            return []
        columns = list(zip(*rows, strict=True))
        typed = parse_columns(self._parsers, columns, self._names, f"data file {key!r}")
        return list(zip(*typed, strict=True)) if typed else [() for _ in rows]

    def changes(self, data: bytes, key: str) -> Iterator[Change]:
        lines = [line for line in data.decode("utf-8", "surrogateescape").split(self._terminator) if line]
        for start in range(0, len(lines), SLICE_ROWS):
            kinds, stamps, new, old, old_at = [], [], [], [], []
            for line_no, line in enumerate(lines[start:start + SLICE_ROWS], start + 1):
                try:
                    obj = json.loads(line)
                    kind = _KINDS[obj["type"]]
                except (ValueError, KeyError, TypeError):
                    raise ConsumerError(f"data file {key!r}: line {line_no} is not a canal-json row") from None
                tidb = obj.get("_tidb")
                stamps.append(tidb.get("commitTs") if isinstance(tidb, dict) else None)
                kinds.append(kind)
                row = self._row(obj.get("data"), key, line_no)
                new.append(row)
                if kind is UPDATE:
                    before = obj.get("old")
                    if not isinstance(before, list) or not before or not isinstance(before[0], dict):
                        raise ConsumerError(f"data file {key!r}: line {line_no}: UPDATE without old values")
                    merged = dict(zip(self._names, row, strict=True))
                    merged.update(before[0])
                    old_at.append(len(kinds) - 1)
                    old.append([merged[name] for name in self._names])
            new_rows = self._typed(new, key)
            old_rows = dict(zip(old_at, self._typed(old, key), strict=True))
            for i, (kind, ts, typed) in enumerate(zip(kinds, stamps, new_rows, strict=True)):
                yield Change(kind, ts, typed, old_rows.get(i))
