"""``bench e2e``: end-to-end replication speed, memory, latency and object counts (docs/performance.md).

Three parts, one private MariaDB:

1. Throughput: each workload's binlog file (``workloads.py``: sysbench prepare of ``rows`` rows, ``rows / 5``
   wide inserts, ``rows / 5`` wide updates) replicated by ``storagecdc run`` in a fresh process to Parquet
   (zstd) and to CSV, on a local directory and on moto's S3 server; moto runs in a process of its own
   (``python -m moto.server``) so that it does not share the replicator's GIL. Every run must report the
   workload's row count; its wall time (Python start-up included) and peak RSS (the child's own ``VmHWM``)
   are kept, medians over ``repeat``. mysql-replication decodes the same file from the server beside it.
2. Latency: a live replicator (default ``flush-interval``, 5 s; Parquet on a local directory) under a steady
   load of small transactions (``LATENCY_ROWS_PER_TXN`` rows each, ``latency_rate`` rows/s, for
   ``latency_seconds``). A transaction's latency is from its COMMIT returning on the client to the first
   listing of the store (polled every ``POLL_SECONDS``) that shows the data file holding it.
3. Many tables (``e2e_tables.py``): ``tables`` tables, transactions touching ``tables_statements_per_txn``
   random tables with 1-3 rows each, replicated live to Parquet on moto's S3 server with the options a user
   of many small tables sets (``min-file-size``, ``max-flush-interval``). Data objects (listed) and
   requests (moto's request log) per 1,000 rows, against a writer that writes one file per table per
   second (the distinct (table, second) pairs of the commits), and whether the replicator caught up.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO
from urllib.parse import urlencode

import pyarrow.parquet as pq

from storagecdc.bench.decode import BenchError, machine_lines, peer_live_rows
from storagecdc.bench.e2e_tables import (
    CATCH_UP_LIMIT_S,
    TABLES_SINK_OPTIONS,
    TablesLoad,
    TablesResult,
    count_objects,
    create_tables,
    metrics_port,
    request_counts,
    run_load,
    wait_read,
    write_tables_report,
)
from storagecdc.bench.workloads import WORKLOADS, WorkloadBinlog, ensure_binlogs, serve_binlogs
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, REPLICATION_USER, MariaDBServer
from storagecdc.devtools.s3servers import ACCESS_KEY, REGION, SECRET_KEY, free_port
from storagecdc.storage.s3 import create_bucket
from storagecdc.storage.s3_options import S3Options

FORMATS = ("parquet", "csv")
STORES = ("local", "s3")
BUCKET = "bench"
POLL_SECONDS = 0.02
LATENCY_ROWS_PER_TXN = 10
_CHILD = (
    "import sys\nfrom storagecdc.cli import main\nrc = main(sys.argv[1:])\n"
    "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "print('peak-rss-kib', hwm[0] if hwm else 0, file=sys.stderr)\nsys.exit(rc)\n"
)
"""``storagecdc`` in a child that prints its own peak RSS (``VmHWM``) last on stderr."""
_REPLICATED = re.compile(r"replicated (\d+) rows")
SERVER_SETTINGS: dict[str, str | int | None] = {
    "innodb_file_per_table": "OFF", "table_open_cache": 20_000, "table_definition_cache": 20_000,
    "innodb_buffer_pool_size": "256M", "innodb_log_file_size": "128M",
}
"""10,000 tables: with the test defaults (16 MiB buffer pool, 400 cached table definitions) the server
manages about 500 single-table INSERTs/s and creating the tables takes 3 minutes; with these, 20,000/s."""


@dataclass(frozen=True, slots=True)
class E2EOptions:
    """What ``bench e2e`` runs (sizes of the defaults: see docs/performance.md)."""

    work_dir: Path
    rows: int = 1_000_000
    repeat: int = 1
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    latency: bool = True
    tables: int = 10_000
    latency_rate: int = 5_000
    latency_seconds: float = 20.0
    tables_txn_rate: int = 500
    tables_seconds: float = 90.0
    tables_statements_per_txn: int = 10
    tables_catch_up_s: float = CATCH_UP_LIMIT_S

    def workload_rows(self, name: str) -> int:
        """sysbench gets ``rows``; the wide workloads a fifth of it (1M -> 200k)."""
        return self.rows if name == "sysbench" else max(1, self.rows // 5)


@dataclass(slots=True)
class SinkRun:
    """One sink configuration of one workload: wall seconds and peak RSS (KiB) of every run."""

    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ThroughputResult:
    binlog: WorkloadBinlog
    file_bytes: int
    peer_seconds: list[float] = field(default_factory=list)
    runs: dict[str, SinkRun] = field(default_factory=dict)
    """``"<format> <store>"`` -> its runs."""


@dataclass(frozen=True, slots=True)
class LatencyResult:
    rows_per_s: float
    transactions: int
    seconds: float
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(slots=True)
class E2EResult:
    throughput: list[ThroughputResult] = field(default_factory=list)
    latency: LatencyResult | None = None
    tables: TablesResult | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)


# -- processes ------------------------------------------------------------------------------------------------


class MotoProcess:
    """moto's S3 server as ``python -m moto.server`` on 127.0.0.1 (its own process and GIL); its request log
    (one line per request) goes to ``log_path`` so that PUT requests can be counted."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.endpoint = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        port = free_port()
        self._log = self.log_path.open("wb")
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        self._proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    break
            except OSError as exc:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise BenchError(f"moto's server did not start on {self.endpoint}: {exc}") from exc
                time.sleep(0.2)
        create_bucket(BUCKET, self.options())

    def options(self) -> S3Options:
        return S3Options(endpoint=self.endpoint, region=REGION, access_key=ACCESS_KEY,
                         secret_access_key=SECRET_KEY, force_path_style=True)

    def store_uri(self, prefix: str) -> str:
        """The store's URI without keys: they come from the environment (``_env``) or the store options."""
        query = {"endpoint": self.endpoint, "region": REGION, "force-path-style": "true"}
        return f"s3://{BUCKET}/{prefix}?{urlencode(query)}"

    def uri(self, prefix: str, protocol: str) -> str:
        return f"{self.store_uri(prefix)}&protocol={protocol}"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


