"""The stream after a continued snapshot: changes already contained in rows read at a later point are dropped.

Streaming starts at the first attempt's consistent point. A table (or a key range of it, a piece) that a
later attempt read at a later point already contains every change up to that point, so those changes are
dropped until the stream reaches it; everything else passes. A transaction starts where the previous one
ended (the position of the last ``TxnCommit``/``DDLEvent``), and every point is a transaction boundary, so a
whole transaction is either before a point or after it.

For a table read in pieces (keys up to ``k1`` at ``P1``, the rest at ``P2``), a change applies when the
piece of its key was read before the transaction: an UPDATE whose old key is in an applied piece and whose
new key is not becomes a DELETE of the old row (the new one is among the later rows), the reverse becomes an
INSERT of the new row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from storagecdc.model import ChangeEvent, DDLEvent, Op, RowChanges, SourcePosition, TableName, TxnCommit
from storagecdc.snapshot.state import Piece, before

Row = tuple[Any, ...]


def drop_before(changes: Iterator[ChangeEvent], start: SourcePosition,
                pieces: dict[TableName, list[Piece]]) -> Iterator[ChangeEvent]:
    """``changes`` (read from ``start``) without the row changes that rows read later already contain."""
    boundary = start
    waiting = _waiting(pieces, boundary)
    while waiting:
        change = next(changes, None)
        if change is None:
            return
        if isinstance(change, RowChanges):
            table = waiting.get(change.table.name)
            if table is not None:
                yield from _applicable(change, table, boundary)
                continue
        elif isinstance(change, TxnCommit | DDLEvent) and change.position is not None:
            boundary = change.position
            waiting = _waiting(waiting, boundary)
        yield change
    yield from changes


def _waiting(pieces: dict[TableName, list[Piece]], boundary: SourcePosition) -> dict[TableName, list[Piece]]:
    return {name: ps for name, ps in pieces.items() if any(before(boundary, p) for _, p in ps)}


def _applicable(change: RowChanges, pieces: list[Piece], boundary: SourcePosition) -> Iterator[RowChanges]:
    if len(pieces) == 1:
        return  # the whole table was read later
    pk = change.table.pk_indexes

    def applies(row: Row) -> bool:
        key = tuple(row[i] for i in pk)
        for upto, read_at in pieces:
            if upto is None or key <= upto:
                return not before(boundary, read_at)
        return False

    out: list[tuple[Op, int, Row, Row | None]] = []
    if change.op is not Op.UPDATE or change.before is None:
        out = [(change.op, i, r, None) for i, r in enumerate(change.rows) if applies(r)]
    else:
        for i, (old, new) in enumerate(zip(change.before, change.rows, strict=True)):
            old_in, new_in = applies(old), applies(new)
            if old_in and new_in:
                out.append((Op.UPDATE, i, new, old))
            elif old_in:
                out.append((Op.DELETE, i, old, None))
            elif new_in:
                out.append((Op.INSERT, i, new, None))
    start = 0
    while start < len(out):  # consecutive changes of one kind stay one batch, in their order
        op, first = out[start][0], out[start][1]
        end = start
        while end < len(out) and out[end][0] is op:
            end += 1
        part = out[start:end]
        rows = [r for _, _, r, _ in part]
        olds = [o for _, _, _, o in part if o is not None] if op is Op.UPDATE else None
        yield _batch(change, op, change.seq + first, rows, olds)
        start = end


def _batch(change: RowChanges, op: Op, seq: int, rows: list[Row], olds: list[Row] | None) -> RowChanges:
    pk = change.table.pk_indexes
    changed = None
    if olds is not None:
        changed = [tuple(a[i] for i in pk) != tuple(b[i] for i in pk) for a, b in zip(rows, olds, strict=True)]
    return RowChanges(change.table, op, change.commit_ts, rows, olds, changed, seq, change.commit_time_ms,
                      change.partition_id)
