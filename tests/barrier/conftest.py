"""Fixtures of the barrier tests: the sink the simulator runs over (the real storage sink)."""

from __future__ import annotations

import pytest

from storagecdc.sim.runner import default_sink_factory
from storagecdc.sim.world import SinkFactory


@pytest.fixture
def sink_factory() -> SinkFactory:
    return default_sink_factory
