"""``Barrier``: the maintainer's side of the block-event protocol (DESIGN.md, normative).

Each pending block event is tracked by its ``BlockKey`` (commit-ts, is-syncpoint) and goes through:

1. Dispatchers flush their DML < T locally (nothing to do here).
2. Their ``WAITING`` reports arrive; each is ACKed and recorded, but only from a dispatcher that is live and
   still serves the span it reports (a report from a dispatcher removed by split/merge/move is stale).
3. Coverage: the recorded reports, plus live dispatchers whose checkpoint is already >= T, must cover every
   influenced dispatcher. A table is covered when the reported spans cover its whole hash range; a
   database-wide event needs every table of the database plus the table-trigger dispatcher; an all-table
   event needs every table plus the table-trigger dispatcher.
4. Election: exactly one writer, the table-trigger dispatcher when the event needs it, otherwise the span
   of the event's table with the lowest range start (a span already WRITING, after a maintainer restart,
   is preferred). ``WRITE(T)`` goes to it; a syncpoint's WRITE carries the cut: per span its table
   version, last data-file index, last data-file key per directory and instance token from its WAITING
   (so the marker's writer lists storage only where a span's instance changed), plus the file indexes of
   spans that ended earlier in the version.
5. The writer's ``DONE(done_action=WRITE, key=T)`` ends the write phase; a DONE from anyone else, with
   another action, another commit-ts or another syncpoint flag, is ignored and logged.
6. Only then ``PASS(T)`` goes to every other influenced dispatcher that reported WAITING (and to any that
   reports WAITING later, such as a span recreated below T); each ``DONE(done_action=PASS)`` is recorded.
   The event is finished when every live influenced dispatcher is done or has a checkpoint >= T.
7. ``resend`` repeats unanswered actions; dispatchers answer them idempotently.
8. ``topology_changed`` (split, merge, move, crash, DDL adding/dropping tables) drops reports of
   dispatchers that are gone and, if the elected writer is gone before its DONE, returns the event to
   election: no event reaches PASS without its writer's DONE. After a maintainer restart a fresh
   ``Barrier`` rebuilds its events from the pending block states in dispatchers' heartbeats, and an event
   some influenced dispatcher has already passed (checkpoint >= T) is known to be written.
"""

from __future__ import annotations

import enum
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

from storagecdc.maintainer.registry import DispatcherEntry, SpanRegistry
from storagecdc.messages import (
    HASH_SPACE,
    TRIGGER_ID,
    Ack,
    Action,
    BarrierAction,
    BlockKey,
    BlockStage,
    BlockStatus,
    CutEntry,
    Heartbeat,
    Influence,
    Message,
    Scope,
    covers_whole,
    schema_of,
)

log = logging.getLogger(__name__)

_REPORT_TABLE = operator.attrgetter("span.table")

GUARD_LIVE_REPORTERS_ONLY = True
"""TiCDC #4398 guard: reports from dispatchers no longer in the topology are ignored (and an elected
writer that disappeared is replaced), so a stale DONE cannot end the write phase."""
GUARD_DONE_MATCHES_PHASE = True
"""TiCDC #4331 guard: only the writer's DONE with done_action=WRITE and the exact key ends the write phase."""


class Phase(enum.Enum):
    WAITING = "waiting"
    WRITE = "write"
    PASS = "pass"


@dataclass(slots=True)
class PendingEvent:
    """One block event the maintainer is coordinating."""

    key: BlockKey
    influence: Influence
    phase: Phase = Phase.WAITING
    writer: str | None = None
    reports: dict[str, BlockStatus] = field(default_factory=dict)
    """WAITING/WRITING reports by dispatcher id (live dispatchers only)."""
    done: set[str] = field(default_factory=set)
    """Dispatchers that reported DONE for the event in the PASS phase (the writer included)."""
    written: bool = False
    cut: tuple[CutEntry, ...] = ()
    """A syncpoint's cut, fixed when the writer is elected."""
    count_cache: tuple[int, int] = (-1, 0)
    """(registry generation, influenced dispatcher count) of the last count."""


