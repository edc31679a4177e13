"""The snapshot record: ``_storagecdc/snapshot.json`` in the sink, beside the resume record.

It names the binlog position streaming starts from (the first consistent point), the changefeed's start-ts
(every table's first version), the commit-ts of the rows read in the latest attempt, and for every selected
table its state and the binlog position it was read at. The schema at the first point (the schema tracker's
state, with the versions of later attempts' TRUNCATEs) is kept apart, in ``_storagecdc/snapshot-schema.json``,
written only when it changes, so that the frequent saves of the record stay small:

- ``pending``: no row of it was handed to the sink yet (it is marked ``started`` *before* its first row is);
- ``started``: some of its rows may be durable; a later attempt continues it after the largest key in
  storage (``snapshot.durable``) or, when that cannot be known, truncates it (a TRUNCATE TABLE schema
  version) and reads it again;
- ``done``: all its rows are durable (marked after they were flushed).

``complete`` is set once every table is done and the snapshot's commit is durable. The record stays: while
the stream is still before a table's ``read-at`` position (a table read again by a later attempt), that
table's changes are dropped, since the rows read there already contain them. A table continued after a key
has ``earlier`` pieces: the rows up to each key were read at that piece's position; changes of keys in a
piece are dropped until the stream reaches the position of the piece they fall in (``snapshot.gap``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from storagecdc.errors import StorageError
from storagecdc.model import SourcePosition, TableName
from storagecdc.storage.base import ObjectStore

SNAPSHOT_KEY = "_storagecdc/snapshot.json"
SCHEMA_KEY = "_storagecdc/snapshot-schema.json"
_FORMAT = 1
PENDING, STARTED, DONE = "pending", "started", "done"


Key = tuple[int, ...]
Piece = tuple[Key | None, SourcePosition]
"""Rows with keys up to the key (None: all the rest), read at the position."""


@dataclass
class TableState:
    state: str
    read_at: SourcePosition
    """Where the rows after the last ``earlier`` key (all rows, without pieces) were read."""
    rows: int = 0
    earlier: list[tuple[Key, SourcePosition]] = field(default_factory=list)
    """Key ranges read by earlier attempts, ascending: keys up to ``key`` were read at ``position``."""
    created: str = ""
    """information_schema's CREATE_TIME at the first point: a table dropped and created again differs."""

    @property
    def after(self) -> Key | None:
        """The key the rows of ``read_at`` start after (None: from the first row)."""
        return self.earlier[-1][0] if self.earlier else None

    def pieces(self) -> list[Piece]:
        return [*self.earlier, (None, self.read_at)]


@dataclass
class SnapshotRecord:
    changefeed_id: str
    source: str
    position: SourcePosition
    """Where streaming starts: the first attempt's consistent point."""
    start_ts: int
    """The changefeed's start-ts: the version of every table's first schema."""
    rows_ts: int
    """The commit-ts of the rows of the latest attempt (the first attempt's is ``start_ts + 1``)."""
    schema_json: str
    """The schema tracker's state at ``position`` (stored under ``SCHEMA_KEY``)."""
    tables: dict[TableName, TableState] = field(default_factory=dict)
    complete: bool = False
    attempts: int = 1

    def to_json(self) -> bytes:
        doc = {
            "format": _FORMAT,
            "changefeed-id": self.changefeed_id,
            "source": self.source,
            "position": _pos_json(self.position),
            "start-ts": self.start_ts,
            "rows-ts": self.rows_ts,
            "complete": self.complete,
            "attempts": self.attempts,
            "tables": [
                {"schema": n.schema, "table": n.table, "state": t.state, "rows": t.rows,
                 "read-at": _pos_json(t.read_at),
                 "earlier": [{"upto": list(k), "read-at": _pos_json(p)} for k, p in t.earlier],
                 "created": t.created}
                for n, t in sorted(self.tables.items())
            ],
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes, schema_json: str) -> SnapshotRecord:
        try:
            doc = json.loads(data)
            if doc.get("format") != _FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            tables = {
                TableName(str(t["schema"]), str(t["table"])): TableState(
                    str(t["state"]), _pos(t["read-at"]), int(t["rows"]),
                    [(tuple(int(v) for v in e["upto"]), _pos(e["read-at"])) for e in t.get("earlier", [])],
                    str(t.get("created", "")))
                for t in doc["tables"]
            }
            return cls(str(doc["changefeed-id"]), str(doc["source"]), _pos(doc["position"]), int(doc["start-ts"]),
                       int(doc["rows-ts"]), schema_json, tables,
                       bool(doc["complete"]), int(doc["attempts"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"{SNAPSHOT_KEY}: not a valid snapshot record: {exc}") from None

    def save(self, store: ObjectStore, *, with_schema: bool = False) -> None:
        """Write the record (after the schema, when it changed)."""
        if with_schema:
            store.put(SCHEMA_KEY, self.schema_json.encode())
        store.put(SNAPSHOT_KEY, self.to_json())

    def reread_until(self) -> dict[TableName, list[Piece]]:
        """The pieces of tables (partly) read at a later point than ``position``: their changes before it are
        in their rows."""
        return {n: t.pieces() for n, t in self.tables.items()
                if any(before(self.position, p) for _, p in t.pieces())}


def read_snapshot_record(store: ObjectStore) -> SnapshotRecord | None:
    if not store.exists(SNAPSHOT_KEY):
        return None
    return SnapshotRecord.from_json(store.get(SNAPSHOT_KEY), store.get(SCHEMA_KEY).decode())


def _pos_json(p: SourcePosition) -> dict[str, object]:
    return {"file": p.file, "offset": p.offset, "gtid-set": p.gtid_set}


def _pos(doc: dict[str, object]) -> SourcePosition:
    return SourcePosition(str(doc["file"]), int(str(doc["offset"])), str(doc.get("gtid-set", "")))


def _key(p: SourcePosition) -> tuple[str, int]:
    return p.file, p.offset


def before(a: SourcePosition, b: SourcePosition) -> bool:
    """True when binlog position ``a`` comes before ``b`` (file names sort by their sequence numbers)."""
    return _key(a) < _key(b)
