"""Syncpoint markers: ``_storagecdc/syncpoint/<commit-ts:020d>.json`` (this project's addition to the layout).

A marker at ``T`` is written (create-only) by the barrier writer once every table's DML with commit-ts < T
is durable. It names, for every table (real names), its version at T and, for each span (dispatcher id,
``""`` for an unsplit table), the key of the last data file in the cut in each data directory the span
wrote (several for partitioned tables or date directories). A consumer materialises the consistent state at
T by replaying, per table, every data file up to and including those keys (files in later directories or
with higher indexes are after the cut; rows with commit-ts >= T are dropped). Compact JSON, sorted, e.g.::

    {"commit-ts":434,"tables":[{"schema":"db","table":"t","version":400,
      "spans":[{"dispatcher":"","files":["db/t/400/2024-01-01/CDC00000000000000000003.csv"]}]}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storagecdc.errors import ConsumerError
from storagecdc.model import TableName
from storagecdc.storage import gojson
from storagecdc.storage.paths import build_syncpoint_key


@dataclass(frozen=True, slots=True)
class SyncpointTable:
    """One table in a syncpoint's cut."""

    name: TableName
    version: int
    spans: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Dispatcher id ("" when unsplit) -> last data-file keys in the cut, one per data directory."""


@dataclass(frozen=True, slots=True)
class SyncpointMarker:
    commit_ts: int
    tables: tuple[SyncpointTable, ...]

    @property
    def key(self) -> str:
        return build_syncpoint_key(self.commit_ts)

    def to_json(self) -> bytes:
        tables = sorted(self.tables, key=lambda t: (t.name.schema, t.name.table))
        return gojson.marshal({
            "commit-ts": self.commit_ts,
            "tables": [{
                "schema": t.name.schema,
                "table": t.name.table,
                "version": t.version,
                "spans": [{"dispatcher": span, "files": sorted(files)} for span, files in sorted(t.spans.items())],
            } for t in tables],
        })


def _require(cond: bool, key: str, what: str) -> None:
    if not cond:
        raise ConsumerError(f"syncpoint marker {key!r}: {what}")


def _table(obj: Any, key: str) -> SyncpointTable:
    _require(isinstance(obj, dict), key, "a table entry is not an object")
    schema, table, version = obj.get("schema"), obj.get("table"), obj.get("version")
    _require(isinstance(schema, str) and isinstance(table, str), key, "schema/table must be strings")
    _require(isinstance(version, int) and version >= 0, key, "version must be an unsigned integer")
    spans: dict[str, tuple[str, ...]] = {}
    for span in obj.get("spans", []):
        _require(isinstance(span, dict), key, "a span entry is not an object")
        dispatcher, files = span.get("dispatcher", ""), span.get("files", [])
        _require(isinstance(dispatcher, str), key, "dispatcher must be a string")
        _require(isinstance(files, list) and all(isinstance(f, str) for f in files), key,
                 "files must be a list of keys")
        spans[dispatcher] = tuple(files)
    return SyncpointTable(TableName(schema, table), version, spans)


def parse_syncpoint(data: bytes, key: str = "") -> SyncpointMarker:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConsumerError(f"syncpoint marker {key!r} is not valid JSON: {exc}") from exc
    _require(isinstance(obj, dict), key, "not a JSON object")
    ts = obj.get("commit-ts")
    _require(isinstance(ts, int) and ts >= 0, key, "commit-ts must be an unsigned integer")
    tables = obj.get("tables", [])
    _require(isinstance(tables, list), key, "tables must be a list")
    return SyncpointMarker(ts, tuple(_table(t, key) for t in tables))
