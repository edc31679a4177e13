"""``storagecdc bench snapshot``: snapshot speed against mysqldump on a sysbench table (docs/performance.md).

A private MariaDB gets one sysbench table of ``rows`` rows (``sysbench oltp_write_only prepare``). Then,
each ``repeat`` times, in a process of its own so that its peak memory is its own:

- ``storagecdc run --until now`` with ``[source] snapshot = "initial"`` into Parquet files in a fresh local
  directory (the snapshot, then the (empty) catch-up, then the checkpoint);
- ``mariadb-dump --single-transaction`` (``mysqldump``) of the same table into a file.

Before the runs, storagecdc's modules are compiled to bytecode, as ``pip install`` does: a machine with
``PYTHONDONTWRITEBYTECODE`` set (this one) would otherwise compile them from source at every start.

Reported: the median wall time of each, rows/s, the ratio (storagecdc / mysqldump; above 1 is faster than
mysqldump), the peak RSS of each process and the output sizes, and the median CPU seconds of each run: the
tool's (its process and the children it waited for: reader processes, when there are any) and the server's (the
MariaDB process's CPU time over the run). On a shared machine the wall times depend on the load; the CPU
seconds much less.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import storagecdc
from storagecdc.bench.workloads import sysbench_prepare
from storagecdc.devtools.mariadb import MariaDBError, MariaDBServer

DATABASE = "bench_sysbench"
TABLE = "sbtest1"
_CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]


@dataclass(frozen=True)
class SnapshotBenchOptions:
    work_dir: Path
    rows: int = 1_000_000
    repeat: int = 1


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float
    """Median wall time over the runs."""
    peak_rss_mib: float
    """Largest peak resident set size of a run's process."""
    output_bytes: int
    cpu_seconds: float = 0.0
    """Median CPU time (user + system) of a run's process and the children it waited for."""
    server_cpu_seconds: float = 0.0
    """Median CPU time the MariaDB server spent during a run."""


@dataclass(frozen=True)
class SnapshotBenchResult:
    rows: int
    storagecdc: Timing
    mysqldump: Timing

    @property
    def ratio(self) -> float:
        """storagecdc's rows/s divided by mysqldump's."""
        return self.mysqldump.seconds / self.storagecdc.seconds if self.storagecdc.seconds else 0.0


def _dump_tool() -> str:
    for name in ("mariadb-dump", "mysqldump"):
        path = shutil.which(name)
        if path:
            return path
    raise MariaDBError("neither mariadb-dump nor mysqldump is installed (Debian: apt-get install mariadb-client)")


Run = tuple[float, float, float, float]
"""Wall seconds, peak RSS in MiB, CPU seconds of the tool, CPU seconds of the server."""


def _server_cpu(server: MariaDBServer) -> float:
    """The server process's CPU seconds so far (user + system), 0 when unknown."""
    pid = server.pid
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(argv: list[str], stdout: TextIO | int, server: MariaDBServer) -> Run:
    """Run ``argv``; wall seconds, peak RSS in MiB and CPU seconds of that process (with the children it
    waited for), and the server's CPU seconds meanwhile."""
    server_before = _server_cpu(server)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise MariaDBError(f"{Path(argv[0]).name} {' '.join(argv[3:5])} failed ({proc.returncode}): {errors[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, _server_cpu(server) - server_before


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _snapshot_run(server: MariaDBServer, out: Path, config: Path) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    config.write_text(
        f'[source]\nuri = "{server.uri()}"\nsnapshot = "initial"\n'
        f'[sink]\nuri = "file://{out}?protocol=parquet"\n[filter]\nrules = ["{DATABASE}.*"]\n'
    )
    return _timed([*_CLI, "run", "--config", str(config), "--until", "now", "--no-progress"], subprocess.DEVNULL,
                  server)


def _dump_run(server: MariaDBServer, dest: Path) -> Run:
    argv = [_dump_tool(), "--single-transaction", f"--socket={server.socket_path}", "--user=root",
            DATABASE, TABLE]
    with dest.open("w") as out:
        return _timed(argv, out, server)


def _measure(name: str, runs: int, once: Callable[[], Run], output: Path) -> Timing:
    results = [once() for _ in range(runs)]
    return Timing(name, statistics.median(r[0] for r in results), max(r[1] for r in results), _size(output),
                  statistics.median(r[2] for r in results), statistics.median(r[3] for r in results))


def run_snapshot_bench(options: SnapshotBenchOptions, progress: Callable[[str], None]) -> SnapshotBenchResult:
    work = options.work_dir
    work.mkdir(parents=True, exist_ok=True)
    with MariaDBServer(base_dir=work) as server:
        server.start()
        progress(f"preparing a sysbench table of {options.rows:,} rows")
        sysbench_prepare(server, options.rows, work)
        server.execute(f"ANALYZE TABLE `{DATABASE}`.`{TABLE}`")
        out, config, dump = work / "snapshot-out", work / "snapshot.toml", work / "dump.sql"
        compileall.compile_dir(Path(storagecdc.__file__).parent, quiet=1)
        progress("storagecdc snapshot to Parquet")
        ours = _measure("storagecdc snapshot -> Parquet", options.repeat, lambda: _snapshot_run(server, out, config),
                        out)
        progress("mysqldump --single-transaction")
        theirs = _measure(f"{Path(_dump_tool()).name} --single-transaction", options.repeat,
                          lambda: _dump_run(server, dump), dump)
        shutil.rmtree(out, ignore_errors=True)
        dump.unlink(missing_ok=True)
    return SnapshotBenchResult(options.rows, ours, theirs)


def write_snapshot_report(result: SnapshotBenchResult, command: str, out: TextIO) -> None:
    cpus = os.cpu_count() or 0
    print(f"# {command}", file=out)
    print(f"# {result.rows:,} rows of sysbench {TABLE}; {cpus} CPU(s); {time.strftime('%Y-%m-%d', time.gmtime())}",
          file=out)
    print(f"{'':38} {'seconds':>8} {'rows/s':>11} {'peak RSS':>10} {'output':>10} {'CPU s':>6} {'server CPU s':>12}",
          file=out)
    for t in (result.storagecdc, result.mysqldump):
        rate = result.rows / t.seconds if t.seconds else 0.0
        print(f"{t.name:38} {t.seconds:8.2f} {rate:11,.0f} {t.peak_rss_mib:8.0f} MiB {t.output_bytes / 2**20:6.1f} MiB"
              f" {t.cpu_seconds:6.2f} {t.server_cpu_seconds:12.2f}", file=out)
    print(f"ratio (storagecdc rows/s / mysqldump rows/s): {result.ratio:.2f}", file=out)

