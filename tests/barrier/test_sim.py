"""The deterministic simulator: thousands of seeds of faults, each checked on the storage it produced."""

from __future__ import annotations

import random

import pytest

from storagecdc.model import DDLEvent
from storagecdc.sim.checks import check_run
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.runner import SIM_OPTIONS, run_seed, run_sim
from storagecdc.sim.workload import generate
from storagecdc.sim.world import SinkFactory, World
from storagecdc.sink.base import Sink
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.memory import MemoryStore

CI_SEEDS = 2000


def test_simulator_finds_no_violation_over_ci_seeds(sink_factory: SinkFactory,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run_sim(CI_SEEDS, 0, sink_factory) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"seeds={CI_SEEDS} violations=0"


def test_faults_hit_every_barrier_phase(sink_factory: SinkFactory) -> None:
    """Splits, merges, moves and crashes land while barriers wait, write and pass."""
    phases: dict[str, int] = {}
    for seed in range(150):
        w = generate(random.Random(seed))
        store = RecordingStore(MemoryStore(f"phase-{seed}"))
        world = World(seed, w, store, sink_factory)
        assert world.run() == []
        assert check_run(w, store, store.puts) == []
        for phase, n in world.phase_faults.items():
            phases[phase] = phases.get(phase, 0) + n
    assert set(phases) == {"waiting", "write", "pass"}
    assert min(phases.values()) > 10, phases


def test_same_seed_same_bytes(sink_factory: SinkFactory) -> None:
    runs = []
    for _ in range(2):
        w = generate(random.Random(7))
        store = RecordingStore(MemoryStore("det"))
        World(7, w, store, sink_factory).run()
        runs.append([(p.key, p.data) for p in store.puts])
    assert runs[0] == runs[1]


class NoSchemaSink(StorageSink):
    """The real sink with one bug: DDL schema files are never written."""

    def write_ddl(self, ddl: DDLEvent) -> list[str]:
        return []


def no_schema_sink(store: ObjectStore) -> Sink:
    return NoSchemaSink(store, SIM_OPTIONS, clock=lambda: 0, checkpoint_interval_ms=0)


def test_a_broken_sink_is_reported_as_a_violation() -> None:
    """The checker is not vacuous: a sink that never writes DDL schema files fails."""
    violations = run_seed(3, no_schema_sink)
    assert any("never written" in v or "without its WRITE" in v for v in violations), violations


def test_reproduction_command_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_sim(2, 5, no_schema_sink) == 2
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "seeds=2 violations=2"
    assert "storagecdc sim --seeds 1 --first-seed 5" in out
    assert "storagecdc sim --seeds 1 --first-seed 6" in out
