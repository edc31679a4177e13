"""Feeding and routing the model's change stream to real dispatchers over the real sink."""

from __future__ import annotations

import pytest

from storagecdc import ddl_types
from storagecdc.dispatcher.feed import Router, feed
from storagecdc.dispatcher.router import Span
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.errors import BarrierProtocolError
from storagecdc.messages import TRIGGER_ID, BlockStage, BlockStatus, Message, even_ranges
from storagecdc.model import (
    BlockScope,
    ColumnInfo,
    DDLEvent,
    Op,
    ResolvedTs,
    RowChanges,
    SourcePosition,
    SyncPointEvent,
    TableInfo,
    TableName,
    TxnCommit,
)
from storagecdc.sim.runner import default_sink_factory
from storagecdc.storage.memory import MemoryStore

T = TableName("shop", "orders")
INFO = TableInfo(T, (ColumnInfo("id", "INT", is_pk=True), ColumnInfo("v", "INT")), 100)
OTHER = TableName("shop", "items")


def _setup() -> tuple[Router, dict[str, TableDispatcher | TableTriggerDispatcher], list[Message]]:
    sink = default_sink_factory(MemoryStore("feed"))
    sent: list[Message] = []
    router = Router()
    ds: dict[str, TableDispatcher | TableTriggerDispatcher] = {}
    for lo, hi in even_ranges(3):
        span = Span(T, lo, hi)
        ds[span.dispatcher_id] = TableDispatcher(span, INFO, sink, 100, sent.append)
        router.add(span)
    ds[TRIGGER_ID] = TableTriggerDispatcher(sink, 100, sent.append)
    router.add_trigger(TRIGGER_ID)
    return router, ds, sent


def test_rows_are_routed_to_their_spans_and_block_events_everywhere() -> None:
    router, ds, sent = _setup()
    rows = RowChanges(INFO, Op.INSERT, 110, [(i, i) for i in range(30)])
    routed = router.route(rows)
    assert sorted(r for _, part in routed for r in part.rows) == rows.rows  # type: ignore[union-attr]
    for did, part in routed:
        feed(ds[did], part)
    for did, ev in router.route(TxnCommit(110, SourcePosition("b.000001", 4))):
        feed(ds[did], ev)
    ddl = DDLEvent(120, "ALTER TABLE `shop`.`orders` ADD COLUMN `c` INT", "shop", ddl_types.ADD_COLUMN,
                   BlockScope.TABLE, (T,), (INFO.with_version(120),))
    for did, ev in router.route(ddl):
        feed(ds[did], ev)
    waiting = [m for m in sent if isinstance(m, BlockStatus) and m.stage is BlockStage.WAITING]
    assert sorted(m.dispatcher_id for m in waiting) == sorted(d for d in ds if d != TRIGGER_ID)
    assert ds[TRIGGER_ID].checkpoint_ts == 120  # a table DDL only passes the trigger
    assert all(d.checkpoint_ts == 119 for did, d in ds.items() if did != TRIGGER_ID)
    with pytest.raises(BarrierProtocolError):
        feed(ds[waiting[0].dispatcher_id], ResolvedTs(130))


def test_the_trigger_blocks_on_syncpoints_and_table_creation() -> None:
    router, ds, _ = _setup()
    trigger = ds[TRIGGER_ID]
    create = DDLEvent(105, "CREATE TABLE `shop`.`items` (`id` INT)", "shop", ddl_types.CREATE_TABLE,
                      BlockScope.TABLE, (), (TableInfo(OTHER, INFO.columns, 105),))
    feed(trigger, create)
    assert trigger.blocked
    router.remove(next(iter(d for d in ds if d != TRIGGER_ID)))
    assert len(router.route(SyncPointEvent(200))) == 3
