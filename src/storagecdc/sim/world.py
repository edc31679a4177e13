"""One simulated changefeed: nodes of real dispatchers, the real maintainer and sink, a faulty network.

``World`` is the runtime's stand-in: it implements ``DispatcherControl`` (creating a dispatcher replays the
workload after its start-ts; closing one drops its buffers) and drives everything from one seeded
``random.Random`` in discrete steps. Each step is one of: deliver one in-flight message (random order),
feed one source event to one dispatcher, run one in-progress barrier write, tick (resends, heartbeats,
checkpoint), flush a dispatcher (its flush interval), and, while faults are on, split / merge / move a
span, crash and recreate a dispatcher or all of a node's, or crash and rebuild the maintainer. After the
fault phase the network turns reliable and the run must reach quiescence: every dispatcher at the end of its
input, no pending block event. Scheduling (creating and closing dispatchers) is a reliable, synchronous
control plane here; barrier messages, reports and heartbeats go through the faulty network.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from storagecdc.dispatcher.block import BlockingDispatcher
from storagecdc.dispatcher.feed import feed
from storagecdc.dispatcher.node import DispatcherNode
from storagecdc.dispatcher.router import Span, parse_table, slice_rows
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.maintainer.barrier import PendingEvent
from storagecdc.maintainer.maintainer import ClosedSpan, Maintainer
from storagecdc.maintainer.registry import DispatcherEntry
from storagecdc.messages import TRIGGER_ID, BlockStage, SpanInfo, table_key
from storagecdc.model import SourcePosition, TxnCommit
from storagecdc.sim.checks import block_object_ts
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.transport import FaultyTransport
from storagecdc.sim.workload import START_TS, Txn, Workload
from storagecdc.sink.base import Sink
from storagecdc.storage.base import ObjectStore

SinkFactory = Callable[[ObjectStore], Sink]
NODES = ("node-1", "node-2", "node-3")
POSITION = SourcePosition("sim-binlog.000001", 4)


@dataclass
class Faults:
    """Per-step probabilities of each fault while the fault phase lasts."""

    drop: float = 0.08
    duplicate: float = 0.08
    split: float = 0.015
    merge: float = 0.015
    move: float = 0.015
    crash: float = 0.01
    node_crash: float = 0.003
    maintainer_crash: float = 0.005
    fault_steps: int = 400
    max_steps: int = 6000


class World:
    """Everything of one seed's run."""

    def __init__(self, seed: int, workload: Workload, store: RecordingStore, sink_factory: SinkFactory,
                 faults: Faults | None = None) -> None:
        self.rng = random.Random(seed)
        self.w = workload
        self.store = store
        self.sink = sink_factory(store)
        self.faults = faults or Faults()
        self.transport = FaultyTransport(self.rng, self.faults.drop, self.faults.duplicate)
        self.nodes = {n: DispatcherNode(n, self.transport) for n in NODES}
        self.cursors: dict[str, int] = {}
        self.violations: list[str] = []
        self.writes: dict[int, int] = {}
        """Barrier writes executed, by commit-ts."""
        self.phase_faults: dict[str, int] = {}
        """Topology faults injected while some barrier was in each phase."""
        self.maintainer = self._new_maintainer()
        self.maintainer.start_trigger(START_TS)
        for name, versions in sorted(workload.versions.items()):
            if versions[0][0] == START_TS:
                self.maintainer.add_table(table_key(name), START_TS)

    # -- DispatcherControl ----------------------------------------------------------------------------
    def create(self, span: SpanInfo, start_ts: int, node: str) -> None:
        host = self.nodes[node]
        d: BlockingDispatcher
        if not span.table:
            d = TableTriggerDispatcher(self.sink, start_ts, host.emitter())
        else:
            name = parse_table(span.table)
            info = self.w.table_at(name, start_ts)
            if info is None:
                raise AssertionError(f"sim: no version of {name} at {start_ts} for {span}")
            d = TableDispatcher(Span(name, span.lo, span.hi), info, self.sink, start_ts, host.emitter())
        host.add(d)
        self.cursors[d.dispatcher_id] = next(
            (i for i, e in enumerate(self.w.entries) if e.commit_ts > start_ts), len(self.w.entries))

    def close(self, dispatcher_id: str, node: str) -> ClosedSpan | None:
        d = self.nodes[node].remove(dispatcher_id)
        self.cursors.pop(dispatcher_id, None)
        if d is None:
            return None
        if isinstance(d, TableDispatcher):
            version, file_id, last = d.cut_fields()
            return ClosedSpan(d.checkpoint_ts, version, file_id, last)
        return ClosedSpan(d.checkpoint_ts)

    # -- the run --------------------------------------------------------------------------------------
    def run(self) -> list[str]:
        f = self.faults
        for step in range(f.max_steps):
            if step == f.fault_steps:
                self.transport.faults = False
            if step >= f.fault_steps and self.quiescent():
                self._shutdown()
                return self.violations
            self._step(step < f.fault_steps)
            for node in self.nodes.values():
                node.flush()
            if self.violations:
                return self.violations
        pending = sorted(str(k) for k in self.maintainer.barrier.events)
        self.violations.append(f"no quiescence after {f.max_steps} steps; pending barriers {pending}")
        return self.violations

    def _step(self, faulty: bool) -> None:
        rng, f = self.rng, self.faults
        r = rng.random()
        if faulty:
            if r < f.split + f.merge + f.move + f.crash + f.node_crash + f.maintainer_crash:
                for ev in self.maintainer.barrier.events.values():
                    self.phase_faults[ev.phase.value] = self.phase_faults.get(ev.phase.value, 0) + 1
            if r < f.split:
                self.maintainer.split(self._pick_span())
                return
            r -= f.split
            if r < f.merge:
                self.maintainer.merge(self._pick_span())
                return
            r -= f.merge
            if r < f.move:
                self.maintainer.move(self._pick_any(), rng.choice(NODES))
                return
            r -= f.move
            if r < f.crash:
                self._crash_dispatcher()
                return
            r -= f.crash
            if r < f.node_crash:
                self._crash_node(rng.choice(NODES))
                return
            r -= f.node_crash
            if r < f.maintainer_crash:
                self._crash_maintainer()
                return
        r = rng.random()
        if r < 0.45 and self.transport.in_flight:
            for _ in range(rng.randint(1, 8)):
                self.transport.deliver_one()
            return
        if r < 0.75 and self._feed_one():
            return
        if r < 0.85 and self._write_one():
            return
        if r < 0.93:
            self._flush_one()
            return
        self.tick()

    def tick(self) -> None:
        for name in NODES:
            self.nodes[name].tick(heartbeat=self.rng.random() < 0.3)
        self.maintainer.tick()

    def all_dispatchers(self) -> list[tuple[str, BlockingDispatcher]]:
        return [(n, d) for n in NODES for d in self.nodes[n].dispatchers.values()]

    def _pick_span(self) -> str:
        spans = sorted(i for _, d in self.all_dispatchers() if (i := d.dispatcher_id) != TRIGGER_ID)
        return self.rng.choice(spans) if spans else TRIGGER_ID

    def _pick_any(self) -> str:
        return self.rng.choice(sorted(d.dispatcher_id for _, d in self.all_dispatchers()))

    def dispatcher(self, dispatcher_id: str) -> BlockingDispatcher:
        """The live dispatcher with that id (``KeyError`` when there is none)."""
        for _, d in self.all_dispatchers():
            if d.dispatcher_id == dispatcher_id:
                return d
        raise KeyError(dispatcher_id)

    def can_feed(self, d: BlockingDispatcher) -> bool:
        return (not d.blocked and self.cursors[d.dispatcher_id] < len(self.w.entries)
                and not (isinstance(d, TableDispatcher) and d.dropped))

    def deliver_all(self) -> None:
        for node in self.nodes.values():
            node.flush()
        while self.transport.deliver_one():
            pass

    def _feed_one(self) -> bool:
        ready = sorted(d.dispatcher_id for _, d in self.all_dispatchers() if self.can_feed(d))
        if not ready:
            return False
        self.feed(self.rng.choice(ready))
        return True

    def feed(self, did: str) -> None:
        """Give the dispatcher ``did`` its next source event."""
        d = self.dispatcher(did)
        entry = self.w.entries[self.cursors[did]]
        self.cursors[did] += 1
        if isinstance(entry, Txn):
            if isinstance(d, TableDispatcher):
                for ch in entry.changes:
                    if ch.table.name == d.table.name:
                        for part in slice_rows(ch, d.table_span):
                            feed(d, part)
            feed(d, TxnCommit(entry.commit_ts, POSITION))
        else:
            feed(d, entry)

    def _write_one(self) -> bool:
        writing = sorted(d.dispatcher_id for _, d in self.all_dispatchers() if d.stage is BlockStage.WRITING)
        if not writing:
            return False
        self.write(self.rng.choice(writing))
        return True

    def write(self, did: str) -> None:
        """Let the dispatcher ``did`` run its in-progress barrier write."""
        d = self.dispatcher(did)
        key = d.pending_key
        if d.step() and key is not None:
            self.writes[key.commit_ts] = self.writes.get(key.commit_ts, 0) + 1

    def _flush_one(self) -> None:
        ds = self.all_dispatchers()
        if ds:
            self.rng.choice(ds)[1].flush()

    def _crash_dispatcher(self) -> None:
        did = self._pick_any()
        for name in NODES:
            if self.nodes[name].remove(did) is not None:
                self.cursors.pop(did, None)
        self.maintainer.recreate(did)

    def _crash_node(self, name: str) -> None:
        """Every dispatcher of a node dies at once (its in-flight replies stay in the network); each is
        recreated from the maintainer's last known checkpoint."""
        victims = sorted(self.nodes[name].dispatchers)
        for did in victims:
            self.nodes[name].remove(did)
            self.cursors.pop(did, None)
        for did in victims:
            self.maintainer.recreate(did)

    def _crash_maintainer(self) -> None:
        self.maintainer = self._new_maintainer()
        self.maintainer.bootstrap(
            [DispatcherEntry(d.dispatcher_id, d.span, n, d.checkpoint_ts) for n, d in self.all_dispatchers()])

    def _new_maintainer(self) -> Maintainer:
        return Maintainer(self.transport, self, list(NODES), split_counts=self.w.split_counts,
                          on_finished=self._on_finished, tables_at=self.w.created_at,
                          splittable=self.w.has_pk)

    def _on_finished(self, ev: PendingEvent) -> None:
        t = ev.key.commit_ts
        if not ev.written or not self.writes.get(t) or not any(block_object_ts(r.key) == t for r in self.store.puts):
            self.violations.append(f"barrier {ev.key} finished without its WRITE")

    def quiescent(self) -> bool:
        if self.maintainer.barrier.events:
            return False
        return all(
            not d.blocked and (self.cursors[d.dispatcher_id] >= len(self.w.entries)
                               or (isinstance(d, TableDispatcher) and d.dropped))
            for _, d in self.all_dispatchers()
        )

    def _shutdown(self) -> None:
        """Graceful end: flush every dispatcher, publish the final checkpoint."""
        for _, d in self.all_dispatchers():
            d.flush()
        self.tick()
        self.deliver_all()
