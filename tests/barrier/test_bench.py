"""The barrier benchmark runs (at toy sizes) and its barriers complete."""

from __future__ import annotations

import io

from storagecdc.bench import barrier
from storagecdc.bench.barrier import BarrierBenchOptions, run_barrier_bench, write_barrier_report


def test_bench_smoke() -> None:
    ddl = barrier.bench_ddl(3)
    assert len(ddl) == 3 and all(r.seconds >= r.write_seconds >= 0 and r.cpu >= 0 for r in ddl)
    assert all(abs(r.cpu - (r.cpu_block + r.cpu_to_write + r.cpu_write + r.cpu_pass)) < 1e-6 for r in ddl)
    assert len(barrier.bench_syncpoint(20, 2)) == 2
    assert 0 < barrier.bench_memory(50) < 64 * 1024


def test_report_names_every_part() -> None:
    result = run_barrier_bench(BarrierBenchOptions(rounds=2, sizes=(5, 7), syncpoint_rounds=2, memory_dispatchers=20))
    assert [sp.dispatchers for sp in result.syncpoints] == [5, 7]
    assert all(len(sp.rounds) == 2 for sp in result.syncpoints)
    out = io.StringIO()
    write_barrier_report(result, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("table DDL, 16 spans: p50 ")
    assert lines[1].startswith("syncpoint, 5 dispatchers: p50 ") and "first round (lists the store)" in lines[1]
    assert lines[3].startswith("memory per idle dispatcher: ")
