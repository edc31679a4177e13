"""Maintainer scheduling and checkpoint aggregation over real dispatcher nodes."""

from __future__ import annotations

import random

import pytest

from storagecdc.maintainer.syncpoint import syncpoints_between
from storagecdc.messages import HASH_SPACE, TRIGGER_ID, covers_whole
from storagecdc.model import make_ts
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.workload import generate
from storagecdc.sim.world import SinkFactory, World
from storagecdc.storage.memory import MemoryStore
from tests.barrier.scenario import LEFT, RIGHT, WHOLE, Scenario


def _ranges(s: Scenario) -> list[tuple[int, int]]:
    return [(e.span.lo, e.span.hi) for e in s.world.maintainer.registry.dispatchers_of("shop.orders")]


def test_split_merge_move_keep_the_key_range_covered(sink_factory: SinkFactory) -> None:
    s = Scenario(sink_factory)
    m = s.world.maintainer
    assert covers_whole(_ranges(s)) and len(_ranges(s)) == 2
    assert m.split(LEFT)
    assert covers_whole(_ranges(s)) and len(_ranges(s)) == 3
    assert m.merge(_first(s)) and m.merge(_first(s))
    assert _ranges(s) == [(0, HASH_SPACE)]
    node = m.registry.get(WHOLE)
    assert node is not None
    assert m.move(WHOLE, "node-3") and m.registry.get(WHOLE).node == "node-3"  # type: ignore[union-attr]
    assert not m.merge(WHOLE) and not m.split(TRIGGER_ID)
    assert s.finish() == []


def test_checkpoint_is_the_minimum_and_stays_below_an_unwritten_event(sink_factory: SinkFactory) -> None:
    s = Scenario(sink_factory)
    s.feed_until_blocked(LEFT)
    s.world.deliver_all()
    m = s.world.maintainer
    ckpt = m.checkpoint_ts()
    assert ckpt is not None
    assert ckpt == min(e.checkpoint_ts for e in m.registry.entries())
    s.feed_until_blocked(RIGHT)
    s.world.deliver_all()
    assert m.barrier.events and all(not ev.written for ev in m.barrier.events.values())
    assert m.checkpoint_ts() is not None
    assert m.checkpoint_ts() < min(m.barrier.events).commit_ts  # type: ignore[operator]
    assert s.finish() == []


def _first(s: Scenario) -> str:
    return s.world.maintainer.registry.dispatchers_of("shop.orders")[0].dispatcher_id


def test_syncpoint_boundaries() -> None:
    start = make_ts(1_000_000)
    assert syncpoints_between(start, make_ts(1_000_999), 600_000) == []
    assert syncpoints_between(start, make_ts(1_200_000), 600_000) == [make_ts(1_200_000)]
    assert syncpoints_between(make_ts(1_200_000), make_ts(2_500_000, 7), 600_000) == [
        make_ts(1_800_000), make_ts(2_400_000)]
    with pytest.raises(ValueError):
        syncpoints_between(start, start, 0)


def test_a_table_without_primary_key_stays_whole(sink_factory: SinkFactory) -> None:
    w = generate(random.Random(1))
    logs = next(k for k in w.split_counts if k.endswith(".logs"))
    assert w.split_counts[logs] == 2 and not w.has_pk(logs)
    world = World(1, w, RecordingStore(MemoryStore("nokey")), sink_factory)
    m = world.maintainer
    (only,) = m.registry.dispatchers_of(logs)
    assert (only.span.lo, only.span.hi) == (0, HASH_SPACE)
    assert not m.split(only.dispatcher_id)
    assert len(m.registry.dispatchers_of("db1.orders")) == w.split_counts["db1.orders"]
