"""The barrier benchmark runs (at toy sizes) and its barriers complete."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_barrier.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_barrier", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_barrier"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_smoke() -> None:
    b = _bench()
    ddl = b.bench_ddl(3)
    assert len(ddl) == 3 and all(total >= write >= 0 and cpu >= 0 for total, write, cpu in ddl)
    assert len(b.bench_syncpoint(20, 2)) == 2
    assert 0 < b.bench_memory(50) < 64 * 1024