def _env(sink_uri: str, server: MariaDBServer | None = None) -> dict[str, str]:
    """The child's environment: S3 keys for an S3 sink, the source password for a live source."""
    env = dict(os.environ)
    if sink_uri.startswith("s3://"):
        env |= {"STORAGECDC_SINK_ACCESS_KEY": ACCESS_KEY, "STORAGECDC_SINK_SECRET_ACCESS_KEY": SECRET_KEY}
    if server is not None:
        env["STORAGECDC_SOURCE_PASSWORD"] = REPLICATION_PASSWORD
    return env


def _source_uri(server: MariaDBServer) -> str:
    return f"mysql://{REPLICATION_USER}@{server.host}:{server.port}/"


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes], what: str) -> tuple[int, int]:
    """Wait for a child: (rows it replicated, its peak RSS in KiB); a failure raises with its stderr's end."""
    _out, err = proc.communicate()
    text = err.decode(errors="replace")
    found = _REPLICATED.search(text)
    if proc.returncode != 0 or found is None:
        raise BenchError(f"{what} failed ({proc.returncode}): {text[-2000:]}")
    peak = re.search(r"peak-rss-kib (\d+)", text)
    return int(found.group(1)), int(peak.group(1)) if peak else 0


# -- 1. throughput --------------------------------------------------------------------------------------------


