"""Fencing: two ``storagecdc run`` processes on one sink prefix never both write it.

In-process: the owner record's epochs, a stale lease taken over, a fenced writer refused before the
checkpoint, the resume record, schema files and syncpoint markers, and an unacknowledged renewal of our own
not mistaken for fencing. As processes (the real command line, a live MariaDB source that blocks, a local
directory and moto's S3): a second run waits for the first's lease and gives up with one error line, or
takes it the moment the first stops cleanly; a first run paused past its lease is taken over, and when it
wakes it writes nothing more and exits 1 with one line; a killed run's stale lease is taken over after the
timeout; a clean exit releases the lease so the next run starts at once. The output of all of them replays
to the server's tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.errors import ConfigError, FencedError
from storagecdc.runtime.fencing import FencedStore, PrefixOwner, needs_check
from storagecdc.storage import LocalStore, open_store
from storagecdc.storage.owner import OwnerLease, parse_owner
from storagecdc.storage.paths import OWNER_KEY

CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]
LEASE_S = 3.0
SINK_QUERY = "protocol=csv&flush-interval=200ms&include-commit-ts=true"

# ---- in process -------------------------------------------------------------------------------------------


def test_keys_that_need_the_full_check() -> None:
    assert needs_check("metadata") and needs_check("_storagecdc/resume.json")
    assert needs_check("shop/orders/meta/schema_1_0000000001.json")
    assert needs_check("shop/meta/schema_1_0000000001.json")
    assert needs_check("_storagecdc/syncpoint/00000000000000000001.json")
    assert not needs_check("shop/orders/1/2024-01-01/CDC00000000000000000001.csv")
    assert not needs_check("shop/orders/1/2024-01-01/meta/CDC.index")


def test_lease_options(tmp_path: Path) -> None:
    def load(text: str = "", **overrides: object) -> tuple[int, int]:
        path = tmp_path / "c.toml"
        path.write_text(text)
        config = load_config(path, source="x.000001", sink_uri="file:///tmp/x?protocol=csv", overrides=overrides)
        return config.lease_ms, config.lease_wait_ms

    assert load() == (30_000, 60_000)
    assert load('lease = "5s"\n') == (5000, 10_000)
    assert load('lease = "5s"\nlease-wait = "0s"\n') == (5000, 0)
    assert load('lease = "5s"\n', lease="2s", lease_wait="1m") == (2000, 60_000)
    with pytest.raises(ConfigError, match="lease must be at least 1s"):
        load('lease = "500ms"\n')


def test_second_owner_gives_up_on_a_live_lease_then_takes_a_stale_one(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    dead = OwnerLease(store, "default", lease_ms=400)  # a process that dies: it never renews
    dead.acquire()
    second = PrefixOwner(store, "default", lease_ms=5000, wait_ms=0)
    with pytest.raises(FencedError, match="lease live"):
        second.acquire()
    began = time.monotonic()
    third = PrefixOwner(store, "default", lease_ms=5000, wait_ms=5000)
    record = third.acquire()
    assert 0.1 < time.monotonic() - began < 3.0
    assert record.epoch == 2
    third.release()
    assert parse_owner(store.get(OWNER_KEY)).lease_expires_ms == 0


def test_a_fenced_owner_writes_no_checkpoint_resume_record_schema_file_or_syncpoint(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    first = PrefixOwner(store, "default", lease_ms=60_000, wait_ms=0)
    first.acquire()
    fenced = FencedStore(store, first)
    fenced.put("metadata", b'{"checkpoint-ts":1}')
    # A newer process takes over (as it would once the first one's lease expired, or with a skewed clock).
    _, version = store.get_versioned(OWNER_KEY)
    newer = json.loads(store.get(OWNER_KEY))
    newer.update(epoch=newer["epoch"] + 1, holder="other:1:x")
    store.put_if_version(OWNER_KEY, json.dumps(newer).encode(), version)
    for key in ("metadata", "_storagecdc/resume.json", "shop/t/meta/schema_5_0000000001.json",
                "_storagecdc/syncpoint/00000000000000000005.json"):
        with pytest.raises(FencedError, match="epoch 2"):
            fenced.put(key, b"{}")
    with pytest.raises(FencedError):  # and once fenced, nothing else either
        fenced.put("shop/t/5/CDC00000000000000000001.csv", b"x")
    assert store.get("metadata") == b'{"checkpoint-ts":1}'
    assert not store.exists("_storagecdc/resume.json")
    first.release()  # fenced: leaves the newer owner's record alone
    assert parse_owner(store.get(OWNER_KEY)).holder == "other:1:x"


def test_own_renewal_with_a_lost_answer_is_not_mistaken_for_fencing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    owner = PrefixOwner(store, "default", lease_ms=60_000, wait_ms=0)
    owner.acquire()
    # Our renewal landed but its answer was lost: the stored record is ours with another expiry and version.
    record = json.loads(store.get(OWNER_KEY))
    record["lease-expires-ms"] += 1000
    store.put(OWNER_KEY, json.dumps(record).encode())
    FencedStore(store, owner).put("metadata", b'{"checkpoint-ts":1}')
    assert owner.fenced is None and parse_owner(store.get(OWNER_KEY)).epoch == 2
    owner.release()


def test_clean_exit_releases_so_the_next_run_starts_at_once(binlog_fixtures: Path, tmp_path: Path) -> None:
    config = tmp_path / "lease.toml"
    config.write_text('lease = "60s"\nlease-wait = "0s"\n')
    source = binlog_fixtures / "mariadb" / "mariadb-10.11-sysbench-oltp_write_only.000010"
    sink = f"{(tmp_path / 'out').as_uri()}?protocol=csv"
    for run in range(2):
        done = subprocess.run([*CLI, "run", "--source", str(source), "--sink-uri", sink, "--config", str(config)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        owner = parse_owner((tmp_path / "out" / OWNER_KEY).read_bytes())
        assert (owner.epoch, owner.lease_expires_ms) == (run + 1, 0)


# ---- processes on a live source -------------------------------------------------------------------------


class Run:
    """One ``storagecdc run`` process in the background; its output goes to a file."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen([*CLI, *argv], stdout=out, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


