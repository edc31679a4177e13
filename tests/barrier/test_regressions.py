"""Regression tests for the failures TiCDC itself hit in this protocol.

Each scenario is run with its guard on (the protocol holds) and off (the same scenario then breaks a
guarantee), so the guard is shown to be what prevents the failure.
"""

from __future__ import annotations

import pytest

from storagecdc.dispatcher import block
from storagecdc.maintainer import barrier
from storagecdc.messages import Action, BarrierAction, BlockKey, BlockStage, BlockStatus, SpanInfo, decode
from storagecdc.sim.world import SinkFactory
from tests.barrier.scenario import DDL_TS, KEY, LEFT, RIGHT, WHOLE, Scenario


def _actions(s: Scenario, action: Action) -> list[BarrierAction]:
    msgs = [decode(w) for w in s.in_flight()]  # type: ignore[arg-type]
    return [m for m in msgs if isinstance(m, BarrierAction) and m.action is action]


def _both_waiting(sink_factory: SinkFactory) -> Scenario:
    s = Scenario(sink_factory)
    s.feed_until_blocked(LEFT)
    s.feed_until_blocked(RIGHT)
    assert s.stage(LEFT) is BlockStage.WAITING and s.stage(RIGHT) is BlockStage.WAITING
    return s


def scenario_6084(sink_factory: SinkFactory) -> list[str]:
    """TiCDC #6084: a duplicate WRITE arrives while the writer's write is in progress."""
    s = _both_waiting(sink_factory)
    s.world.deliver_all()  # WAITINGs reach the maintainer, WRITE reaches the writer (LEFT)
    assert s.stage(LEFT) is BlockStage.WRITING
    s.world.maintainer.tick()  # the maintainer resends WRITE: a duplicate arrives mid-write
    s.world.deliver_all()
    s.world.deliver_all()
    # Nothing may have passed yet: RIGHT is still blocked, and nothing is written for the DDL.
    return s.finish()


def scenario_4331(sink_factory: SinkFactory) -> list[str]:
    """TiCDC #4331: DONEs whose action, commit-ts or syncpoint flag do not match the write phase."""
    s = _both_waiting(sink_factory)
    s.world.deliver_all()
    assert s.stage(LEFT) is BlockStage.WRITING
    span = s.world.dispatcher(LEFT).span
    for key, action in ((KEY, Action.PASS), (BlockKey(DDL_TS, True), Action.WRITE)):
        s.world.maintainer.on_message("node-1", BlockStatus(LEFT, span, key, BlockStage.DONE, DDL_TS - 1, action))
    s.world.deliver_all()
    return s.finish()


def scenario_4398(sink_factory: SinkFactory) -> list[str]:
    """TiCDC #4398: the split table's spans are merged while the write phase is pending, and a stale DONE
    from the writer that was merged away arrives: the barrier must not reach PASS without a write."""
    s = _both_waiting(sink_factory)
    s.world.deliver_all()  # WAITINGs in; WRITE goes out to LEFT ...
    s.world.transport.in_flight.clear()
    left = s.world.dispatcher(LEFT)
    assert s.stage(LEFT) is BlockStage.WRITING
    left_span = left.span
    assert s.world.maintainer.merge(LEFT)  # ... and LEFT is merged away before it could write
    assert s.world.dispatcher(WHOLE) is not None
    stale = BlockStatus(LEFT, left_span, KEY, BlockStage.DONE, DDL_TS, Action.WRITE)
    s.world.maintainer.on_message("node-1", stale)
    s.world.deliver_all()
    return s.finish()


@pytest.mark.parametrize("scenario", [scenario_6084, scenario_4331, scenario_4398])
def test_protocol_holds(scenario: object, sink_factory: SinkFactory) -> None:
    assert callable(scenario)
    assert scenario(sink_factory) == []


@pytest.mark.parametrize(
    ("scenario", "module", "guard"),
    [
        (scenario_6084, block, "GUARD_NO_DONE_WHILE_WRITING"),
        (scenario_4331, barrier, "GUARD_DONE_MATCHES_PHASE"),
        (scenario_4398, barrier, "GUARD_LIVE_REPORTERS_ONLY"),
    ],
)
def test_scenario_breaks_without_its_guard(
    scenario: object, module: object, guard: str, sink_factory: SinkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert callable(scenario)
    monkeypatch.setattr(module, guard, False)
    violations = scenario(sink_factory)
    assert any("without its WRITE" in v or "written before" in v or "never written" in v for v in violations), \
        violations


def test_resent_action_is_answered_with_the_action_actually_done(sink_factory: SinkFactory) -> None:
    """A dispatcher that finished the event by WRITE answers a resent PASS with DONE(WRITE) (TiCDC #4331)."""
    s = _both_waiting(sink_factory)
    s.world.deliver_all()
    s.world.write(LEFT)
    s.world.deliver_all()
    s.drop_in_flight()
    left = s.world.dispatcher(LEFT)
    left.on_action(BarrierAction(KEY, Action.PASS, (LEFT,)))
    for node in s.world.nodes.values():
        node.flush()
    done = [decode(w) for w in s.in_flight()]  # type: ignore[arg-type]
    assert [(m.stage, m.done_action) for m in done if isinstance(m, BlockStatus)] == [
        (BlockStage.DONE, Action.WRITE)
    ]
    assert isinstance(left.span, SpanInfo)