def _replicate_file(binlog: WorkloadBinlog, sink_uri: str) -> tuple[float, int]:
    """``storagecdc run`` of one binlog file in a fresh process: (wall seconds, peak RSS KiB)."""
    start = time.perf_counter()
    proc = _spawn(["run", "--source", str(binlog.path), "--sink-uri", sink_uri, "--no-progress"], _env(sink_uri))
    rows, rss = _finish(proc, f"storagecdc run of {binlog.path} to {sink_uri.split('?', maxsplit=1)[0]}")
    seconds = time.perf_counter() - start
    if rows != binlog.rows:
        raise BenchError(f"storagecdc run of {binlog.path}: replicated {rows} rows, the workload wrote {binlog.rows}")
    return seconds, rss


def _sink_uri(fmt: str, store: str, moto: MotoProcess, out: Path, prefix: str) -> str:
    if store == "s3":
        return moto.uri(prefix, fmt)
    return f"file://{out / prefix}?protocol={fmt}"


def measure_throughput(server: MariaDBServer, moto: MotoProcess, options: E2EOptions,
                       progress: Callable[[str], None]) -> list[ThroughputResult]:
    binlogs = [ensure_binlogs(server, [name], options.workload_rows(name), options.work_dir)[0]
               for name in options.workloads]
    names = serve_binlogs(server, [b.path for b in binlogs])
    out = options.work_dir / "e2e-out"
    results = []
    for binlog, name in zip(binlogs, names, strict=True):
        size = binlog.path.stat().st_size
        result = ThroughputResult(binlog, size)
        for run in range(options.repeat):
            start = time.perf_counter()
            rows = peer_live_rows(server, name, size)
            if rows != binlog.rows:
                raise BenchError(f"mysql-replication on {binlog.path}: {rows} rows, the workload wrote {binlog.rows}")
            result.peer_seconds.append(time.perf_counter() - start)
            progress(f"{binlog.name} run {run + 1}: mysql-replication {result.peer_seconds[-1]:.2f} s")
            for fmt in FORMATS:
                for store in STORES:
                    prefix = f"{binlog.name}-{fmt}-{run}-{time.time_ns()}"
                    seconds, rss = _replicate_file(binlog, _sink_uri(fmt, store, moto, out, prefix))
                    sink = result.runs.setdefault(f"{fmt} {store}", SinkRun())
                    sink.seconds.append(seconds)
                    sink.rss_kib.append(rss)
                    progress(f"{binlog.name} run {run + 1}: {fmt} {store} {seconds:.2f} s, {rss // 1024} MiB")
                    _remove_tree(out / prefix)
        results.append(result)
    return results


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


# -- live runs ------------------------------------------------------------------------------------------------


def _position(server: MariaDBServer) -> str:
    row = server.execute("SHOW MASTER STATUS")[0]
    return f"{row[0]}:{row[1]}"


@dataclass(slots=True)
class LiveRun:
    """A live replicator process; ``rows`` is what it reported replicating once it has stopped."""

    proc: subprocess.Popen[bytes]
    rows: int = 0


@contextmanager
def _live_replicator(server: MariaDBServer, sink_uri: str, start: str, *extra: str) -> Iterator[LiveRun]:
    """A live ``storagecdc run`` from ``start``; stopped with SIGINT (it flushes, then exits 0) on leaving."""
    args = ["run", "--source", _source_uri(server), "--sink-uri", sink_uri, "--start", start, "--no-progress",
            *extra]
    live = LiveRun(_spawn(args, _env(sink_uri, server)))
    try:
        yield live
    finally:
        if live.proc.poll() is None:
            live.proc.send_signal(signal.SIGINT)
        try:
            live.rows = _finish(live.proc, "the live storagecdc run")[0]
        finally:
            if live.proc.poll() is None:
                live.proc.kill()
                live.proc.wait(10)


def _paced(rate: float, seconds: float) -> Iterator[int]:
    """Yield 0, 1, 2... at ``rate`` per second for ``seconds`` (sleeping when ahead, never bursting back)."""
    start = time.monotonic()
    n = 0
    while (now := time.monotonic()) - start < seconds:
        ahead = start + n / rate - now
        if ahead > 0:
            time.sleep(ahead)
        yield n
        n += 1


