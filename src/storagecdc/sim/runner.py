"""Run seeds of the simulator and report: ``run_sim`` is the ``storagecdc sim`` command's body."""

from __future__ import annotations

import logging
import random
import traceback

from storagecdc.sim.checks import check_run
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.workload import generate
from storagecdc.sim.world import Faults, SinkFactory, World
from storagecdc.sink.base import Sink
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.memory import MemoryStore

log = logging.getLogger(__name__)

SIM_OPTIONS = SinkOptions(protocol="csv", include_commit_ts=True, date_separator="none", file_size=1024,
                          worker_count=0)
"""CSV with commit-ts (the checks read it back), no date directories, 1 KiB files (cut mid-buffer too), every
file written inline (no upload threads: a seed's run is the same every time)."""


def default_sink_factory(store: ObjectStore) -> Sink:
    """The real storage sink, on the simulator's clock (the checkpoint is never held back)."""
    return StorageSink(store, SIM_OPTIONS, clock=lambda: 0, checkpoint_interval_ms=0)


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


def run_sim(seeds: int, first_seed: int, sink_factory: SinkFactory | None = None) -> int:
    """Run ``seeds`` seeds from ``first_seed``; print ``seeds=N violations=K`` and a reproduction command per
    failing seed; return K (the number of failing seeds)."""
    factory = sink_factory or default_sink_factory
    sim_log = logging.getLogger("storagecdc")
    level = sim_log.level
    sim_log.setLevel(logging.ERROR)  # faults make the protocol's warnings routine here
    failing: list[tuple[int, list[str]]] = []
    try:
        for seed in range(first_seed, first_seed + seeds):
            violations = run_seed(seed, factory)
            if violations:
                failing.append((seed, violations))
    finally:
        sim_log.setLevel(level)
    print(f"seeds={seeds} violations={len(failing)}")
    for seed, violations in failing:
        print(f"  seed {seed}: {violations[0].splitlines()[0]}")
        print(f"  reproduce: storagecdc sim --seeds 1 --first-seed {seed}")
    return len(failing)
