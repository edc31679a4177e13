"""The dispatcher side of the barrier protocol, shared by table and table-trigger dispatchers.

A dispatcher consumes its input in commit order. When it reaches a block event at T it:

1. makes all of its buffered DML < T durable (data file, then index file), locally;
2. reports ``WAITING(T)`` and resends it on every ``tick`` until the maintainer ACKs it;
3. on ``WRITE(T)`` enters WRITING and applies the event to storage in its next ``step`` (the write runs
   asynchronously to message handling), then reports ``DONE(done_action=WRITE)``;
4. on ``PASS(T)`` applies the event locally only and reports ``DONE(done_action=PASS)``;
5. answers a resent action for an event it has finished by re-reporting the DONE it actually completed (never
   the action requested, never re-executing it), and answers nothing while the work is unfinished: a
   duplicate WRITE during WRITING is not acknowledged, and an action for an event it has not reached is
   ignored.

Subclasses say how to flush, how to write, and how to apply an event locally.
"""

from __future__ import annotations

import functools
import itertools
import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from storagecdc.dispatcher.router import parse_table
from storagecdc.errors import BarrierProtocolError
from storagecdc.messages import (
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
    SpanInfo,
    table_key,
)
from storagecdc.model import DDLEvent, SyncPointEvent
from storagecdc.sink.base import Sink, TableCut

log = logging.getLogger(__name__)

BlockEvent = DDLEvent | SyncPointEvent

_COMPLETED_KEEP = 16
"""How many finished block events a dispatcher remembers to answer resent actions."""

_INSTANCES = itertools.count(secrets.randbits(30) << 32 | 1)
"""Instance tokens: a random start per process, so tokens of dispatchers of different processes differ."""

GUARD_NO_DONE_WHILE_WRITING = True
"""TiCDC #6084 guard: a duplicate WRITE that arrives while the write is in progress is not acknowledged."""
GUARD_REPORT_ACTUAL_ACTION = True
"""TiCDC #4331 guard: a re-reported DONE names the action actually completed, not the one requested."""


_last_key: tuple[BlockEvent | None, BlockKey] = (None, BlockKey(0))
"""The last event's key: every dispatcher blocked by one event asks for the same key (one tuple, rebound
atomically, so threads share it safely)."""


def block_key(event: BlockEvent) -> BlockKey:
    global _last_key
    last = _last_key
    if last[0] is event:
        return last[1]
    key = BlockKey(event.commit_ts, isinstance(event, SyncPointEvent))
    _last_key = (event, key)
    return key


_SYNCPOINT_INFLUENCE = Influence(Scope.ALL, needs_trigger=True)


def influence_of(event: BlockEvent) -> Influence:
    """Which dispatchers ``event`` blocks, as the maintainer needs to know it."""
    if isinstance(event, SyncPointEvent):
        return _SYNCPOINT_INFLUENCE  # every dispatcher blocks at every syncpoint: no hashing of the event
    return _ddl_influence(event)


@functools.lru_cache(maxsize=256)
def _ddl_influence(event: DDLEvent) -> Influence:
    """A DDL's influence, computed once per event (each of its dispatchers asks)."""
    names = tuple(table_key(t) for t in event.tables)
    added = tuple(table_key(t.name) for t in event.new_tables if t.name not in event.tables)
    return Influence(
        Scope(event.scope.value),
        event.schema,
        names,
        tuple(table_key(t) for t in event.dropped),
        added,
        event.creates_or_drops,
    )


@dataclass(slots=True)
class _Pending:
    event: BlockEvent
    key: BlockKey
    stage: BlockStage
    influence: Influence
    acked: bool = False
    cut: tuple[CutEntry, ...] = ()