# -- 2. latency -----------------------------------------------------------------------------------------------


def _watch(root: Path, seen: dict[Path, float], stop: threading.Event) -> None:
    """Record the first time each Parquet data file under ``root`` is listed."""
    while not stop.is_set():
        now = time.time()
        for path in root.rglob("CDC*.parquet"):
            seen.setdefault(path, now)
        stop.wait(POLL_SECONDS)


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def measure_latency(server: MariaDBServer, options: E2EOptions, progress: Callable[[str], None]) -> LatencyResult:
    out = options.work_dir / "e2e-latency"
    _remove_tree(out)
    start = _position(server)
    server.execute_script("DROP DATABASE IF EXISTS bench_latency; CREATE DATABASE bench_latency; "
                          "CREATE TABLE bench_latency.lat (id BIGINT PRIMARY KEY, pad VARCHAR(40) NOT NULL)")
    seen: dict[Path, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(out, seen, stop), daemon=True)
    committed: dict[int, float] = {}
    conn = server.connect("bench_latency")
    try:
        with _live_replicator(server, f"file://{out}?protocol=parquet", start):
            watcher.start()
            conn.cursor().execute("INSERT INTO lat VALUES (0, 'warm-up')")
            _wait_for(lambda: bool(seen), 60, f"the first data file under {out}")
            progress(f"latency: replicator up; {options.latency_rate} rows/s for {options.latency_seconds:.0f} s")
            rate = options.latency_rate / LATENCY_ROWS_PER_TXN
            began = time.monotonic()
            with conn.cursor() as cur:
                for n in _paced(rate, options.latency_seconds):
                    first = 1 + n * LATENCY_ROWS_PER_TXN
                    values = ",".join(f"({first + i},'row {first + i}')" for i in range(LATENCY_ROWS_PER_TXN))
                    cur.execute(f"INSERT INTO lat VALUES {values}")
                    committed[first] = time.time()
            elapsed = time.monotonic() - began
            last = max(committed)
            _wait_for(lambda: _holds(seen, last), 30, "the last transaction's data file")
    finally:
        stop.set()
        conn.close()
    visible = _visible_times(seen)
    latencies = sorted(visible[first] - at for first, at in committed.items())
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LatencyResult(len(committed) * LATENCY_ROWS_PER_TXN / elapsed, len(committed), elapsed,
                         cuts[49], cuts[94], cuts[98], latencies[-1])


