"""Maintainer scheduling and checkpoint aggregation over real dispatcher nodes."""

from __future__ import annotations

from storagecdc.messages import HASH_SPACE, TRIGGER_ID, covers_whole
from storagecdc.sim.world import SinkFactory
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
