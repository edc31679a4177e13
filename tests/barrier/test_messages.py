"""Messages are plain data: every kind survives a JSON round trip unchanged."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storagecdc.messages import (
    HASH_SPACE,
    Ack,
    Action,
    BarrierAction,
    Batch,
    BlockKey,
    BlockStage,
    BlockStatus,
    CheckpointAdvance,
    CutEntry,
    Heartbeat,
    Influence,
    InProcessTransport,
    Message,
    Scope,
    SpanInfo,
    covers_whole,
    decode,
    encode,
    even_ranges,
    parse_table_key,
    schema_of,
    table_key,
)
from storagecdc.model import TableName

SPAN = SpanInfo("shop.orders", 0, HASH_SPACE // 2)
KEY = BlockKey(445644800008388608, True)
WAITING = BlockStatus("shop.orders#00007fff", SPAN, KEY, BlockStage.WAITING, 7,
                      influence=Influence(Scope.DATABASE, "shop", ("shop.orders",), ("shop.x",), ("shop.y",), True),
                      table_version=3, file_id="00007fff", last_file_index=9)
MESSAGES: list[Message] = [
    WAITING,
    BlockStatus("table-trigger", SpanInfo("", 0, 0), KEY, BlockStage.DONE, 8, Action.WRITE),
    BarrierAction(KEY, Action.WRITE, ("a", "b"), (CutEntry("shop.orders", 3, "00007fff", 9),)),
    Ack(("a", "b"), KEY),
    Heartbeat("a", SPAN, 12, WAITING),
    Heartbeat("a", SPAN, 12),
    CheckpointAdvance(99),
    Batch((Ack(("a", "b"), KEY), CheckpointAdvance(1))),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip_through_json(msg: Message) -> None:
    assert decode(json.loads(json.dumps(encode(msg)))) == msg


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message kind"):
        decode({"kind": "nope", "body": {}})


def test_span_ids() -> None:
    assert SPAN.dispatcher_id == "shop.orders#00007fff"
    assert SPAN.file_id == "00007fff"
    assert SpanInfo("shop.orders", 0, HASH_SPACE).file_id is None
    assert SpanInfo("", 0, 0).dispatcher_id == "table-trigger"


def test_ranges() -> None:
    assert even_ranges(1) == [(0, HASH_SPACE)]
    parts = even_ranges(3)
    assert covers_whole(parts)
    assert not covers_whole(parts[:2])
    assert not covers_whole([parts[0], parts[2]])
    with pytest.raises(ValueError):
        even_ranges(0)


def test_in_process_transport_delivers_in_order_with_serialisation() -> None:
    t = InProcessTransport(serialize=True)
    got: list[tuple[str, Message]] = []
    t.register("n", lambda sender, msg: got.append((sender, msg)))
    for m in MESSAGES:
        t.send("m", "n", m)
    t.send("m", "nobody", Ack(("x",), KEY))
    assert t.pump() == len(MESSAGES) + 1
    assert got == [("m", m) for m in MESSAGES]


@given(st.text(max_size=12), st.text(max_size=12))
def test_table_key_round_trips_any_name(schema: str, table: str) -> None:
    name = TableName(schema, table)
    assert parse_table_key(table_key(name)) == name
    assert schema_of(table_key(name)) == schema


def test_table_key_of_ordinary_names_is_schema_dot_table() -> None:
    assert table_key(TableName("shop", "orders")) == "shop.orders"
    assert table_key(TableName("e2e.dotted", "t")) == "e2e\\.dotted.t"
    with pytest.raises(ValueError):
        parse_table_key("nodot")
