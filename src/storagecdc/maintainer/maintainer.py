"""``Maintainer``: span scheduling (create, split, merge, move), the barrier, checkpoint aggregation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from storagecdc.maintainer.barrier import Barrier, PendingEvent
from storagecdc.maintainer.registry import DispatcherEntry, SpanRegistry
from storagecdc.messages import (
    MAINTAINER,
    TRIGGER_ID,
    Batch,
    BlockStatus,
    CheckpointAdvance,
    Heartbeat,
    Message,
    Outbox,
    SpanInfo,
    Transport,
    even_ranges,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClosedSpan:
    """What a gracefully closed dispatcher leaves behind: its durable checkpoint and file position."""

    checkpoint_ts: int
    table_version: int = 0
    file_id: str = ""
    last_file_index: int = 0


class DispatcherControl(Protocol):
    """The runtime's side of scheduling: create and close dispatchers on nodes."""

    def create(self, span: SpanInfo, start_ts: int, node: str) -> None:
        """Start a dispatcher for ``span`` (``SpanInfo("", 0, 0)``: the table trigger) replaying after
        ``start_ts``, on ``node``."""
        ...

    def close(self, dispatcher_id: str, node: str) -> ClosedSpan | None:
        """Close the dispatcher (dropping unflushed buffers); None when it is not there (crashed)."""
        ...


