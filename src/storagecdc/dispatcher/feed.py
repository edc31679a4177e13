"""Feeding the source's change stream to one dispatcher, and routing it to every dispatcher.

``feed`` gives one dispatcher one event of the model's stream (its own slice of row changes, commits,
resolved-ts, DDL, syncpoints); ``Router`` splits the stream over the current dispatchers. A blocked
dispatcher takes no input until its barrier is done: whoever drives it keeps the rest queued (``feed``
refuses, so a runtime bug cannot slip DML past a barrier).
"""

from __future__ import annotations

from storagecdc.dispatcher.block import BlockingDispatcher
from storagecdc.dispatcher.router import Span, ddl_blocks_table, slice_rows
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.errors import BarrierProtocolError
from storagecdc.model import ChangeEvent, DDLEvent, ResolvedTs, RowChanges, SyncPointEvent, TableName, TxnCommit


def blocks(d: BlockingDispatcher, ddl: DDLEvent) -> bool:
    """True when ``ddl`` is a block event for dispatcher ``d``."""
    if isinstance(d, TableDispatcher):
        return ddl_blocks_table(ddl, d.table.name)
    return TableTriggerDispatcher.wants(ddl)


def feed(d: BlockingDispatcher, event: ChangeEvent) -> None:
    """Give ``d`` one event: rows are appended (already sliced to its span), commits and resolved-ts advance
    its checkpoint, a DDL blocking it or a syncpoint starts its barrier, any other DDL just passes."""
    if d.blocked:
        raise BarrierProtocolError(f"dispatcher {d.dispatcher_id}: input while blocked at {d.pending_key}")
    if isinstance(event, RowChanges):
        if not isinstance(d, TableDispatcher):
            raise BarrierProtocolError(f"dispatcher {d.dispatcher_id}: row changes of {event.table.name}")
        d.append(event)
    elif isinstance(event, TxnCommit):
        d.resolved(event.commit_ts + 1)
    elif isinstance(event, ResolvedTs):
        d.resolved(event.ts)
    elif isinstance(event, SyncPointEvent) or blocks(d, event):
        d.block(event)
    else:
        d.resolved(event.commit_ts + 1)


class Router:
    """Which dispatcher gets which part of the stream, for the dispatchers that exist now.

    The runtime calls ``add``/``remove`` as the maintainer creates and closes dispatchers.
    """

    def __init__(self) -> None:
        self._spans: dict[TableName, list[Span]] = {}
        self._all: list[str] = []

    def add(self, span: Span) -> None:
        self._spans.setdefault(span.table, []).append(span)
        self._all.append(span.dispatcher_id)

    def add_trigger(self, dispatcher_id: str) -> None:
        self._all.append(dispatcher_id)

    def remove(self, dispatcher_id: str) -> None:
        self._all.remove(dispatcher_id)
        for table, spans in list(self._spans.items()):
            self._spans[table] = [s for s in spans if s.dispatcher_id != dispatcher_id]
            if not self._spans[table]:
                del self._spans[table]

    def route(self, event: ChangeEvent) -> list[tuple[str, ChangeEvent]]:
        """(dispatcher id, event) pairs: row changes to the spans owning their keys, everything else to every
        dispatcher (each decides with ``feed`` whether a DDL blocks it)."""
        if isinstance(event, RowChanges):
            return [(s.dispatcher_id, part) for s in self._spans.get(event.table.name, [])
                    for part in slice_rows(event, s)]
        return [(d, event) for d in self._all]
