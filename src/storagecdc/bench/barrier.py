"""Barrier latency and dispatcher memory, in process (``storagecdc bench barrier``, docs/performance.md).

- table DDL on a table split 16 ways: latency from the first WAITING to the last DONE, p50/p99 over rounds
  (each span has one buffered row, so the flush before WAITING does real work);
- syncpoint across 100, 1,000 and 10,000 idle dispatchers (one table each): same latency, split into the
  protocol and the writer's marker write, and the process's CPU time (on a shared machine wall time also
  counts other processes' turns); the first round, whose marker lists the store, is reported apart;
- memory per idle dispatcher (its writer and its maintainer registry entry), with tracemalloc.

Targets: DDL p50 < 5 ms; syncpoint over 10,000 dispatchers < 200 ms; < 10 KB per idle dispatcher.
Dispatchers run the real code over the real storage sink and an in-memory store, on 4 in-process nodes.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

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


class Round(NamedTuple):
    """One barrier: wall seconds from the first WAITING to the last DONE and the part of them the writer spent
    writing; CPU seconds of the process over the same interval (on a shared machine wall time also counts
    other processes' turns), and its split: blocking (flush, WAITING), up to the WRITE (the maintainer
    taking the WAITINGs, coverage, the cut), the write itself, and the PASS phase to the last DONE."""

    seconds: float
    write_seconds: float
    cpu: float
    cpu_block: float
    cpu_to_write: float
    cpu_write: float
    cpu_pass: float


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

    def run_barrier(self, blocked: list[BlockingDispatcher], event: DDLEvent | SyncPointEvent) -> Round:
        """Block ``blocked`` at ``event`` and drive the protocol to the end (see ``Round``)."""
        done_before = len(self.finished)
        writing = 0.0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for d in blocked:
            d.block(event)
        for node in self.nodes.values():
            node.flush()
        c_blocked = time.process_time()
        c_write = c_written = 0.0
        writers: list[BlockingDispatcher] = []
        while len(self.finished) == done_before:
            self.transport.pump()
            writers = writers or [d for d in blocked if d.stage is BlockStage.WRITING]
            for d in writers:
                c_write = c_write or time.process_time()
                tw = time.perf_counter()
                if d.step():
                    c_written = time.process_time()
                writing += time.perf_counter() - tw
            for node in self.nodes.values():
                node.flush()
        c_end = time.process_time()
        return Round(self.finished[-1] - t0, writing, c_end - c0, c_blocked - c0, c_write - c_blocked,
                     c_written - c_write, c_end - c_written)


def bench_ddl(rounds: int) -> list[Round]:
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


def bench_syncpoint(n: int, rounds: int) -> list[Round]:
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


@dataclass(frozen=True)
class BarrierBenchOptions:
    rounds: int = 200
    """Table DDL rounds."""
    sizes: tuple[int, ...] = (100, 1_000, 10_000)
    """Dispatcher counts of the syncpoint part."""
    syncpoint_rounds: int = 5
    """Syncpoint rounds per size, after the first (listing) round."""
    memory_dispatchers: int = 10_000
    """Idle dispatchers of the memory part."""


@dataclass(frozen=True)
class SyncpointResult:
    dispatchers: int
    first: Round
    """The first round: its marker lists the store."""
    rounds: list[Round]


@dataclass(frozen=True)
class BarrierBenchResult:
    ddl: list[Round]
    syncpoints: list[SyncpointResult]
    bytes_per_dispatcher: float


def run_barrier_bench(options: BarrierBenchOptions) -> BarrierBenchResult:
    ddl = bench_ddl(options.rounds)
    syncpoints = []
    for n in options.sizes:
        first, *rest = bench_syncpoint(n, options.syncpoint_rounds + 1)
        syncpoints.append(SyncpointResult(n, first, rest))
    return BarrierBenchResult(ddl, syncpoints, bench_memory(options.memory_dispatchers))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def write_barrier_report(result: BarrierBenchResult, out: TextIO) -> None:
    total = sorted(r.seconds for r in result.ddl)
    print(f"table DDL, 16 spans: p50 {statistics.median(total) * 1e3:.2f} ms, "
          f"p99 {total[max(int(len(total) * 0.99) - 1, 0)] * 1e3:.2f} ms over {len(total)} rounds; CPU p50 "
          f"{statistics.median(r.cpu for r in result.ddl) * 1e3:.2f} ms (target p50 < 5 ms)", file=out)
    for sp in result.syncpoints:
        rounds = sp.rounds

        def p50(field: str, rounds: list[Round] = rounds) -> str:
            return _ms(statistics.median(getattr(r, field) for r in rounds))

        protocol = _ms(statistics.median(r.seconds - r.write_seconds for r in rounds))
        print(f"syncpoint, {sp.dispatchers} dispatchers: p50 {p50('seconds')} (protocol {protocol} + marker "
              f"write {p50('write_seconds')}), max {_ms(max(r.seconds for r in rounds))} over {len(rounds)} "
              f"rounds; CPU p50 {p50('cpu')} (block {p50('cpu_block')}, to WRITE {p50('cpu_to_write')}, write "
              f"{p50('cpu_write')}, PASS {p50('cpu_pass')}); first round (lists the store) {_ms(sp.first.seconds)}"
              + (" (target < 200 ms)" if sp.dispatchers == 10_000 else ""), file=out)
    print(f"memory per idle dispatcher: {result.bytes_per_dispatcher / 1024:.2f} KB (target < 10 KB)", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``storagecdc bench barrier``."""
    parser.add_argument("--rounds", type=_positive, default=BarrierBenchOptions.rounds,
                        help="table DDL rounds (default %(default)s)")
    parser.add_argument("--sizes", type=_sizes, default=BarrierBenchOptions.sizes, metavar="N,N,...",
                        help="dispatcher counts of the syncpoint part (default 100,1000,10000)")
    parser.add_argument("--syncpoint-rounds", type=_positive, default=BarrierBenchOptions.syncpoint_rounds,
                        help="syncpoint rounds per size after the first, listing one (default %(default)s)")
    parser.add_argument("--memory-dispatchers", type=_positive, default=BarrierBenchOptions.memory_dispatchers,
                        help="idle dispatchers of the memory part (default %(default)s)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    options = BarrierBenchOptions(args.rounds, args.sizes, args.syncpoint_rounds, args.memory_dispatchers)
    write_barrier_report(run_barrier_bench(options), out)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(_positive(part.strip()) for part in text.split(","))
