"""Run seeds of the simulator and report: ``run_sim`` is the ``storagecdc sim`` command's body."""

from __future__ import annotations

import logging
import random
import traceback

from storagecdc.sim.checks import check_run
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.workload import generate
from storagecdc.sim.world import Faults, SinkFactory, World
from storagecdc.storage.memory import MemoryStore

log = logging.getLogger(__name__)


def run_seed(seed: int, sink_factory: SinkFactory, faults: Faults | None = None) -> list[str]:
    """Every violation of one seeded run (empty when it was correct)."""
    workload = generate(random.Random(seed))
    store = RecordingStore(MemoryStore(f"sim-{seed}"))
    world = World(seed, workload, store, sink_factory, faults)
    try:
        violations = world.run()
    except Exception as e:  # a crash of the code under test is a violation of this seed, not of the run
        return [f"exception: {type(e).__name__}: {e}\n{traceback.format_exc()}"]
    if violations:
        return violations
    return check_run(workload, store, store.puts)