class BlockingDispatcher(ABC):
    """Input consumption, block-event state and the DONE/WAITING reports of one dispatcher."""

    def __init__(self, dispatcher_id: str, span: SpanInfo, start_ts: int, emit: Callable[[Message], None]) -> None:
        self.dispatcher_id = dispatcher_id
        self.span = span
        self.instance = next(_INSTANCES)
        """Differs for every dispatcher object: a span's successor (move, split, merge, crash) has a new one."""
        self.checkpoint_ts = start_ts
        """Every event with commit-ts <= this is durable (DML) or finished (block events) here."""
        self._emit = emit
        self._pending: _Pending | None = None
        self._completed: dict[BlockKey, Action] = {}
        """The last finished events, oldest first (a plain dict keeps insertion order and is smaller)."""
        self._dirty = False
        self._resolved_ts = start_ts + 1

    # -- subclass hooks -------------------------------------------------------------------------------
    @abstractmethod
    def _flush(self) -> None:
        """Make all buffered DML durable."""

    @abstractmethod
    def _write(self, event: BlockEvent, cut: tuple[CutEntry, ...]) -> None:
        """Apply ``event`` to storage (schema file / syncpoint marker)."""

    @abstractmethod
    def _apply(self, event: BlockEvent) -> None:
        """Apply ``event`` locally after WRITE or PASS (switch table version...)."""

    def cut_fields(self) -> tuple[int, str, int]:
        """(table version, file id, last durable data-file index) for the syncpoint cut."""
        return 0, "", 0

    def cut_files(self) -> tuple[str, ...]:
        """Keys of the last durable data file in every data directory of the current version's writer."""
        return ()

    # -- input ----------------------------------------------------------------------------------------
    @property
    def blocked(self) -> bool:
        """True while a block event is unfinished: the dispatcher consumes no further input."""
        return self._pending is not None

    @property
    def pending_key(self) -> BlockKey | None:
        return None if self._pending is None else self._pending.key

    @property
    def stage(self) -> BlockStage | None:
        return None if self._pending is None else self._pending.stage

    def resolved(self, ts: int) -> None:
        """Everything below ``ts`` has been fed; the checkpoint advances when nothing is buffered."""
        if self._pending is None and not self._dirty:
            self.checkpoint_ts = max(self.checkpoint_ts, ts - 1)
        self._resolved_ts = max(self._resolved_ts, ts)

    def flush(self) -> None:
        """Make buffered DML durable now (flush interval, file size, shutdown)."""
        if self._dirty:
            self._flush()
            self._dirty = False
        if self._pending is None:
            self.checkpoint_ts = max(self.checkpoint_ts, self._resolved_ts - 1)

    def block(self, event: BlockEvent) -> None:
        """Reach the block event ``event``: flush DML < T, then report WAITING (steps 1-2)."""
        if self._pending is not None:
            raise BarrierProtocolError(
                f"dispatcher {self.dispatcher_id}: block event at {event.commit_ts} while "
                f"{self._pending.key} is unfinished"
            )
        key = block_key(event)
        if self._dirty:
            self._flush()
            self._dirty = False
        self.checkpoint_ts = max(self.checkpoint_ts, event.commit_ts - 1)
        self._pending = _Pending(event, key, BlockStage.WAITING, influence_of(event))
        self._emit(self._status(BlockStage.WAITING))

    # -- protocol messages ----------------------------------------------------------------------------
    def on_ack(self, ack: Ack) -> None:
        if self._pending is not None and ack.key == self._pending.key:
            self._pending.acked = True

    def on_action(self, action: BarrierAction) -> None:
        done = self._completed.get(action.key)
        if done is not None:
            self._emit(self._done(action.key, done if GUARD_REPORT_ACTUAL_ACTION else action.action))
            return
        p = self._pending
        if p is None or p.key != action.key:
            log.debug("dispatcher %s ignores %s for %s: not at that event", self.dispatcher_id, action.action,
                      action.key)
            return
        if p.stage is BlockStage.WRITING:
            if not GUARD_NO_DONE_WHILE_WRITING and action.action is Action.WRITE:
                self._emit(self._done(p.key, Action.WRITE))
            return
        if action.action is Action.WRITE:
            p.stage = BlockStage.WRITING
            p.cut = action.cut
        else:
            self._finish(Action.PASS)

    def step(self) -> bool:
        """Run the in-progress write, if any (step 5); True when it did."""
        p = self._pending
        if p is None or p.stage is not BlockStage.WRITING:
            return False
        self._write(p.event, p.cut)
        self._finish(Action.WRITE)
        return True

    def tick(self) -> None:
        """Resend an unacknowledged WAITING (step 2)."""
        p = self._pending
        if p is not None and p.stage is BlockStage.WAITING and not p.acked:
            self._emit(self._status(BlockStage.WAITING))

    def heartbeat(self) -> Heartbeat:
        p = self._pending
        return Heartbeat(
            self.dispatcher_id, self.span, self.checkpoint_ts, None if p is None else self._status(p.stage)
        )

    # -- internals ------------------------------------------------------------------------------------
    def _finish(self, action: Action) -> None:
        p = self._pending
        assert p is not None
        self._apply(p.event)
        self._pending = None
        self._completed[p.key] = action
        if len(self._completed) > _COMPLETED_KEEP:
            del self._completed[next(iter(self._completed))]
        self.checkpoint_ts = max(self.checkpoint_ts, p.key.commit_ts)
        self._emit(self._done(p.key, action))

    def _status(self, stage: BlockStage) -> BlockStatus:
        p = self._pending
        assert p is not None
        version, file_id, last = self.cut_fields()
        return BlockStatus(
            self.dispatcher_id, self.span, p.key, stage, self.checkpoint_ts, None, p.influence,
            version, file_id, last, self.cut_files() if p.key.is_syncpoint else (), self.instance,
        )

    def _done(self, key: BlockKey, action: Action) -> BlockStatus:
        return BlockStatus(self.dispatcher_id, self.span, key, BlockStage.DONE, self.checkpoint_ts, action)


def write_block_event(sink: Sink, event: BlockEvent, cut: tuple[CutEntry, ...]) -> None:
    """The elected writer's storage work: the DDL's schema file(s), or the syncpoint marker with its cut."""
    if isinstance(event, SyncPointEvent):
        sink.write_syncpoint_cut(event.commit_ts, syncpoint_cut(cut))
    else:
        sink.write_ddl(event)


_NO_FILES: Mapping[str, tuple[str, ...]] = MappingProxyType({})
_WHOLE = ("",)
"""The span ids of an unsplit table."""
_table_name = functools.lru_cache(maxsize=1 << 16)(parse_table)
"""``parse_table`` remembered: a syncpoint names every table, every time."""


def syncpoint_cut(cut: tuple[CutEntry, ...]) -> list[TableCut]:
    """The cut as ``Sink.write_syncpoint_cut`` takes it: per table, what its spans reported; spans without an
    instance ended earlier in the version and reported nothing."""
    out: list[TableCut] = []
    i, n = 0, len(cut)
    while i < n:  # sorted by table: a table's spans are adjacent, its name is parsed once
        c = cut[i]
        j = i + 1
        while j < n and cut[j].table == c.table:
            j += 1
        if j == i + 1:
            out.append(TableCut(_table_name(c.table), c.version, _WHOLE if c.file_id == "" else (c.file_id,),
                                {c.file_id: c.files} if c.files else _NO_FILES, (c.instance,) if c.instance else ()))
        else:
            part = cut[i:j]
            out.append(TableCut(_table_name(c.table), c.version, tuple(e.file_id for e in part),
                                {e.file_id: e.files for e in part if e.files},
                                tuple(e.instance for e in part if e.instance)))
        i = j
    return out
