"""The maintainer's barrier, driven message by message (DESIGN.md's 8 steps)."""

from __future__ import annotations

import logging

import pytest

from storagecdc.maintainer.barrier import Barrier, PendingEvent, Phase
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
    Heartbeat,
    Influence,
    Message,
    Scope,
    SpanInfo,
)

T = 1000
KEY = BlockKey(T)
HALF = HASH_SPACE // 2
A = SpanInfo("db.t", 0, HALF)
B = SpanInfo("db.t", HALF, HASH_SPACE)
U = SpanInfo("db.u", 0, HASH_SPACE)
TRIG = SpanInfo("", 0, 0)
TABLE_DDL = Influence(Scope.TABLE, "db", ("db.t",))
DB_DDL = Influence(Scope.DATABASE, "db", needs_trigger=True)


class Harness:
    def __init__(self, spans: list[SpanInfo]) -> None:
        self.registry = SpanRegistry()
        for s in spans:
            self.registry.add(DispatcherEntry(s.dispatcher_id, s, "n1", T - 1))
        self.sent: list[Message] = []
        self.written: list[PendingEvent] = []
        self.finished: list[PendingEvent] = []
        self.barrier = Barrier(self.registry, lambda node, m: self.sent.append(m), self.written.append,
                               self.finished.append)

    def waiting(self, span: SpanInfo, inf: Influence = TABLE_DDL, key: BlockKey = KEY) -> None:
        self.barrier.on_status(BlockStatus(span.dispatcher_id, span, key, BlockStage.WAITING, T - 1, None, inf))

    def done(self, span: SpanInfo, action: Action, key: BlockKey = KEY, ckpt: int = T) -> None:
        self.barrier.on_status(BlockStatus(span.dispatcher_id, span, key, BlockStage.DONE, ckpt, action))

    def actions(self) -> list[tuple[Action, tuple[str, ...]]]:
        out = [(m.action, m.targets) for m in self.sent if isinstance(m, BarrierAction)]
        self.sent.clear()
        return out


def test_split_table_waits_for_every_span_then_write_then_pass() -> None:
    h = Harness([A, B])
    h.waiting(A)
    assert h.actions() == []  # half the key range is not coverage
    h.waiting(B)
    assert h.actions() == [(Action.WRITE, (A.dispatcher_id,))]
    h.done(B, Action.PASS)  # a DONE that is not the writer's does not end the write phase
    assert h.actions() == [] and h.barrier.events[KEY].phase is Phase.WRITE
    h.done(A, Action.WRITE)
    assert h.actions() == [(Action.PASS, (B.dispatcher_id,))]
    assert len(h.written) == 1 and not h.finished
    h.done(B, Action.PASS)
    assert [e.key for e in h.finished] == [KEY] and not h.barrier.events


def test_waiting_is_acked_once_per_node_and_event() -> None:
    h = Harness([A, B])
    h.waiting(A)
    h.waiting(B)
    h.barrier.flush_acks()
    assert [m for m in h.sent if isinstance(m, Ack)] == [Ack((A.dispatcher_id, B.dispatcher_id), KEY)]
    h.barrier.flush_acks()
    assert len([m for m in h.sent if isinstance(m, Ack)]) == 1, "each report is acked once"


def test_database_ddl_needs_every_table_and_the_trigger_which_writes() -> None:
    h = Harness([A, B, U, TRIG, SpanInfo("other.x", 0, HASH_SPACE)])
    for s in (A, B, U):
        h.waiting(s, DB_DDL)
    assert h.actions() == []
    h.waiting(TRIG, DB_DDL)
    assert h.actions() == [(Action.WRITE, (TRIGGER_ID,))]


@pytest.mark.parametrize(
    ("key", "action"),
    [(KEY, Action.PASS), (BlockKey(T + 1), Action.WRITE), (BlockKey(T, True), Action.WRITE)],
    ids=["action", "commit-ts", "syncpoint-flag"],
)
def test_mismatched_done_is_ignored_and_logged(key: BlockKey, action: Action,
                                               caplog: pytest.LogCaptureFixture) -> None:
    h = Harness([A, B])
    h.waiting(A)
    h.waiting(B)
    h.actions()
    with caplog.at_level(logging.DEBUG, logger="storagecdc.maintainer.barrier"):
        h.done(A, action, key, ckpt=T - 1)
    assert h.actions() == [] and h.barrier.events[KEY].phase is Phase.WRITE
    assert caplog.records


def test_writer_removed_before_done_is_replaced_and_its_stale_done_ignored() -> None:
    h = Harness([A, B])
    h.waiting(A)
    h.waiting(B)
    h.actions()
    h.registry.remove(A.dispatcher_id)
    h.registry.remove(B.dispatcher_id)
    whole = SpanInfo("db.t", 0, HASH_SPACE)
    h.registry.add(DispatcherEntry(whole.dispatcher_id, whole, "n2", T - 5))
    h.barrier.topology_changed()
    assert h.barrier.events[KEY].phase is Phase.WAITING
    h.done(A, Action.WRITE)  # stale: A is gone
    assert h.barrier.events[KEY].phase is Phase.WAITING and not h.written
    h.waiting(whole)
    assert h.actions() == [(Action.WRITE, (whole.dispatcher_id,))]


def test_resend_repeats_the_unanswered_action() -> None:
    h = Harness([A, B])
    h.waiting(A)
    h.waiting(B)
    h.actions()
    h.barrier.resend()
    assert h.actions() == [(Action.WRITE, (A.dispatcher_id,))]
    h.done(A, Action.WRITE)
    h.actions()
    h.barrier.resend()
    assert h.actions() == [(Action.PASS, (B.dispatcher_id,))]


def test_restart_rebuilds_from_heartbeats() -> None:
    h = Harness([A, B])  # a fresh barrier: the previous maintainer's state is gone
    for s in (A, B):
        pending = BlockStatus(s.dispatcher_id, s, KEY, BlockStage.WAITING, T - 1, None, TABLE_DDL)
        h.barrier.on_heartbeat(Heartbeat(s.dispatcher_id, s, T - 1, pending))
    assert h.actions() == [(Action.WRITE, (A.dispatcher_id,))]


def test_a_dispatcher_past_t_proves_the_write_happened() -> None:
    h = Harness([A, B])
    h.waiting(B)
    h.barrier.on_heartbeat(Heartbeat(A.dispatcher_id, A, T + 3))  # A wrote and moved on; its DONE was lost
    assert h.actions() == [(Action.PASS, (B.dispatcher_id,))]
    assert len(h.written) == 1
    h.done(B, Action.PASS)
    assert h.finished
