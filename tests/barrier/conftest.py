"""Fixtures of the barrier tests: the sink the simulator runs over."""

from __future__ import annotations

import pytest

from storagecdc.sim.world import SinkFactory
from tests.barrier.interim_sink import InterimSink


@pytest.fixture
def sink_factory() -> SinkFactory:
    return InterimSink
