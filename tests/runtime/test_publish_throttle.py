"""The checkpoint round (``Changefeed._tick``'s publish) waits ``PUBLISH_CPU_SHARE`` times its own CPU time
before the next one, and runs every tick when it is cheap."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from storagecdc.runtime import changefeed
from storagecdc.runtime.changefeed import PUBLISH_CPU_SHARE, TICK_MS, Changefeed
from storagecdc.runtime.source import open_source
from storagecdc.storage import LocalStore
from tests.runtime.test_replicate_files import DEMO, config


def _publish_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, round_cpu_s: float) -> list[int]:
    """The changefeed clock's readings at each (not forced) checkpoint round, when a round costs
    ``round_cpu_s`` of CPU time; the clock moves 7 ms per reading."""
    cpu = itertools.count(0.0, round_cpu_s)  # read before and after each round: they differ by its cost
    monkeypatch.setattr(changefeed.time, "thread_time", lambda: next(cpu))
    cfg = config(DEMO, tmp_path)
    source = open_source(cfg, None)
    ticks = itertools.count(0, 7)
    feed = Changefeed(cfg, LocalStore(tmp_path), source.assembler, source_name=source.name,
                      clock=lambda: next(ticks))
    times: list[int] = []
    publish = feed._publish

    def recorded(*, force: bool) -> int:
        if not force:
            times.append(feed.clock())
        return publish(force=force)

    monkeypatch.setattr(feed, "_publish", recorded)
    try:
        feed.run(source.changes)
    finally:
        source.close()
    return times


def test_a_cheap_round_runs_every_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    times = _publish_times(tmp_path, monkeypatch, round_cpu_s=0.001)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) > 5
    assert min(gaps) >= TICK_MS
    assert max(gaps) < TICK_MS + 50  # the next tick after 200 ms of the clock (7 ms a reading)


def test_a_costly_round_waits_its_cost_times_the_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    times = _publish_times(tmp_path, monkeypatch, round_cpu_s=0.05)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    wait_ms = 50 * PUBLISH_CPU_SHARE
    assert len(times) > 2
    assert min(gaps) >= wait_ms
    assert max(gaps) < wait_ms + TICK_MS + 50  # at the first tick once the wait is over
