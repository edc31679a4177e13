"""A cold table under ``min-file-size`` waits for ``max-flush-interval``, and a barrier writes it at once.

The real command line replicates a live MariaDB to a local directory with ``flush-interval=200ms``,
``min-file-size=1MiB`` and ``max-flush-interval=6s``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.devtools.mariadb import MariaDBServer

CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]
MAX_FLUSH_S = 6.0
QUERY = f"protocol=csv&flush-interval=200ms&min-file-size=1MiB&max-flush-interval={MAX_FLUSH_S:g}s"


def _rows(root: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in root.rglob("*.csv"))


def _until(cond: Callable[[], bool], deadline: float) -> float | None:
    """Poll until ``cond`` holds (returns the monotonic time) or ``deadline`` passes (None)."""
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        time.sleep(0.05)
    return None


def _dumps(server: MariaDBServer) -> int:
    return int(server.execute(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")[0][0])


@pytest.mark.mariadb
def test_cold_table_waits_for_max_flush_interval_and_a_barrier_writes_it(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    db, out = mariadb_db, tmp_path / "out"
    mariadb.execute(f"CREATE TABLE `{db}`.cold (id INT PRIMARY KEY, v VARCHAR(20))")
    before = _dumps(mariadb)
    argv = ["run", "--source", mariadb.uri(server_id=9601), "--sink-uri", f"{out.as_uri()}?{QUERY}",
            "--filter", f"{db}.*", "--no-progress"]
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([*CLI, *argv], stdout=sink, stderr=subprocess.STDOUT)
    try:
        assert _until(lambda: _dumps(mariadb) > before or proc.poll() is not None, time.monotonic() + 30)
        assert proc.poll() is None, log.read_text()

        # Two rows (far under min-file-size): nothing is written at flush-interval, nor ten times it.
        mariadb.execute(f"INSERT INTO `{db}`.cold VALUES (1, 'a'), (2, 'b')")
        inserted = time.monotonic()
        time.sleep(2.0)
        assert _rows(out) == 0, "a cold table's rows were written before max-flush-interval"
        # A DDL on the table is a barrier: its buffered rows are written before the schema change.
        mariadb.execute(f"ALTER TABLE `{db}`.cold ADD COLUMN w INT")
        at = _until(lambda: _rows(out) == 2, inserted + MAX_FLUSH_S - 0.5)
        assert at is not None, "the barrier did not write the buffered rows"

        # The next row waits for max-flush-interval (counted from when the replicator got it), then is written.
        mariadb.execute(f"INSERT INTO `{db}`.cold VALUES (3, 'c', 3)")
        committed = time.monotonic()
        at = _until(lambda: _rows(out) == 3, committed + MAX_FLUSH_S + 5.0)
        assert at is not None, "the cold table's row was not written after max-flush-interval"
        assert at - committed >= MAX_FLUSH_S - 0.3, at - committed
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