class Maintainer:
    """Owns the span registry and the barrier; talks to dispatchers only through messages."""

    def __init__(
        self,
        transport: Transport,
        control: DispatcherControl,
        nodes: list[str],
        *,
        split_counts: dict[str, int] | None = None,
        on_finished: Callable[[PendingEvent], None] | None = None,
        tables_at: Callable[[int], dict[str, int]] | None = None,
        splittable: Callable[[str], bool] | None = None,
    ) -> None:
        """``split_counts`` maps ``schema.table`` to its number of spans (``{"shop.orders": 4}``).
        ``tables_at(ts)`` is the schema store's view: every table existing at ``ts``, with the commit-ts it
        came into existence; without it, tables are created only by the DDL writes this maintainer sees.
        ``splittable(table)`` is False for tables without a primary key, which always stay whole."""
        if not nodes:
            raise ValueError("a maintainer needs at least one dispatcher node")
        self.registry = SpanRegistry()
        self.nodes = list(nodes)
        self.split_counts = dict(split_counts or {})
        self._control = control
        self._transport = transport
        self._outbox = Outbox(MAINTAINER, transport)
        self._placed = 0
        self._tables_at = tables_at
        self._splittable = splittable or (lambda table: True)
        self.barrier = Barrier(self.registry, self._send, self._on_written, on_finished)
        transport.register(MAINTAINER, self.on_message)

    # -- messages -------------------------------------------------------------------------------------
    def on_message(self, sender: str, msg: Message) -> None:
        """Handle a message (a node's ``Batch`` in order); replies go out batched per node."""
        on_status = self.barrier.on_status
        for m in msg.messages if isinstance(msg, Batch) else (msg,):
            if type(m) is BlockStatus and m.dispatcher_id != TRIGGER_ID:
                on_status(m)  # the bulk of a barrier: one report per dispatcher, straight to the barrier
            else:
                self._handle(sender, m)
        self.flush()

    def _handle(self, sender: str, msg: Message) -> None:
        if isinstance(msg, BlockStatus):
            if msg.dispatcher_id == TRIGGER_ID:
                self._trigger_progress(msg.checkpoint_ts)
            self.barrier.on_status(msg)
        elif isinstance(msg, Heartbeat):
            if msg.dispatcher_id == TRIGGER_ID:
                self._trigger_progress(msg.checkpoint_ts)
            self.barrier.on_heartbeat(msg)
        elif isinstance(msg, Batch):
            for m in msg.messages:
                self._handle(sender, m)
        else:
            log.warning("maintainer: unexpected %s from %s", type(msg).__name__, sender)

    def _trigger_progress(self, checkpoint_ts: int) -> None:
        """Tables the trigger has passed the creation of must have spans before any coverage check."""
        self.registry.update_checkpoint(TRIGGER_ID, checkpoint_ts)
        self._reconcile()

    def tick(self) -> None:
        """Resend unanswered actions and publish the aggregated checkpoint to the table trigger."""
        self.barrier.resend()
        self._reconcile()
        ckpt = self.checkpoint_ts()
        trigger = self.registry.get(TRIGGER_ID)
        if ckpt is not None and trigger is not None:
            self._send(trigger.node, CheckpointAdvance(ckpt))
        self.flush()

    def checkpoint_ts(self) -> int | None:
        """Every change with commit-ts <= this is durable everywhere.

        The minimum over live dispatchers, and below every block event not yet written (its DDL may create
        tables whose dispatchers do not exist yet).
        """
        ckpt = self.registry.min_checkpoint()
        unwritten = [k.commit_ts - 1 for k, ev in self.barrier.events.items() if not ev.written]
        if ckpt is None or not unwritten:
            return ckpt
        return min(ckpt, *unwritten)

    # -- scheduling -----------------------------------------------------------------------------------
    def bootstrap(self, entries: list[DispatcherEntry]) -> None:
        """Rebuild the registry from the nodes' dispatchers after a maintainer restart."""
        for e in entries:
            self.registry.add(e)
        self._reconcile()
        self._changed()

    def _reconcile(self) -> None:
        """Create the spans of every table that exists at the table trigger's checkpoint but has none.

        Such a table was created by a DDL whose write this maintainer never saw finish (the writer's DONE was
        lost, or the write finished across a maintainer restart); its spans replay from its creation.
        """
        trigger = self.registry.get(TRIGGER_ID)
        if self._tables_at is None or trigger is None:
            return
        for table, created in sorted(self._tables_at(trigger.checkpoint_ts).items()):
            if not self.registry.dispatchers_of(table):
                for lo, hi in self._ranges(table):
                    span = SpanInfo(table, lo, hi)
                    self._create(span, created, span.dispatcher_id)

    def start_trigger(self, start_ts: int) -> None:
        self._create(SpanInfo("", 0, 0), start_ts, TRIGGER_ID)

    def add_table(self, table: str, start_ts: int) -> None:
        """Create the spans of a table (split per ``split_counts``) replaying after ``start_ts``."""
        for lo, hi in self._ranges(table):
            span = SpanInfo(table, lo, hi)
            self._create(span, start_ts, span.dispatcher_id)
        self._changed()

    def split(self, dispatcher_id: str, parts: int = 2) -> bool:
        """Split a span into ``parts`` even ranges (halves by default); False when it cannot be split.

        A whole table split into N parts gets the spans (and dispatcher ids) ``split_counts`` N would give it.
        """
        e = self.registry.get(dispatcher_id)
        if e is None or dispatcher_id == TRIGGER_ID or parts < 2 or e.span.hi - e.span.lo < parts:
            return False
        if not self._splittable(e.span.table):
            return False
        ckpt = self._close(e)
        lo, width = e.span.lo, e.span.hi - e.span.lo
        for i in range(parts):
            span = SpanInfo(e.span.table, lo + width * i // parts, lo + width * (i + 1) // parts)
            self._create(span, ckpt, span.dispatcher_id)
        self._changed()
        return True

    def merge(self, dispatcher_id: str) -> bool:
        """Merge a span with its right neighbour; False when it has none."""
        e = self.registry.get(dispatcher_id)
        if e is None or dispatcher_id == TRIGGER_ID:
            return False
        right = next((r for r in self.registry.dispatchers_of(e.span.table) if r.span.lo == e.span.hi), None)
        if right is None:
            return False
        ckpt = min(self._close(e), self._close(right))
        span = SpanInfo(e.span.table, e.span.lo, right.span.hi)
        self._create(span, ckpt, span.dispatcher_id)
        self._changed()
        return True

    def move(self, dispatcher_id: str, node: str) -> bool:
        """Close a dispatcher and recreate it from its checkpoint on ``node``."""
        e = self.registry.get(dispatcher_id)
        if e is None:
            return False
        ckpt = self._close(e)
        self._create(e.span, ckpt, dispatcher_id, node)
        self._changed()
        return True

    def recreate(self, dispatcher_id: str) -> bool:
        """Restart a crashed dispatcher from the last checkpoint the maintainer knows."""
        e = self.registry.get(dispatcher_id)
        if e is None:
            return False
        self._control.close(dispatcher_id, e.node)
        self.registry.remove(dispatcher_id)
        self._create(e.span, e.checkpoint_ts, dispatcher_id, e.node)
        self._changed()
        return True

    # -- internals ------------------------------------------------------------------------------------
    def _on_written(self, ev: PendingEvent) -> None:
        t = ev.key.commit_ts
        for table in ev.influence.dropped:
            for e in self.registry.dispatchers_of(table):
                self._close(e)
        for table in ev.influence.added:
            if not self.registry.dispatchers_of(table):
                for lo, hi in self._ranges(table):
                    span = SpanInfo(table, lo, hi)
                    self._create(span, t, span.dispatcher_id)

    def _create(self, span: SpanInfo, start_ts: int, dispatcher_id: str, node: str | None = None) -> None:
        if node is None:
            node = self.nodes[self._placed % len(self.nodes)]
            self._placed += 1
        self.registry.add(DispatcherEntry(dispatcher_id, span, node, start_ts))
        self._control.create(span, start_ts, node)

    def _close(self, e: DispatcherEntry) -> int:
        closed = self._control.close(e.dispatcher_id, e.node)
        self.registry.remove(e.dispatcher_id)
        if closed is None:
            return e.checkpoint_ts
        if closed.table_version:
            self.registry.note_file_index(e.span.table, closed.table_version, closed.file_id,
                                          closed.last_file_index)
        return closed.checkpoint_ts

    def _ranges(self, table: str) -> list[tuple[int, int]]:
        return even_ranges(self.split_counts.get(table, 1) if self._splittable(table) else 1)

    def _changed(self) -> None:
        self.barrier.topology_changed()
        self.flush()

    def _send(self, node: str, msg: Message) -> None:
        self._outbox.put(node, msg)

    def flush(self) -> None:
        """Send what scheduling, a tick or a message produced (every public entry point ends with it)."""
        self.barrier.flush_acks()
        self._outbox.flush()
