"""The resume record: where to read the source again so that nothing after the checkpoint is lost.

It lives in the sink, at ``_storagecdc/resume.json``, beside the ``metadata`` checkpoint, and names the
checkpoint's commit-ts, the source position after the transaction with that commit-ts (file, offset and
executed GTID set), and the schema of every table at that point. It is written before the ``metadata``
checkpoint it matches, so the checkpoint never names a commit-ts that the changefeed could not resume from.
It never holds credentials: the source is recorded redacted. With automatic splits, it also lists the splits
in effect (``auto-splits``, see ``runtime.split_state``); the key is absent when there are none.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass

from storagecdc.errors import StorageError
from storagecdc.model import SourcePosition
from storagecdc.runtime.split_state import AutoSplit
from storagecdc.source.schema.tracker import SchemaSnapshot
from storagecdc.source.txn import AssemblerState
from storagecdc.storage.base import ObjectStore

RESUME_KEY = "_storagecdc/resume.json"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    checkpoint_ts: int
    state: AssemblerState
    source: str
    changefeed_id: str
    auto_splits: tuple[AutoSplit, ...] = ()

    def to_json(self) -> bytes:
        pos = self.state.position
        doc = {
            "format": _FORMAT,
            "changefeed-id": self.changefeed_id,
            "checkpoint-ts": self.checkpoint_ts,
            "source": self.source,
            "position": {"file": pos.file, "offset": pos.offset, "gtid-set": pos.gtid_set},
            "last-commit-ts": self.state.last_commit_ts,
            "schema": json.loads(self.state.schema_json),
        }
        if self.auto_splits:
            doc["auto-splits"] = [s.to_json() for s in self.auto_splits]
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ResumeRecord:
        try:
            doc = json.loads(data)
            if doc.get("format") != _FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            pos = doc["position"]
            state = AssemblerState(
                int(doc["last-commit-ts"]),
                SourcePosition(str(pos["file"]), int(pos["offset"]), str(pos["gtid-set"])),
                json.dumps(doc["schema"], sort_keys=True),
            )
            splits = tuple(AutoSplit.from_json(s) for s in doc.get("auto-splits", []))
            return cls(int(doc["checkpoint-ts"]), state, str(doc["source"]), str(doc["changefeed-id"]), splits)
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"{RESUME_KEY}: not a valid resume record: {exc}") from None


def read_resume(store: ObjectStore) -> ResumeRecord | None:
    if not store.exists(RESUME_KEY):
        return None
    return ResumeRecord.from_json(store.get(RESUME_KEY))


class ResumePoints:
    """Source states at transaction boundaries, kept until a checkpoint covers them.

    The schema changes only at DDL (and when a table is first learned from TABLE_MAP metadata), so a snapshot
    of it is taken only then and shared by the boundaries that follow; it becomes JSON only when a checkpoint
    picks its boundary (a changefeed learning 10,000 tables takes 10,000 cheap snapshots, not 10,000 JSON
    documents of up to 10,000 tables each).
    """

    def __init__(self) -> None:
        self._points: deque[tuple[int, SourcePosition, SchemaSnapshot]] = deque()
        self._json: tuple[SchemaSnapshot, str] | None = None

    def add(self, commit_ts: int, position: SourcePosition, schema: SchemaSnapshot) -> None:
        self._points.append((commit_ts, position, schema))

    def at(self, checkpoint_ts: int) -> AssemblerState | None:
        """The state after the last boundary with commit-ts <= ``checkpoint_ts``; older ones are dropped."""
        best = None
        points = self._points
        while points and points[0][0] <= checkpoint_ts:
            best = points.popleft()
        if best is None:
            return None
        points.appendleft(best)  # keep it: the next checkpoint may be the same
        ts, position, schema = best
        if self._json is None or self._json[0] is not schema:
            self._json = (schema, schema.to_json())
        return AssemblerState(ts, position, self._json[1])
