"""SIGKILL at chosen writes (``STORAGECDC_FAILPOINTS``), restart until done: nothing lost, nothing changed.

Each scenario runs ``storagecdc run`` with one failpoint, checks the store after the kill (``harness``), may
run the restart with a second failpoint (a crash during recovery), then restarts without failpoints until the
run finishes. At the end ``storagecdc consume`` into a fresh SQLite equals the decoder's final state and
applies exactly as many rows as a consume of a run that was never killed; the follower that consumed after
every kill applied that many too (every change exactly once).

The required kill points (mid data upload, between data and index file, between a barrier's WRITE and PASS,
during schema, checkpoint, syncpoint and resume writes) are listed; the rest are a seeded choice
(``STORAGECDC_CRASH_SEED``, printed in the test ids through the failpoints they chose).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storagecdc.config import load_config
from storagecdc.consumer import Replayer, SqliteApplier, options_from_uri
from storagecdc.devtools.s3servers import MotoServer
from storagecdc.runtime.replicate import replicate
from storagecdc.storage.uri import open_store
from tests.crash.harness import CrashRun, Decoded, assert_model, consume_cli
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
TYPES = "mariadb/mariadb-10.11-types.000001"
SEED = int(os.environ.get("STORAGECDC_CRASH_SEED", "20261127"))

QUERIES = {
    "csv": "protocol=csv&include-commit-ts=true",
    "canal-json": "protocol=canal-json&enable-tidb-extension=true",
    "parquet": "protocol=parquet",
}
WRITES = {
    # How many writes of each kind a run that is never killed makes at least (resume and metadata writes
    # depend on the wall clock; these are the ones every run makes).
    "demo": {"data": 24, "index": 24, "schema": 15, "syncpoint": 1, "resume": 2, "metadata": 2},
    "types": {"data": 10, "index": 10, "schema": 16, "resume": 2, "metadata": 2},
}
ACTIONS = ("kill-before", "kill-after", "kill-mid")


@dataclass(frozen=True)
class Scenario:
    source: str
    protocol: str
    store: str
    failpoints: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.store}-{self.source}-{self.protocol}-{'+'.join(self.failpoints)}"


REQUIRED = [
    Scenario("demo", "csv", "local", ("put:data:5=kill-mid",)),  # mid data file upload
    Scenario("demo", "csv", "local", ("put:data:9=kill-after",)),  # between data and index file
    Scenario("demo", "parquet", "local", ("put:index:12=kill-before",)),  # same gap, seen from the index
    Scenario("demo", "csv", "local", ("put:schema:7=kill-after",)),  # barrier WRITE done, PASS not yet
    Scenario("demo", "canal-json", "local", ("put:schema:3=kill-mid",)),  # during a schema file write
    Scenario("demo", "csv", "local", ("put:metadata:1=kill-mid",)),  # during a checkpoint write
    Scenario("demo", "csv", "local", ("put:metadata:2=kill-before",)),  # the final checkpoint
    Scenario("demo", "parquet", "local", ("put:syncpoint:1=kill-mid",)),  # during a syncpoint marker
    Scenario("demo", "csv", "local", ("put:syncpoint:1=kill-after",)),
    Scenario("demo", "csv", "local", ("put:resume:2=kill-before",)),  # resume record
    Scenario("types", "csv", "local", ("put:resume:1=kill-mid", "put:data:2=kill-mid")),  # crash in recovery
    Scenario("types", "parquet", "local", ("put:schema:12=kill-after",)),
    Scenario("demo", "csv", "moto", ("put:data:7=kill-mid",)),
    Scenario("demo", "csv", "moto", ("put:schema:9=kill-after",)),
]


def _seeded(count: int, store: str) -> list[Scenario]:
    rng = random.Random(SEED + len(store))
    out: list[Scenario] = []
    while len(out) < count:
        source = rng.choice(["demo", "demo", "types"])
        kinds = WRITES[source]
        chain = []
        for _ in range(rng.choice([1, 1, 2])):
            kind = rng.choice(sorted(kinds))
            chain.append(f"put:{kind}:{rng.randint(1, kinds[kind])}={rng.choice(ACTIONS)}")
        scenario = Scenario(source, rng.choice(sorted(QUERIES)), store, tuple(chain))
        if scenario.failpoints[0] not in {s.failpoints[0] for s in [*REQUIRED, *out] if s.source == source}:
            out.append(scenario)
    return out


SCENARIOS = REQUIRED + _seeded(8, "local") + _seeded(2, "moto")


def _params() -> list[Any]:
    return [pytest.param(s, id=s.id, marks=[pytest.mark.s3] if s.store == "moto" else [])
            for s in SCENARIOS]


@pytest.fixture(scope="module")
def decoded(binlog_fixtures: Path) -> dict[str, tuple[Path, Decoded]]:
    types = binlog_fixtures / TYPES
    return {"demo": (DEMO, Decoded(DEMO)), "types": (types, Decoded(types))}


def _run_args(source: str, path: Path) -> list[str]:
    if source == "demo":
        return ["--source", str(path), "--split-table", "shop.orders=4", "--sync-point-interval", "1s"]
    return ["--source", str(path), "--split-table", "fixt.all_types=2"]


@pytest.fixture(scope="module")
def clean_rows() -> dict[tuple[str, str], int]:
    """Rows a consume applies from a run that was never killed, per (source, protocol), filled lazily."""
    return {}


def _clean(cache: dict[tuple[str, str], int], scenario: Scenario, path: Path, workdir: Path) -> int:
    """Rows a consume applies from a run that was never killed (in this process: it is only a baseline)."""
    key = (scenario.source, scenario.protocol)
    if key not in cache:
        uri = f"{(workdir / 'clean').as_uri()}?{QUERIES[scenario.protocol]}"
        args = _run_args(scenario.source, path)
        split = args[args.index("--split-table") + 1]
        overrides: dict[str, object] = {"split_tables": [split]}
        if "--sync-point-interval" in args:
            overrides |= {"sync_point": True, "sync_point_interval": "1s"}
        replicate(load_config(None, source=str(path), sink_uri=uri, overrides=overrides))
        applier = SqliteApplier(workdir / "clean.db")
        try:
            cache[key] = Replayer(open_store(uri), applier, options_from_uri(uri)).run().rows
        finally:
            applier.close()
    return cache[key]


@pytest.mark.parametrize("scenario", _params())
def test_kill_and_restart(scenario: Scenario, request: pytest.FixtureRequest, tmp_path: Path,
                          decoded: dict[str, tuple[Path, Decoded]], clean_rows: dict[tuple[str, str], int]) -> None:
    path, dec = decoded[scenario.source]
    query = QUERIES[scenario.protocol]
    if scenario.store == "moto":
        server: MotoServer = request.getfixturevalue("moto_server")
        uri = f"{server.store_uri(TEST_BUCKET, fresh_prefix(scenario.id), **{'retry-deadline': '20'})}&{query}"
    else:
        uri = f"{(tmp_path / 'out').as_uri()}?{query}"
    run = CrashRun(uri, _run_args(scenario.source, path), dec, tmp_path)
    assert run.kill_at(scenario.failpoints[0]), f"{scenario.failpoints[0]} never fired"
    if scenario.store == "local" and scenario.failpoints[0].endswith("kill-mid"):
        # The half-written temporary file is there, and no consumer can see it.
        assert list((tmp_path / "out").rglob(".storagecdc-tmp-*"))
    for failpoints in scenario.failpoints[1:]:
        if not run.kill_at(failpoints):
            break
    else:
        run.finish()
    assert run.checkpoint == dec.last_ts
    applied, _ = consume_cli(uri, tmp_path / "final.db")
    want = _clean(clean_rows, scenario, path, tmp_path)
    assert applied == want, "the consumer did not apply every change exactly once"
    assert run.follower_rows == want, "the follower did not apply every change exactly once"
    applier = SqliteApplier(tmp_path / "final.db")
    try:
        assert_model(applier, dec.model_at(dec.last_ts), scenario.protocol)
    finally:
        applier.close()


def test_enough_kill_points() -> None:
    """CI covers at least 20 kill points, a few of them on S3."""
    assert len(SCENARIOS) >= 20
    assert sum(s.store == "moto" for s in SCENARIOS) >= 3