@pytest.fixture(params=["local", pytest.param("moto", marks=pytest.mark.s3)])
def sink_uri(request: pytest.FixtureRequest, store_uri_factory: Callable[[str], str]) -> str:
    uri = store_uri_factory(request.param)
    return f"{uri}&{SINK_QUERY}" if "?" in uri else f"{uri}?{SINK_QUERY}"


def _objects(uri: str) -> dict[str, str]:
    store = open_store(uri)
    try:
        return {i.key: hashlib.sha256(store.get(i.key)).hexdigest() for i in store.list()}
    finally:
        store.close()


def _immutable(objects: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in objects.items()
            if k != "metadata" and not k.startswith("_storagecdc/") and not k.endswith(".index")}


def _owner(uri: str) -> dict[str, object] | None:
    store = open_store(uri)
    try:
        return json.loads(store.get(OWNER_KEY)) if store.exists(OWNER_KEY) else None
    finally:
        store.close()


def _wait(what: str, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _dumps(server: MariaDBServer) -> int:
    """Replication connections streaming from ``server``."""
    return int(server.execute(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")[0][0])


def _start_live(server: MariaDBServer, argv: list[str], log: Path) -> Run:
    """Start a live run and wait until it streams (changes after that are its to replicate)."""
    before = _dumps(server)
    run = Run(argv, log)
    _wait("the run to stream from the server", lambda: _dumps(server) > before or run.proc.poll() is not None)
    return run


def _rows_written(uri: str) -> int:
    """CSV lines in every data file of the sink."""
    store = open_store(uri)
    try:
        return sum(store.get(i.key).count(b"\n") for i in store.list() if i.key.endswith(".csv"))
    finally:
        store.close()


def _durable(uri: str, rows: int) -> None:
    """Wait until ``rows`` CSV lines are written and a checkpoint after them is published."""
    _wait(f"{rows} rows in data files", lambda: _rows_written(uri) >= rows)
    time.sleep(1.0)  # flush-interval and checkpoint tick are 200 ms


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _config(tmp_path: Path, name: str, wait: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'lease = "{LEASE_S}s"\nlease-wait = "{wait}"\n')
    return str(path)


def _argv(server: MariaDBServer, db: str, sink: str, config: str, server_id: int) -> list[str]:
    return ["run", "--source", server.uri(server_id=server_id), "--sink-uri", sink, "--config", config,
            "--filter", f"{db}.*"]


def _replay(sink: str, target: Path) -> None:
    done = subprocess.run([*CLI, "consume", "--sink-uri", sink, "--target", f"sqlite:///{target}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.mariadb
def test_paused_owner_is_taken_over_and_fenced_when_it_wakes(
    mariadb: MariaDBServer, mariadb_db: str, sink_uri: str, tmp_path: Path, runs: list[Run]
) -> None:
    db = mariadb_db
    mariadb.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20))")
    patient = _config(tmp_path, "patient", "30s")
    first = _start_live(mariadb, _argv(mariadb, db, sink_uri, patient, 9101), tmp_path / "first.log")
    runs.append(first)
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (1, 'a'), (2, 'b')")
    _durable(sink_uri, 2)

    # A second run while the first one renews its lease: it says it waits, gives up, exit 1.
    impatient = _config(tmp_path, "impatient", "1s")
    done = subprocess.run([*CLI, *_argv(mariadb, db, sink_uri, impatient, 9102)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    lines = _error_lines(done.stderr)
    assert len(lines) == 2 and "waiting up to 1 s" in lines[0], lines
    assert lines[1].startswith("storagecdc: error: ") and "lease live" in lines[1], lines

    # The first run stops renewing (paused); after its lease a second run takes over with epoch 2.
    first.proc.send_signal(signal.SIGSTOP)
    time.sleep(LEASE_S + 0.5)
    second = _start_live(mariadb, _argv(mariadb, db, sink_uri, patient, 9103), tmp_path / "second.log")
    runs.append(second)
    assert (_owner(sink_uri) or {}).get("epoch") == 2
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (3, 'c')")
    mariadb.execute(f"UPDATE `{db}`.t SET v = 'B' WHERE id = 2")
    _durable(sink_uri, 4)
    before = _immutable(_objects(sink_uri))

    # The first run wakes up with the new rows in its socket: it must write none of them.
    first.proc.send_signal(signal.SIGCONT)
    assert first.wait(30) == 1, first.output()
    lines = _error_lines(first.output())
    assert len(lines) == 1 and lines[0].startswith("storagecdc: error: "), lines
    assert "epoch 2" in lines[0] and "fenced" in lines[0], lines
    assert _immutable(_objects(sink_uri)) == before, "the fenced run wrote or changed a file"

    # The second run stops cleanly and releases: the next run starts at once (no wait allowed).
    second.proc.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0, second.output()
    assert "already exists" not in second.output()
    assert (_owner(sink_uri) or {}).get("lease-expires-ms") == 0
    mariadb.execute(f"DELETE FROM `{db}`.t WHERE id = 1")
    now = _config(tmp_path, "now", "0s")
    began = time.monotonic()
    done = subprocess.run([*CLI, *_argv(mariadb, db, sink_uri, now, 9104), "--until", "now"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < LEASE_S * 4
    assert (_owner(sink_uri) or {}).get("epoch") == 3

    target = tmp_path / "replay.db"
    _replay(sink_uri, target)
    with sqlite3.connect(target) as conn:
        rows = sorted(conn.execute(f'SELECT id, v FROM "{db}.t"').fetchall())
    assert rows == sorted(mariadb.execute(f"SELECT id, v FROM `{db}`.t"))


@pytest.mark.mariadb
def test_stale_lease_of_a_killed_run_is_taken_over_after_the_timeout(
    mariadb: MariaDBServer, mariadb_db: str, sink_uri: str, tmp_path: Path, runs: list[Run]
) -> None:
    db = mariadb_db
    mariadb.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")
    config = _config(tmp_path, "lease", "20s")
    first = _start_live(mariadb, _argv(mariadb, db, sink_uri, config, 9201), tmp_path / "first.log")
    runs.append(first)
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (1), (2)")
    _durable(sink_uri, 2)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    remaining = int(str((_owner(sink_uri) or {})["lease-expires-ms"])) / 1000 - time.time()
    assert remaining > 0, "the dead run's lease is still live right after the kill"

    no_wait = _config(tmp_path, "no-wait", "0s")
    done = subprocess.run([*CLI, *_argv(mariadb, db, sink_uri, no_wait, 9202), "--until", "now"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "lease live" in done.stderr, done.stderr

    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (3)")
    done = subprocess.run([*CLI, *_argv(mariadb, db, sink_uri, config, 9203), "--until", "now"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    waited = time.monotonic() - killed_at
    assert remaining - 0.5 <= waited < 20, (remaining, waited)
    assert "resumed from" in done.stderr
    owner = _owner(sink_uri) or {}
    assert owner.get("epoch") == 2 and owner.get("lease-expires-ms") == 0
    target = tmp_path / "replay.db"
    _replay(sink_uri, target)
    with sqlite3.connect(target) as conn:
        assert sorted(r[0] for r in conn.execute(f'SELECT id FROM "{db}.t"')) == [1, 2, 3]


@pytest.mark.mariadb
def test_a_waiting_run_starts_when_the_owner_stops(
    mariadb: MariaDBServer, mariadb_db: str, sink_uri: str, tmp_path: Path, runs: list[Run]
) -> None:
    db = mariadb_db
    mariadb.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")
    config = _config(tmp_path, "patient", "60s")
    first = _start_live(mariadb, _argv(mariadb, db, sink_uri, config, 9401), tmp_path / "first.log")
    runs.append(first)
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (1)")
    _durable(sink_uri, 1)
    second = Run([*_argv(mariadb, db, sink_uri, config, 9402), "--until", "now"], tmp_path / "second.log")
    runs.append(second)
    _wait("the second run to wait", lambda: "waiting up to 60 s" in second.output())
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (2)")
    time.sleep(LEASE_S)  # longer than the lease: the first run renews it, the second keeps waiting
    assert second.proc.poll() is None and (_owner(sink_uri) or {}).get("epoch") == 1
    first.proc.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0, first.output()
    stopped = time.monotonic()
    assert second.wait(60) == 0, second.output()
    assert time.monotonic() - stopped < LEASE_S, "the released lease is taken at once"
    assert "resumed from" in second.output() and "already exists" not in second.output()
    assert (_owner(sink_uri) or {}).get("epoch") == 2
    target = tmp_path / "replay.db"
    _replay(sink_uri, target)
    with sqlite3.connect(target) as conn:
        assert sorted(r[0] for r in conn.execute(f'SELECT id FROM "{db}.t"')) == [1, 2]
