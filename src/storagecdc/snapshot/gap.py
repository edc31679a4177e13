"""The stream after a resumed snapshot: changes of tables read again at a later point are dropped up to it.

Streaming starts at the first attempt's consistent point. A table that a later attempt read (again) at a
later point already contains every change up to that point, so its row changes in transactions that start
before it are dropped; everything else passes. A transaction starts where the previous one ended (the
position of the last ``TxnCommit``/``DDLEvent``), and every point is a transaction boundary, so a whole
transaction is either before a point or after it.
"""

from __future__ import annotations

from collections.abc import Iterator

from storagecdc.model import ChangeEvent, DDLEvent, RowChanges, SourcePosition, TableName, TxnCommit
from storagecdc.snapshot.state import before


def drop_before(changes: Iterator[ChangeEvent], start: SourcePosition,
                read_at: dict[TableName, SourcePosition]) -> Iterator[ChangeEvent]:
    """``changes`` (read from ``start``) without the row changes of table ``t`` before ``read_at[t]``."""
    boundary = start
    waiting = {name: pos for name, pos in read_at.items() if before(boundary, pos)}
    while waiting:
        change = next(changes, None)
        if change is None:
            return
        if isinstance(change, RowChanges):
            if change.table.name in waiting:
                continue
        elif isinstance(change, TxnCommit | DDLEvent) and change.position is not None:
            boundary = change.position
            waiting = {name: pos for name, pos in waiting.items() if before(boundary, pos)}
        yield change
    yield from changes