class Barrier:
    """Coordinates every pending block event. Not thread-safe: one maintainer loop drives it."""

    def __init__(
        self,
        registry: SpanRegistry,
        send: Callable[[str, Message], None],
        on_written: Callable[[PendingEvent], None],
        on_finished: Callable[[PendingEvent], None] | None = None,
    ) -> None:
        self._registry = registry
        self._send = send
        self._on_written = on_written
        self._on_finished = on_finished
        self.events: dict[BlockKey, PendingEvent] = {}
        self._acks: dict[tuple[str, BlockKey], list[str]] = {}
        """WAITING reports received since the last ``flush_acks``: dispatcher ids per (node, event)."""

    # -- inputs ---------------------------------------------------------------------------------------
    def on_status(self, st: BlockStatus) -> None:
        """A WAITING or DONE report from a dispatcher (steps 2, 5, 6)."""
        entry = self._registry.get(st.dispatcher_id)
        if entry is not None and st.checkpoint_ts > entry.checkpoint_ts:
            entry.checkpoint_ts = st.checkpoint_ts
        if GUARD_LIVE_REPORTERS_ONLY and (entry is None or entry.span != st.span):
            log.info("barrier %s: ignoring %s from %s, not a live dispatcher of that span",
                     st.key, st.stage.value, st.dispatcher_id)
            return
        if st.stage is BlockStage.DONE:
            self._on_done(st)
        else:
            if entry is not None:
                self._acks.setdefault((entry.node, st.key), []).append(st.dispatcher_id)
            self._on_waiting(st)

    def on_heartbeat(self, hb: Heartbeat) -> None:
        """Checkpoint progress; a pending block state rebuilds the event after a restart (step 8)."""
        self._registry.update_checkpoint(hb.dispatcher_id, hb.checkpoint_ts)
        if hb.pending is not None and hb.pending.stage is not BlockStage.DONE:
            self.on_status(hb.pending)
            return
        entry = self._registry.get(hb.dispatcher_id)
        if entry is None:
            return
        for ev in list(self.events.values()):
            if hb.checkpoint_ts >= ev.key.commit_ts and self._is_influenced(entry, ev.influence):
                # The dispatcher is past T, which it only gets after the write.
                if ev.phase is not Phase.PASS:
                    self._mark_written(ev)
                ev.done.add(hb.dispatcher_id)
                self._advance(ev)

    def topology_changed(self) -> None:
        """Dispatchers were added or removed: re-evaluate every pending event (step 8)."""
        for ev in list(self.events.values()):
            ev.done = {d for d in ev.done if self._registry.live(d)}
            if GUARD_LIVE_REPORTERS_ONLY:
                for d in [d for d, r in ev.reports.items() if not self._registry.live(d, r.span)]:
                    del ev.reports[d]
                if ev.phase is Phase.WRITE and ev.writer is not None and not self._registry.live(ev.writer):
                    log.info("barrier %s: writer %s is gone, electing again", ev.key, ev.writer)
                    ev.phase, ev.writer = Phase.WAITING, None
            self._advance(ev, full=True)

    def resend(self) -> None:
        """Repeat unanswered actions (step 7)."""
        for ev in list(self.events.values()):
            if ev.phase is Phase.WRITE and ev.writer is not None:
                self._send_action(ev, Action.WRITE, [ev.writer])
            elif ev.phase is Phase.PASS:
                self._send_action(ev, Action.PASS, [d for d in ev.reports if d not in ev.done])
            self._advance(ev, full=True)

    def flush_acks(self) -> None:
        """ACK the WAITING reports received since the last call: one ``Ack`` per node and event (the
        maintainer calls it after every incoming message, before it sends its outbox)."""
        acks, self._acks = self._acks, {}
        for (node, key), ids in acks.items():
            self._send(node, Ack(tuple(ids), key))

    # -- steps ----------------------------------------------------------------------------------------
    def _on_waiting(self, st: BlockStatus) -> None:
        ev = self.events.get(st.key)
        if ev is None:
            if st.influence is None:
                log.warning("barrier %s: WAITING from %s without influence, ignored", st.key, st.dispatcher_id)
                return
            ev = self.events[st.key] = PendingEvent(st.key, st.influence)
        ev.reports[st.dispatcher_id] = st
        if st.last_file_index:  # index 0: the span wrote no file of its version, nothing to remember
            self._registry.note_file_index(st.span.table, st.table_version, st.file_id, st.last_file_index)
        if ev.phase is Phase.PASS:
            # A span recreated below T (or a restarted writer) reached T again: it only needs to pass.
            ev.done.discard(st.dispatcher_id)
            self._send_action(ev, Action.PASS, [st.dispatcher_id])
        elif ev.phase is not Phase.WAITING or len(ev.reports) < self._influenced_count(ev):
            return  # the common case: not everyone has reported yet (``_advance`` would do nothing)
        self._advance(ev)

    def _on_done(self, st: BlockStatus) -> None:
        ev = self.events.get(st.key)
        if ev is None:
            log.debug("barrier %s: DONE from %s for no pending event", st.key, st.dispatcher_id)
            return
        if ev.phase is Phase.WRITE:
            matches = st.dispatcher_id == ev.writer and st.done_action is Action.WRITE
            if GUARD_DONE_MATCHES_PHASE and not matches:
                log.warning("barrier %s: ignoring DONE(%s) from %s in the write phase (writer %s)", st.key,
                            st.done_action, st.dispatcher_id, ev.writer)
                return
            ev.phase, ev.written = Phase.PASS, True
            ev.writer = st.dispatcher_id
            ev.done.add(st.dispatcher_id)
            self._on_written(ev)
            self._send_action(ev, Action.PASS, [d for d in ev.reports if d not in ev.done])
        elif ev.phase is Phase.PASS:
            ev.done.add(st.dispatcher_id)
            if len(ev.done) < self._influenced_count(ev):
                return  # the common case: others still have to pass (``_advance`` would do nothing)
        else:
            log.warning("barrier %s: ignoring DONE(%s) from %s before any action was sent", st.key,
                        st.done_action, st.dispatcher_id)
            return
        self._advance(ev)

    def _advance(self, ev: PendingEvent, *, full: bool = False) -> None:
        """Move ``ev`` on as far as it can go. The fast path (one report arrived) compares counts first, so
        an event over N dispatchers costs O(N) once, not once per report; ``full`` re-checks everything."""
        if full and ev.phase is not Phase.PASS:
            influenced = self._influenced(ev)
            if not influenced:
                # Its tables are gone (dropped or renamed by a later DDL), so the event finished long ago:
                # a stale WAITING or heartbeat brought it back.
                log.info("barrier %s: no influenced dispatcher is left, dropping the stale event", ev.key)
                del self.events[ev.key]
                return
            if any(e.checkpoint_ts >= ev.key.commit_ts for e in influenced):
                # Someone passed T, which only happens after the write: the writer's DONE was lost, or the
                # state was rebuilt after a restart.
                self._mark_written(ev)
        if ev.phase is Phase.WAITING and len(ev.reports) >= self._influenced_count(ev) and self._covered(ev):
            ev.writer = self._elect(ev)
            ev.phase = Phase.WRITE
            ev.cut = self._cut(ev)  # fixed at election: resends carry the same cut
            self._send_action(ev, Action.WRITE, [ev.writer])
            return
        if (
            ev.phase is Phase.PASS
            and (full or len(ev.done) >= self._influenced_count(ev))
            and self._finished(ev)
        ):
            del self.events[ev.key]
            if self._on_finished is not None:
                self._on_finished(ev)

    def _mark_written(self, ev: PendingEvent) -> None:
        ev.phase, ev.written = Phase.PASS, True
        self._on_written(ev)
        self._send_action(ev, Action.PASS, list(ev.reports))

    def _influenced_count(self, ev: PendingEvent) -> int:
        generation, n = ev.count_cache
        if generation == self._registry.generation:
            return n
        inf = ev.influence
        if inf.scope is Scope.ALL:
            n = self._registry.count()
        elif inf.scope is Scope.DATABASE:
            n = self._registry.count(schema=inf.schema)
        else:
            n = sum(self._registry.count(table=t) for t in inf.tables)
        if self._needs_trigger(inf) and self._registry.get(TRIGGER_ID) is not None:
            n += 1
        ev.count_cache = (self._registry.generation, n)
        return n

    def _is_influenced(self, e: DispatcherEntry, inf: Influence) -> bool:
        if e.dispatcher_id == TRIGGER_ID:
            return self._needs_trigger(inf)
        if inf.scope is Scope.ALL:
            return True
        if inf.scope is Scope.DATABASE:
            return schema_of(e.span.table) == inf.schema
        return e.span.table in inf.tables

    def _required_tables(self, inf: Influence) -> list[str]:
        if inf.scope is Scope.ALL:
            return self._registry.tables()
        if inf.scope is Scope.DATABASE:
            return self._registry.tables_in(inf.schema)
        return list(inf.tables)

    def _needs_trigger(self, inf: Influence) -> bool:
        return inf.needs_trigger or inf.scope is not Scope.TABLE

    def _influenced(self, ev: PendingEvent) -> list[DispatcherEntry]:
        if ev.influence.scope is Scope.ALL:
            return self._registry.entries()
        out = [e for t in self._required_tables(ev.influence) for e in self._registry.dispatchers_of(t)]
        trigger = self._registry.get(TRIGGER_ID)
        if self._needs_trigger(ev.influence) and trigger is not None:
            out.append(trigger)
        return out

    def _covered(self, ev: PendingEvent) -> bool:
        t = ev.key.commit_ts
        if self._needs_trigger(ev.influence) and TRIGGER_ID not in ev.reports:
            return False
        whole: set[str] = set()
        reported: dict[str, list[tuple[int, int]]] = {}
        for r in ev.reports.values():
            span = r.span
            if span.lo == 0 and span.hi == HASH_SPACE:
                whole.add(span.table)  # an unsplit table's one span covers it
            else:
                reported.setdefault(span.table, []).append((span.lo, span.hi))
        for table in self._required_tables(ev.influence):
            if table in whole:
                continue
            ranges = reported.get(table, [])
            if covers_whole(ranges):
                continue
            ranges += [(e.span.lo, e.span.hi) for e in self._registry.dispatchers_of(table) if e.checkpoint_ts >= t]
            if not covers_whole(ranges):
                return False
        return True

    def _elect(self, ev: PendingEvent) -> str:
        if self._needs_trigger(ev.influence):
            return TRIGGER_ID
        writing = sorted(d for d, r in ev.reports.items() if r.stage is BlockStage.WRITING)
        if writing:
            return writing[0]
        return min(ev.reports.values(), key=lambda r: (r.span.table, r.span.lo)).dispatcher_id

    def _finished(self, ev: PendingEvent) -> bool:
        t = ev.key.commit_ts
        return all(e.dispatcher_id in ev.done or e.checkpoint_ts >= t for e in self._influenced(ev))

    # -- sending --------------------------------------------------------------------------------------
    def _cut(self, ev: PendingEvent) -> tuple[CutEntry, ...]:
        if not ev.key.is_syncpoint:
            return ()
        reports = sorted(ev.reports.values(), key=_REPORT_TABLE)  # a table's reports become adjacent
        history_of = self._registry.file_indexes
        out: list[CutEntry] = []
        i, n = 0, len(reports)
        while i < n:
            r = reports[i]
            table = r.span.table
            j = i + 1
            while j < n and reports[j].span.table == table:
                j += 1
            if not table:  # the table trigger
                i = j
                continue
            group = reports[i:j]
            version = max(g.table_version for g in group) if j > i + 1 else r.table_version
            # Spans merged or split away earlier in this version wrote files of the cut too.
            history = history_of(table, version)
            if j == i + 1 and (not history or (len(history) == 1 and history.get(r.file_id, 0) <= r.last_file_index)):
                out.append(CutEntry(table, version, r.file_id, r.last_file_index, r.files, r.instance))
            else:
                entries = {g.file_id: CutEntry(table, version, g.file_id, g.last_file_index, g.files, g.instance)
                           for g in group}
                for f, index in history.items():
                    e = entries.get(f)
                    if e is None:
                        entries[f] = CutEntry(table, version, f, index)
                    elif index > e.last_index:
                        e.last_index = index
                out += [entries[f] for f in sorted(entries)]
            i = j
        return tuple(out)

    def _send_action(self, ev: PendingEvent, action: Action, targets: list[str]) -> None:
        by_node: dict[str, list[str]] = {}
        for d in targets:
            e = self._registry.get(d)
            if e is not None:
                by_node.setdefault(e.node, []).append(d)
        cut = ev.cut if action is Action.WRITE else ()
        for node, ids in sorted(by_node.items()):
            self._send(node, BarrierAction(ev.key, action, tuple(sorted(ids)), cut))

