"""Barrier latency and dispatcher memory, in process (``storagecdc bench barrier``).

- table DDL on a table split 16 ways: latency from the first WAITING to the last DONE, p50/p99 over rounds
  (each span has one buffered row, so the flush before WAITING does real work);
- syncpoint across 100, 1,000 and 10,000 idle dispatchers (one table each): same latency;
- memory per idle dispatcher (its writer and its maintainer registry entry), with tracemalloc.

Targets: DDL p50 < 5 ms; syncpoint over 10,000 dispatchers < 200 ms; < 10 KB per idle dispatcher.
Dispatchers run the real code over the real storage sink and an in-memory store, on 4 in-process nodes.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

from storagecdc import ddl_types
from storagecdc.dispatcher.block import BlockingDispatcher
from storagecdc.dispatcher.node import DispatcherNode
from storagecdc.dispatcher.router import Span, parse_table
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.maintainer.barrier import PendingEvent
from storagecdc.maintainer.maintainer import ClosedSpan, Maintainer
from storagecdc.messages import BlockStage, InProcessTransport, SpanInfo
from storagecdc.model import BlockScope, ColumnInfo, DDLEvent, Op, RowChanges, SyncPointEvent, TableInfo, make_ts
from storagecdc.sink.base import Sink
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage.memory import MemoryStore

NODES = ["node-1", "node-2", "node-3", "node-4"]
START = make_ts(1_700_000_000_000)
COLS = (ColumnInfo("id", "INT", nullable=False, is_pk=True), ColumnInfo("v", "INT"))


def real_sink() -> Sink:
    return StorageSink(MemoryStore("bench"), SinkOptions(date_separator="none"), clock=lambda: 0,
                       checkpoint_interval_ms=0)


@dataclass
class Cluster:
    """Nodes of dispatchers and a maintainer over a reliable in-process transport."""

    sink: Sink
    tables: dict[str, TableInfo]
    split_counts: dict[str, int] = field(default_factory=dict)
    transport: InProcessTransport = field(default_factory=InProcessTransport)
    finished: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = {n: DispatcherNode(n, self.transport) for n in NODES}
        self.maintainer = Maintainer(self.transport, self, NODES, split_counts=self.split_counts,
                                     on_finished=self._finished)
        self.maintainer.start_trigger(START)
        for name in self.tables:
            self.maintainer.add_table(name, START)

    def create(self, span: SpanInfo, start_ts: int, node: str) -> None:
        host = self.nodes[node]
        d: BlockingDispatcher
        if span.table:
            d = TableDispatcher(Span(parse_table(span.table), span.lo, span.hi), self.tables[span.table],
                                self.sink, start_ts, host.emitter())
        else:
            d = TableTriggerDispatcher(self.sink, start_ts, host.emitter())
        host.add(d)

    def close(self, dispatcher_id: str, node: str) -> ClosedSpan | None:
        d = self.nodes[node].remove(dispatcher_id)
        return None if d is None else ClosedSpan(d.checkpoint_ts)

    def _finished(self, ev: PendingEvent) -> None:
        self.finished.append(time.perf_counter())

    def dispatchers(self) -> list[BlockingDispatcher]:
        return [d for n in NODES for d in self.nodes[n].dispatchers.values()]

    def run_barrier(
        self, blocked: list[BlockingDispatcher], event: DDLEvent | SyncPointEvent
    ) -> tuple[float, float, float]:
        """Block ``blocked`` at ``event`` and drive the protocol to the end: (seconds from the first WAITING
        to the last DONE, seconds of it spent in the writer's storage write, CPU seconds of the process over
        the same interval: on a shared machine the wall time also counts time other processes had the CPU)."""
        done_before = len(self.finished)
        writing = 0.0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for d in blocked:
            d.block(event)
        for node in self.nodes.values():
            node.flush()
        writers: list[BlockingDispatcher] = []
        while len(self.finished) == done_before:
            self.transport.pump()
            writers = writers or [d for d in blocked if d.stage is BlockStage.WRITING]
            for d in writers:
                tw = time.perf_counter()
                d.step()
                writing += time.perf_counter() - tw
            for node in self.nodes.values():
                node.flush()
        return self.finished[-1] - t0, writing, time.process_time() - c0


def bench_ddl(rounds: int) -> list[tuple[float, float, float]]:
    name = "bench.orders"
    info = TableInfo(parse_table(name), COLS, START)
    c = Cluster(real_sink(), {name: info}, {name: 16})
    spans = [d for d in c.dispatchers() if isinstance(d, TableDispatcher)]
    out = []
    for r in range(rounds):
        ts = make_ts(1_700_000_000_000 + 10 * (r + 1))
        current = spans[0].table
        for i, d in enumerate(spans):
            d.append(RowChanges(current, Op.INSERT, ts - 1, [(r * 100 + i, i, *([None] * (len(current.columns) - 2)))]))
        new = TableInfo(current.name, (*current.columns, ColumnInfo(f"c{r}", "INT")), ts)
        ddl = DDLEvent(ts, f"ALTER TABLE {current.name.quoted()} ADD COLUMN `c{r}` INT", "bench",
                       ddl_types.ADD_COLUMN, BlockScope.TABLE, (current.name,), (new,))
        out.append(c.run_barrier(list(spans), ddl))
    return out


def bench_syncpoint(n: int, rounds: int) -> list[tuple[float, float, float]]:
    tables = {f"bench.t{i}": TableInfo(parse_table(f"bench.t{i}"), COLS, START) for i in range(n)}
    c = Cluster(real_sink(), tables)
    everyone = c.dispatchers()
    gc.collect()
    gc.freeze()  # a long-running process freezes its start-up heap so full collections skip it
    out = []
    for r in range(rounds):
        out.append(c.run_barrier(everyone, SyncPointEvent(make_ts(1_700_000_000_000 + 600_000 * (r + 1)))))
    gc.unfreeze()
    return out


def bench_memory(n: int) -> float:
    tables = {f"bench.t{i}": TableInfo(parse_table(f"bench.t{i}"), COLS, START) for i in range(n)}
    sink = real_sink()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    c = Cluster(sink, tables)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(c.dispatchers()) == n + 1
    return used / n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=200, help="DDL rounds (syncpoint rounds are fewer)")
    p.add_argument("--sizes", default="100,1000,10000", help="dispatcher counts for the syncpoint")
    p.add_argument("--syncpoint-rounds", type=int, default=5, help="syncpoint rounds per size")
    args = p.parse_args(argv)
    ddl = bench_ddl(args.rounds)
    total = sorted(t for t, _, _ in ddl)
    print(f"table DDL, 16 spans: p50 {statistics.median(total) * 1e3:.2f} ms, "
          f"p99 {total[int(len(total) * 0.99) - 1] * 1e3:.2f} ms over {len(ddl)} rounds (target p50 < 5 ms)")
    for n in (int(x) for x in args.sizes.split(",")):
        sp = bench_syncpoint(n, args.syncpoint_rounds)
        total = [t for t, _, _ in sp]
        protocol = [t - w for t, w, _ in sp]
        print(f"syncpoint, {n} dispatchers: p50 {statistics.median(total) * 1e3:.1f} ms "
              f"(protocol {statistics.median(protocol) * 1e3:.1f} ms + marker write "
              f"{statistics.median(w for _, w, _ in sp) * 1e3:.1f} ms), max {max(total) * 1e3:.1f} ms over "
              f"{len(sp)} rounds; CPU p50 {statistics.median(c for _, _, c in sp) * 1e3:.1f} ms"
              + (" (target < 200 ms)" if n == 10_000 else ""))
    per = bench_memory(10_000)
    print(f"memory per idle dispatcher: {per / 1024:.2f} KB (target < 10 KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
