"""Table spans and routing: which dispatcher gets which row change.

A table is split into spans over a fixed hash space ``[0, HASH_SPACE)`` of its primary-key values; the same
key always hashes to the same point, so per-row order is kept inside one span. Tables without a primary key
stay whole (every row goes to point 0). Dispatcher ids are stable functions of (table, range), so a span that
is recreated from its checkpoint (moved, or restarted after a crash) keeps its id and its file names.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from storagecdc.messages import HASH_SPACE, SpanInfo, parse_table_key, table_key
from storagecdc.model import DDLEvent, Op, RowChanges, TableName


def key_point(key: tuple[Any, ...]) -> int:
    """The hash point of a primary-key value tuple (stable across processes and runs)."""
    return zlib.crc32(repr(key).encode()) % HASH_SPACE


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """One dispatcher's share of a table: the hash range [lo, hi)."""

    table: TableName
    lo: int = 0
    hi: int = HASH_SPACE

    @property
    def whole(self) -> bool:
        return self.lo == 0 and self.hi == HASH_SPACE

    def info(self) -> SpanInfo:
        return SpanInfo(table_key(self.table), self.lo, self.hi)

    @property
    def dispatcher_id(self) -> str:
        return self.info().dispatcher_id

    @property
    def file_id(self) -> str | None:
        """The id in a split span's file names (``CDC_<id>_<idx>``); None for a whole table."""
        return self.info().file_id

    def contains(self, point: int) -> bool:
        return self.lo <= point < self.hi


TRIGGER_SPAN = SpanInfo("", 0, 0)
"""The table-trigger dispatcher's (empty) span."""


def parse_table(name: str) -> TableName:
    """The ``TableName`` of a span's table key (``messages.parse_table_key``)."""
    return parse_table_key(name)


def slice_rows(changes: RowChanges, span: Span) -> list[RowChanges]:
    """The part of ``changes`` whose keys fall into ``span`` (empty when no row does).

    An UPDATE that moves a primary key across spans becomes a DELETE of the old key in the old key's span and
    an INSERT of the new key in the new key's span (deletes before inserts, after the in-span updates).
    """
    pk = changes.table.pk_indexes
    if span.whole:
        return [changes]
    if not pk:
        return [changes] if span.contains(0) else []
    rows: list[tuple[Any, ...]] = []
    before: list[tuple[Any, ...]] = []
    moved_out: list[tuple[Any, ...]] = []
    moved_in: list[tuple[Any, ...]] = []
    flags: list[bool] = []
    moving = changes.op is Op.UPDATE and changes.before is not None and changes.pk_changed is not None
    for i, row in enumerate(changes.rows):
        p = key_point(tuple(row[j] for j in pk))
        if moving and changes.pk_changed is not None and changes.before is not None and changes.pk_changed[i]:
            old = changes.before[i]
            q = key_point(tuple(old[j] for j in pk))
            if span.contains(p) and span.contains(q):
                rows.append(row)
                before.append(old)
                flags.append(True)
            elif span.contains(q):
                moved_out.append(old)
            elif span.contains(p):
                moved_in.append(row)
        elif span.contains(p):
            rows.append(row)
            flags.append(False)
            if changes.before is not None:
                before.append(changes.before[i])
    if len(rows) == len(changes.rows):
        return [changes]
    out: list[RowChanges] = []
    if rows:
        out.append(
            RowChanges(
                changes.table,
                changes.op,
                changes.commit_ts,
                rows,
                before if changes.before is not None else None,
                flags if changes.pk_changed is not None else None,
                changes.seq,
                changes.commit_time_ms,
                changes.partition_id,
            )
        )
    for op, part in ((Op.DELETE, moved_out), (Op.INSERT, moved_in)):
        if part:
            out.append(
                RowChanges(
                    changes.table, op, changes.commit_ts, part, None, None, changes.seq, changes.commit_time_ms,
                    changes.partition_id,
                )
            )
    return out


def ddl_blocks_table(ddl: DDLEvent, table: TableName) -> bool:
    """True when ``ddl`` blocks the dispatchers of ``table``."""
    if ddl.scope.value == "all":
        return True
    if ddl.scope.value == "database":
        return table.schema == ddl.schema
    return table in ddl.tables
