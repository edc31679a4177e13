"""The live workload: sysbench ``oltp_write_only`` on four tables with DDL on those tables at the same time.

- ``prepare(server)``: ``sysbench prepare`` of ``TABLES`` tables of ``TABLE_SIZE`` rows in database ``DB``.
- ``Workload(server, log_dir).start()`` / ``.stop()``: ``sysbench run`` at ``RATE_TPS`` transactions a second
  (errors ignored, so statements that meet a renamed table fail and go on) in a subprocess and, in a thread,
  the ``DDL`` script, a statement every ``DDL_GAP_S`` seconds, with a scratch table dropped and created again;
  ``stop`` waits for the script and ends sysbench, so the caller decides how long the workload runs.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from storagecdc.devtools.mariadb import MariaDBServer

SYSBENCH = "/usr/bin/sysbench"
DB = "e2e_live_sb"
TABLES = 4
TABLE_SIZE = 2_000
MAX_SECONDS = 120
"""sysbench's ``--time``: an upper bound only, ``Workload.stop`` ends it."""
RATE_TPS = 150
"""sysbench's transaction rate: the changefeeds keep up on two shared cores, so a restart catches up in time."""
DDL_START_S = 0.4
DDL_GAP_S = 0.3

DDL = (
    # sbtest1 is split 4 ways: a column with a default added, one added and dropped, one modified
    "ALTER TABLE sbtest1 ADD COLUMN note VARCHAR(16) NOT NULL DEFAULT 'fresh'",
    "ALTER TABLE sbtest2 MODIFY COLUMN pad VARCHAR(80) NOT NULL DEFAULT ''",
    "ALTER TABLE sbtest1 ADD COLUMN tmp INT NULL",
    "RENAME TABLE sbtest3 TO sbtest3_moved",
    "RENAME TABLE sbtest3_moved TO sbtest3",
    "TRUNCATE TABLE sbtest4",
    "ALTER TABLE sbtest1 DROP COLUMN tmp",
    # sbtest2 is split 3 ways: renamed and back, a column added with a default
    "RENAME TABLE sbtest2 TO sbtest2_moved",
    "RENAME TABLE sbtest2_moved TO sbtest2",
    "ALTER TABLE sbtest2 ADD COLUMN flag TINYINT NOT NULL DEFAULT 1",
    "ALTER TABLE sbtest1 MODIFY COLUMN c VARCHAR(130) NOT NULL DEFAULT ''",
    "ALTER TABLE sbtest3 ADD COLUMN price DECIMAL(10,2) NULL DEFAULT 9.99",
    "CREATE TABLE scratch (id INT PRIMARY KEY, v VARCHAR(10))",
    "INSERT INTO scratch VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    "DROP TABLE scratch",
    "CREATE TABLE scratch (id INT PRIMARY KEY, w BIGINT, note VARCHAR(8) DEFAULT 'new')",
    "INSERT INTO scratch (id, w) VALUES (10, 100), (20, 200)",
    "UPDATE scratch SET w = w + 1 WHERE id = 10",
)


def _sysbench(server: MariaDBServer, *args: str) -> list[str]:
    if not os.access(SYSBENCH, os.X_OK):
        pytest.fail(f"{SYSBENCH} not found: run scripts/install-test-deps.sh to install sysbench", pytrace=False)
    return [
        SYSBENCH, "oltp_write_only", "--db-driver=mysql", f"--mysql-socket={server.socket_path}",
        "--mysql-user=root", f"--mysql-db={DB}", f"--tables={TABLES}", f"--table-size={TABLE_SIZE}", *args,
    ]  # fmt: skip


def prepare(server: MariaDBServer) -> None:
    done = subprocess.run(_sysbench(server, "prepare"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


class Workload:
    """sysbench and the DDL script at the same time on ``server``'s database ``DB``, until ``stop``."""

    def __init__(self, server: MariaDBServer, log_dir: Path) -> None:
        self.server = server
        self.log = log_dir / "sysbench.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._ddl, name="e2e-ddl", daemon=True)
        self.ddl_errors: list[str] = []
        self.ddl_done = 0

    def start(self) -> None:
        args = _sysbench(self.server, f"--time={MAX_SECONDS}", "--threads=2", f"--rate={RATE_TPS}",
                         "--mysql-ignore-errors=all", "--rand-seed=7", "run")
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self._thread.start()

    def _ddl(self) -> None:
        time.sleep(DDL_START_S)
        conn = self.server.connect(DB)
        try:
            with conn.cursor() as cur:
                for statement in DDL:
                    try:
                        cur.execute(statement)
                        self.ddl_done += 1
                    except Exception as exc:  # the test reports every failed statement
                        self.ddl_errors.append(f"{statement}: {exc}")
                    time.sleep(DDL_GAP_S)
        finally:
            conn.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Wait for the DDL script, then stop sysbench (the server rolls back its open transactions).

        Fails the test when sysbench ended by itself or a DDL statement failed."""
        assert self._proc is not None
        self._thread.join(60)
        alive = self._proc.poll() is None
        self._proc.terminate()
        self._proc.wait(30)
        assert alive, "sysbench ended early:\n" + self.log.read_text(errors="replace")[-3000:]
        assert not self.ddl_errors, self.ddl_errors
        assert self.ddl_done == len(DDL)

    def kill(self) -> None:
        """Teardown only: stop a sysbench a failed test left behind."""
        if self.running:
            assert self._proc is not None
            self._proc.kill()
            self._proc.wait(10)
