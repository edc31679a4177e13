"""One changefeed in one process: source events through dispatchers and the barrier into the sink.

The source's change events arrive in commit order. Row batches go to the dispatchers of their table (one per
span of a split table); a DDL or syncpoint blocks the dispatchers it influences, and the changefeed then
drives the in-process transport until the maintainer has finished the barrier (WRITE by one dispatcher, PASS
to the others) before it reads further. Periodically it flushes tables whose oldest change is older than
the flush interval, lets idle dispatchers advance, and publishes the checkpoint: first the resume record,
then (through the table-trigger dispatcher) the ``metadata`` object.

With ``[scheduler] split-rows-per-second``, a whole table whose rate of row changes (commit-ts time) exceeds
the threshold is split at a transaction boundary: its dispatcher makes its data durable (data, then index
files) and is closed, and ``split-number`` span dispatchers with their own ids take over the table version
(``runtime.split_state`` says what a restart keeps of it).

``storagecdc run`` attaches ``RunHooks`` (fencing, progress, metrics) to the changefeed that ``replicate()``
builds with ``with attached(hooks): replicate(...)``: the hooks wrap its object store and see it start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Protocol

from storagecdc.config import ChangefeedConfig
from storagecdc.dispatcher.autosplit import AutoSplitPolicy
from storagecdc.dispatcher.block import BlockingDispatcher
from storagecdc.dispatcher.node import DispatcherNode
from storagecdc.dispatcher.router import Span, ddl_blocks_table, parse_table, slice_rows
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.errors import BarrierProtocolError, SourceError
from storagecdc.maintainer.maintainer import ClosedSpan, Maintainer
from storagecdc.messages import TRIGGER_ID, BlockStage, InProcessTransport, SpanInfo, table_key
from storagecdc.model import (
    ChangeEvent,
    DDLEvent,
    ResolvedTs,
    RowChanges,
    SourcePosition,
    SyncPointEvent,
    TableInfo,
    TableName,
    TxnCommit,
    make_ts,
    ts_physical_ms,
)
from storagecdc.runtime.resume import RESUME_KEY, ResumePoints, ResumeRecord
from storagecdc.runtime.split_state import AutoSplit, AutoSplits, SplitDecision
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.sink.writer import wall_clock_ms
from storagecdc.source.schema.tracker import SchemaSnapshot
from storagecdc.source.txn import AssemblerState, TransactionAssembler
from storagecdc.storage.base import ObjectStore

log = logging.getLogger(__name__)

NODE = "local"
TICK_MS = 200
"""How often (wall clock) flush intervals are checked, and at most how often idle tables advance and the
checkpoint is published."""
PUBLISH_CPU_SHARE = 10
"""The checkpoint round (every dispatcher's heartbeat, the maintainer's minimum) waits this many times its own
CPU time before the next one, so that with 10,000 tables it takes about a tenth of a CPU, not all of it;
with a few hundred tables it runs every tick."""
_SETTLE_ROUNDS = 10_000
CHECKPOINT_INTERVAL_MS = 2_000
"""How often an idle changefeed rewrites its resume record as the live source's position moves on."""


@dataclass(slots=True)
class Counters:
    """What the changefeed has done so far (progress lines and metrics read these)."""

    rows: int = 0
    transactions: int = 0
    ddl: int = 0
    syncpoints: int = 0
    checkpoint_ts: int = 0
    rows_by_table: dict[tuple[str, str], int] = field(default_factory=dict)
    """(``schema.table``, op letter I/U/D) -> rows."""
    auto_splits: int = 0
    """Tables split automatically (``split-rows-per-second``)."""
    barriers: int = 0
    barrier_seconds: float = 0.0
    """Wall time spent in block events (local flush, WAITING, WRITE, PASS), summed over ``barriers``."""


class RunHooks(Protocol):
    """What ``storagecdc run`` attaches to its changefeed (see ``attached``)."""

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        """The store the changefeed writes through (fencing, metrics), wrapping ``store``."""
        ...

    def started(self, feed: Changefeed) -> None:
        """The changefeed exists and is about to read its source."""
        ...


_HOOKS: ContextVar[RunHooks | None] = ContextVar("storagecdc_run_hooks", default=None)