def _ids(path: Path) -> list[int]:
    return [int(v) for v in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def _holds(seen: dict[Path, float], row_id: int) -> bool:
    return any(row_id in _ids(path) for path in list(seen))


def _visible_times(seen: dict[Path, float]) -> dict[int, float]:
    """Row id -> when the data file holding it was first listed."""
    return {row_id: at for path, at in seen.items() for row_id in _ids(path)}


# -- 3. many tables -------------------------------------------------------------------------------------------


def measure_tables(server: MariaDBServer, moto: MotoProcess, options: E2EOptions,
                   progress: Callable[[str], None]) -> TablesResult:
    load = TablesLoad(options.tables, options.tables_txn_rate, options.tables_seconds,
                      options.tables_statements_per_txn)
    progress(f"tables: creating {load.tables:,} tables")
    create_tables(server, load.tables)
    start = _position(server)
    prefix = f"tables-{time.time_ns()}"
    pairs: set[tuple[int, int]] = set()
    port, metrics_url = metrics_port()
    uri = f"{moto.uri(prefix, 'parquet')}&{TABLES_SINK_OPTIONS}"
    with _live_replicator(server, uri, start, "--metrics-port", str(port)) as live:
        progress(f"tables: {load.txn_rate} transactions/s of {load.statements_per_txn} tables for "
                 f"{load.seconds:.0f} s")
        done = run_load(server, load, _paced, pairs)
        progress(f"tables: {done.rows:,} rows committed; waiting for the replicator to read them")
        catch_up = wait_read(metrics_url, done.rows, options.tables_catch_up_s)
        stopping = time.monotonic()
    stop_seconds = time.monotonic() - stopping
    data, objects = count_objects(moto.store_uri(prefix))
    requests = request_counts(moto.log_path.read_bytes(), BUCKET, prefix)
    return TablesResult(load.tables, done.transactions, done.rows, done.statements, live.rows, done.seconds,
                        catch_up, options.tables_catch_up_s, stop_seconds, TABLES_SINK_OPTIONS, data, objects,
                        requests["PUT"], requests["GET"], requests["HEAD"], len(pairs))


# -- the run and the report -----------------------------------------------------------------------------------


def run_e2e_bench(options: E2EOptions, progress: Callable[[str], None] = lambda _m: None) -> E2EResult:
    options.work_dir.mkdir(parents=True, exist_ok=True)
    result = E2EResult()
    moto = MotoProcess(options.work_dir / "moto.log")
    with MariaDBServer(settings=SERVER_SETTINGS) as server:
        moto.start()
        try:
            began = time.perf_counter()
            if options.workloads:
                result.throughput = measure_throughput(server, moto, options, progress)
                result.phase_seconds["throughput"] = time.perf_counter() - began
            if options.latency:
                began = time.perf_counter()
                result.latency = measure_latency(server, options, progress)
                result.phase_seconds["latency"] = time.perf_counter() - began
            if options.tables:
                began = time.perf_counter()
                result.tables = measure_tables(server, moto, options, progress)
                result.phase_seconds["tables"] = time.perf_counter() - began
        finally:
            moto.stop()
    return result


def _row(cells: list[str], out: TextIO) -> None:
    out.write("| " + " | ".join(cells) + " |\n")


def write_e2e_report(result: E2EResult, options: E2EOptions, command: str, out: TextIO) -> None:
    for line in [*machine_lines(), f"- command: `{command}`"]:
        out.write(line + "\n")
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in result.phase_seconds.items())
    out.write(f"- median of {options.repeat} run(s); wall time per part: {phases}\n")
    if result.throughput:
        out.write("\nThroughput, binlog file -> store, `storagecdc run` in a fresh process (start-up included); "
                  "MB/s = binlog MB / s; RSS = the run's peak:\n\n")
        head = ["workload", "rows", "binlog MB", "mysql-replication rows/s"]
        for sink in (f"{f} {s}" for f in FORMATS for s in STORES):
            head += [f"{sink} rows/s", f"{sink} MB/s", f"{sink} ÷ peer", f"{sink} RSS MiB"]
        _row(head, out)
        out.write("|" + "---|" * len(head) + "\n")
        for r in result.throughput:
            peer = statistics.median(r.peer_seconds)
            cells = [r.binlog.name, f"{r.binlog.rows:,}", f"{r.file_bytes / 1e6:.1f}", f"{r.binlog.rows / peer:,.0f}"]
            for run in r.runs.values():
                seconds = statistics.median(run.seconds)
                cells += [f"{r.binlog.rows / seconds:,.0f}", f"{r.file_bytes / 1e6 / seconds:.1f}",
                          f"{peer / seconds:.2f}x", f"{max(run.rss_kib) / 1024:.0f}"]
            _row(cells, out)
    if result.latency is not None:
        lat = result.latency
        out.write(f"\nCommit-to-visible latency, live source, flush-interval 5 s, Parquet on a local directory: "
                  f"{lat.rows_per_s:,.0f} rows/s in {lat.transactions:,} transactions of {LATENCY_ROWS_PER_TXN} "
                  f"rows over {lat.seconds:.0f} s\n\n")
        _row(["p50 s", "p95 s", "p99 s", "max s"], out)
        out.write("|---|---|---|---|\n")
        _row([f"{lat.p50:.2f}", f"{lat.p95:.2f}", f"{lat.p99:.2f}", f"{lat.max:.2f}"], out)
    if result.tables is not None:
        write_tables_report(result.tables, out)