@contextlib.contextmanager
def attached(hooks: RunHooks) -> Iterator[None]:
    """Every ``Changefeed`` built inside the block (by ``replicate()``) is given ``hooks``."""
    token = _HOOKS.set(hooks)
    try:
        yield
    finally:
        _HOOKS.reset(token)


class Changefeed:
    """Replicates one stream of change events into one sink. Not thread-safe; ``stop()`` may be called from a
    signal handler: the changefeed finishes the event at hand, flushes and publishes its checkpoint."""

    def __init__(
        self,
        config: ChangefeedConfig,
        store: ObjectStore,
        assembler: TransactionAssembler,
        *,
        source_name: str,
        clock: Callable[[], int] = wall_clock_ms,
        start_ts: int | None = None,
        auto_splits: tuple[AutoSplit, ...] = (),
        snapshot_ts: int = 0,
    ) -> None:
        """``auto_splits`` are the resume record's: the automatic splits of the run being resumed.
        ``snapshot_ts``: the commit-ts of an initial snapshot's rows, which the automatic split does not count."""
        hooks = _HOOKS.get()
        if hooks is not None:
            store = hooks.wrap_store(store)
        self.config = config
        self.store = store
        self.assembler = assembler
        self.sink = StorageSink(store, config.sink, clock=clock)
        self.clock = clock
        self.counters = Counters()
        self._source_name = source_name
        self._transport = InProcessTransport()
        self._node = DispatcherNode(NODE, self._transport)
        self._tables: dict[TableName, TableInfo] = {}
        self._created: dict[str, int] = {}
        self._spans: dict[TableName, list[TableDispatcher]] = {}
        self._trigger: TableTriggerDispatcher | None = None
        self._maintainer: Maintainer | None = None
        self._start_ts = start_ts
        self._points = ResumePoints()
        self._schema_generation = -1
        self._scheduled_generation = -1
        """The schema generation at which every table last got a dispatcher (``_schedule_every_table``)."""
        self._schema: SchemaSnapshot | None = None
        self._published = start_ts or 0
        self._position_published: SourcePosition | None = None
        self._position_published_ms = 0
        self._next_tick = 0
        self._next_publish = 0
        self._touched: set[TableDispatcher] = set()
        interval = config.sync_point_interval_ms
        self._sync_interval = interval
        self._next_sync = 0
        self._stopping = False
        rate = config.split_rows_per_second
        policy = AutoSplitPolicy(rate, config.split_number, quiet_until=snapshot_ts) if rate else None
        self._splits = AutoSplits(policy, auto_splits, start_ts or 0)
        if hooks is not None:
            hooks.started(self)

    # ---- public ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the changefeed to stop after the event at hand (SIGINT/SIGTERM)."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run(self, changes: Iterable[ChangeEvent], until: Callable[[], bool] | None = None) -> int:
        """Replicate until the stream ends, ``until()`` holds at a transaction boundary, or ``stop()``.

        Returns the final checkpoint: every change with a commit-ts at or below it is durable.
        """
        for change in self._durable_before_damage(changes):
            if isinstance(change, RowChanges):
                self._rows(change)
            elif isinstance(change, TxnCommit):
                self._commit(change)
                if self._stopping or (until is not None and until()):
                    break
            elif isinstance(change, DDLEvent):
                self._ddl(change)
                if self._stopping:
                    break
            elif isinstance(change, ResolvedTs):
                self._tick(force=False)
                if self._stopping:
                    break
        return self.finish()

    def _durable_before_damage(self, changes: Iterable[ChangeEvent]) -> Iterable[ChangeEvent]:
        """On a ``SourceError`` (damaged input), finish first: every complete transaction before the damage
        becomes durable and checkpointed (rows of an unfinished one are buffered only if it was streamed,
        and then nothing is flushed), then the error propagates."""
        try:
            yield from changes
        except SourceError:
            if not self._touched:
                self.finish()
            raise

    def finish(self) -> int:
        """Flush everything, publish the final checkpoint and close the sink."""
        if self._maintainer is None:
            self._publish_position(force=True)
            if self._published:  # resumed with nothing left to read: a kill may have left metadata behind
                self.sink.write_checkpoint(self._published, force=True)
            self.sink.close()
            return self._published
        with self.sink.uploads.deferred():  # every table's files upload at once; durable at the block's end
            for d in list(self._node.dispatchers.values()):
                d.flush()
        self._advance_idle()
        self._settle()
        checkpoint = self._publish(force=True)
        self.sink.close()
        return checkpoint

    # ---- events ------------------------------------------------------------------------------------------

    def _rows(self, change: RowChanges) -> None:
        self._before(change.commit_ts)
        spans = self._spans.get(change.table.name)
        if spans is None:
            spans = self._add_table(change.table)
        if len(spans) == 1 and spans[0].table_span.whole:
            d = spans[0]
            d.append(change)
            self._touched.add(d)
            if self._splits.policy is not None:
                self._splits.policy.observe(change.table.name, change.commit_ts, len(change.rows))
        else:
            for d in spans:
                for part in slice_rows(change, d.table_span):
                    d.append(part)
                    self._touched.add(d)
        self.counters.rows += len(change.rows)
        key = (str(change.table.name), change.op.value)
        by_table = self.counters.rows_by_table
        by_table[key] = by_table.get(key, 0) + len(change.rows)

    def _commit(self, commit: TxnCommit) -> None:
        self._before(commit.commit_ts)
        resolved = commit.commit_ts + 1
        for d in self._touched:
            d.resolved(resolved)
        self._touched.clear()
        if self._splits.active:
            for decision in self._splits.due(commit.commit_ts):
                self._auto_split(decision, commit.commit_ts)
        self.counters.transactions += 1
        self._remember(commit.commit_ts)
        self._tick(force=False)

    def _ddl(self, ddl: DDLEvent) -> None:
        self._before(ddl.commit_ts)
        for d in self._touched:
            d.resolved(ddl.commit_ts)
        self._touched.clear()
        tables = tuple(name for name in ddl.tables if self._has_spans(name))
        if tables != ddl.tables:  # tables never seen here have nothing buffered: nobody needs to wait for them
            ddl = replace(ddl, tables=tables)
        for name in ddl.dropped:
            self._tables.pop(name, None)
            self._created.pop(table_key(name), None)
            self._forget_split(name)
        for info in ddl.new_tables:
            self._tables[info.name] = info
            self._created.setdefault(table_key(info.name), ddl.commit_ts)
        spans = [d for name, ds in self._spans.items() if ddl_blocks_table(ddl, name) for d in ds]
        if spans or TableTriggerDispatcher.wants(ddl):
            self._block(ddl, spans)
        else:
            self.sink.write_ddl(ddl)
        self.counters.ddl += 1
        self._remember(ddl.commit_ts)

    def _has_spans(self, name: TableName) -> bool:
        """True when ``name`` has dispatchers (created now if the table's schema before the DDL is known)."""
        if name in self._spans:
            return True
        info = self._tables.get(name)
        if info is None:
            return False
        self._add_table(info)
        return True

    def _syncpoint(self, ts: int) -> None:
        for d in self._touched:
            d.resolved(ts)
        self._touched.clear()
        self._schedule_every_table()
        self._block(SyncPointEvent(ts), [d for ds in self._spans.values() for d in ds])
        self.counters.syncpoints += 1

    def _schedule_every_table(self) -> None:
        """Give every selected table that exists now a dispatcher, so that a syncpoint's cut names it: dispatchers
        are otherwise made at a table's first change in this process, and a table unchanged since the run
        resumed (or since the snapshot's records were written by writers of its own) would be missing from the
        marker. Done again only when the schema changed since the last time."""
        tracker = self.assembler.tracker
        generation = self.assembler.schema_generation
        if tracker is None or generation == self._scheduled_generation:
            return
        self._scheduled_generation = generation
        selected = self.config.table_filter()
        for name in tracker.table_names():
            if name not in self._spans and selected.match(name):
                info = tracker.table(name)
                if info is not None:
                    self._add_table(info)

    def _block(self, event: DDLEvent | SyncPointEvent, spans: list[TableDispatcher]) -> None:
        began = time.monotonic()
        trigger = self._require_trigger()
        if TableTriggerDispatcher.wants(event):
            trigger.block(event)
        for d in spans:
            d.block(event)
        self._settle()
        self.counters.barriers += 1
        self.counters.barrier_seconds += time.monotonic() - began

    # ---- dispatchers (DispatcherControl for the maintainer) ---------------------------------------------

    def create(self, span: SpanInfo, start_ts: int, node: str) -> None:
        emit = self._node.emitter()
        if not span.table:
            self._trigger = TableTriggerDispatcher(self.sink, start_ts, emit)
            self._node.add(self._trigger)
            return
        name = parse_table(span.table)
        info = self._tables.get(name)
        if info is None:
            raise BarrierProtocolError(f"maintainer asked for a dispatcher of {name}, which does not exist")
        d = TableDispatcher(Span(name, span.lo, span.hi), info, self.sink, start_ts, emit)
        if self._splits.policy is not None and span.whole and info.pk_indexes:
            self._splits.policy.watch(name)
        self._node.add(d)
        self._spans.setdefault(name, []).append(d)
        self._spans[name].sort(key=lambda x: x.table_span.lo)

    def close(self, dispatcher_id: str, node: str) -> ClosedSpan | None:
        d = self._node.remove(dispatcher_id)
        if d is None:
            return None
        if isinstance(d, TableDispatcher):
            spans = self._spans.get(d.table.name, [])
            if d in spans:
                spans.remove(d)
            if not spans:
                self._spans.pop(d.table.name, None)
            self._touched.discard(d)
            version, file_id, last = d.cut_fields()
            return ClosedSpan(d.checkpoint_ts, version, file_id, last)
        return ClosedSpan(d.checkpoint_ts)

    def _add_table(self, info: TableInfo) -> list[TableDispatcher]:
        self._require_trigger()
        assert self._maintainer is not None
        self._tables.setdefault(info.name, info)
        start = max(info.version, self.assembler.last_ts - 1 if self.assembler.last_ts else info.version)
        self._created.setdefault(table_key(info.name), info.version)
        self._maintainer.add_table(table_key(info.name), start)
        self._pump()
        return self._spans[info.name]

    def _require_trigger(self) -> TableTriggerDispatcher:
        if self._maintainer is None:
            start = self._start_ts
            if start is None:
                tracker = self.assembler.tracker
                start = tracker.start_ts if tracker is not None else 0
            self._start_ts = start
            self._published = max(self._published, start)
            self._maintainer = Maintainer(
                self._transport,
                self,
                [NODE],
                split_counts={**self._splits.split_counts(), **self.config.split_tables},
                tables_at=self._tables_at,
                splittable=self._splittable,
            )
            self._maintainer.start_trigger(start)
        assert self._trigger is not None
        return self._trigger

    def _tables_at(self, ts: int) -> dict[str, int]:
        return {name: created for name, created in self._created.items() if created <= ts}

    def _splittable(self, table: str) -> bool:
        info = self._tables.get(parse_table(table))
        return bool(info and info.pk_indexes)

    # ---- automatic splits --------------------------------------------------------------------------------

    def _auto_split(self, decision: SplitDecision, commit_ts: int) -> None:
        spans = self._spans.get(decision.table, [])
        whole = spans[0] if len(spans) == 1 and spans[0].table_span.whole else None
        if self._maintainer is not None and self._splits.split(decision, whole, self._maintainer, commit_ts):
            self._pump()
            self.counters.auto_splits += 1

    def _forget_split(self, name: TableName) -> None:
        """A dropped table's automatic split ends with it: a table created under its name starts whole."""
        self._splits.forget(name)
        key = table_key(name)
        if self._maintainer is not None and key not in self.config.split_tables:
            self._maintainer.split_counts.pop(key, None)

    # ---- the barrier loop --------------------------------------------------------------------------------

    def _pump(self) -> int:
        self._node.flush()
        return self._transport.pump()

    def _settle(self) -> None:
        """Deliver messages and run barrier writes until no barrier is pending."""
        maintainer = self._maintainer
        assert maintainer is not None
        idle = 0
        for _ in range(_SETTLE_ROUNDS):
            moved = self._pump()
            wrote = False
            for d in list(self._node.dispatchers.values()):
                if d.stage is BlockStage.WRITING:
                    wrote = d.step() or wrote
            if moved or wrote:
                idle = 0
                continue
            if not maintainer.barrier.events and not any(d.blocked for d in self._node.dispatchers.values()):
                return
            idle += 1
            if idle > 3:
                pending = sorted(str(k) for k in maintainer.barrier.events)
                raise BarrierProtocolError(f"barrier did not finish: pending {pending}")
            self._node.tick(heartbeat=True)
            maintainer.tick()
        raise BarrierProtocolError("barrier did not settle")

    # ---- time, checkpoints, syncpoints -------------------------------------------------------------------

    def _before(self, ts: int) -> None:
        """Runs before an event at ``ts``: syncpoints whose boundary it crosses come first."""
        if not self._sync_interval:
            return
        if not self._next_sync:  # the first event: the first boundary is the one after it
            self._next_sync = self._sync_after(ts)
            return
        if ts >= self._next_sync:
            boundary = self._next_sync
            self._next_sync = self._sync_after(ts)
            if self._maintainer is None:  # nothing replicated yet: nothing to cut
                return
            self._syncpoint(boundary)

    def _sync_after(self, ts: int) -> int:
        interval = self._sync_interval or 1
        return make_ts((ts_physical_ms(ts) // interval + 1) * interval)

    def _remember(self, commit_ts: int) -> None:
        tracker = self.assembler.tracker
        if tracker is None:
            return
        if self._schema is None or self.assembler.schema_generation != self._schema_generation:
            self._schema_generation = self.assembler.schema_generation
            self._schema = tracker.snapshot()
        self._points.add(commit_ts, self.assembler.position, self._schema)

    def _tick(self, *, force: bool) -> None:
        now = self.clock()
        if not force and now < self._next_tick:
            return
        self._next_tick = now + TICK_MS
        with self.sink.uploads.deferred():  # due tables upload at once; durable before any checkpoint moves
            for d in list(self._node.dispatchers.values()):
                if isinstance(d, TableDispatcher):
                    d.maybe_flush(now)
        if not force and now < self._next_publish:
            return
        began = time.thread_time()
        self._advance_idle()
        self._publish(force=False)
        spent_ms = (time.thread_time() - began) * 1000
        self._next_publish = now + max(TICK_MS, int(spent_ms * PUBLISH_CPU_SHARE))

    def _advance_idle(self) -> None:
        resolved = self.assembler.last_ts + 1
        for d in self._node.dispatchers.values():
            d.resolved(resolved)

    def _publish(self, *, force: bool) -> int:
        """Write the resume record for the aggregated checkpoint, then let the trigger write ``metadata``."""
        maintainer = self._maintainer
        if maintainer is None:
            self._publish_position(force=force)
            return self._published
        self._node.tick(heartbeat=True)
        self._pump()
        checkpoint = maintainer.checkpoint_ts()
        if checkpoint is not None and checkpoint > self._published:
            state = self._points.at(checkpoint)
            if state is not None:
                record = ResumeRecord(checkpoint, state, self._source_name, self.config.changefeed_id,
                                      self._splits.records())
                self.store.put(RESUME_KEY, record.to_json())
                self._published = checkpoint
        maintainer.tick()
        self._pump()
        if force:
            self.sink.write_checkpoint(self._published, force=True)
        self.counters.checkpoint_ts = self._published
        return self._published

    def _publish_position(self, *, force: bool) -> None:
        """Before any change has arrived, record where the source stands (a new live changefeed's start, moved
        on by heartbeats), so that a later run resumes from there instead of starting over at the server's
        position of that later moment and losing what happened in between."""
        tracker = self.assembler.tracker
        position = self.assembler.position
        if tracker is None or not position.file or position == self._position_published:
            return
        now = self.clock()
        if not force and now - self._position_published_ms < CHECKPOINT_INTERVAL_MS:
            return
        state = AssemblerState(self.assembler.last_ts, position, tracker.to_json())
        checkpoint = max(self._published, self.assembler.last_ts)
        self.store.put(RESUME_KEY, ResumeRecord(checkpoint, state, self._source_name,
                                                self.config.changefeed_id).to_json())
        self._position_published, self._position_published_ms = position, now

    def dispatchers(self) -> list[BlockingDispatcher]:
        """Every dispatcher, the table trigger first (for ``storagecdc ls`` and tests)."""
        ds = list(self._node.dispatchers.values())
        return sorted(ds, key=lambda d: (d.dispatcher_id != TRIGGER_ID, d.dispatcher_id))
