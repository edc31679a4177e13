"""``bench decode``: how fast storagecdc decodes real binlog into typed row changes, against mysql-replication.

For each workload (``workloads.py``) the same binlog bytes are read by three readers, ``repeat`` times in
turn, and the median time of each is reported:

- ``mysql-replication`` (the peer) live, as users run it: ``BinLogStreamReader`` from the file's first
  position, non-blocking, only WRITE/UPDATE/DELETE_ROWS events, ``.rows`` of every event read (which decodes
  every value);
- ``storagecdc live``: ``LiveSource`` (non-blocking) -> ``EventDecoder`` -> ``TransactionAssembler`` to
  ``RowChanges`` with every value typed: like for like with the peer;
- ``storagecdc file``: the same path from the binlog file.

Every reader must see the workload's row count. The peak RSS of a storagecdc file decode is measured in a
fresh process (peak RSS only grows), next to that process's peak before decoding, so that runs at
different ``--rows`` show whether memory grows with the file. ``profile_decode`` gives the top functions of
a storagecdc file decode by own time (cProfile).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import itertools
import os
import platform
import pstats
import resource
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

from storagecdc.bench.workloads import WORKLOADS, WorkloadBinlog, ensure_binlogs, serve_binlogs
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, REPLICATION_USER, MariaDBServer
from storagecdc.errors import StorageCdcError
from storagecdc.model import RowChanges, SourcePosition
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import Event
from storagecdc.source.live import LiveSource
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler

PEER = "mysql-replication"
LIVE = "storagecdc live"
FILE = "storagecdc file"
READERS = (PEER, LIVE, FILE)


class BenchError(StorageCdcError):
    """A benchmark reader decoded a different number of rows than the workload wrote."""


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """What ``bench decode`` runs: which workloads, how many rows each, how often, where binlogs are cached."""

    work_dir: Path
    rows: int = 200_000
    repeat: int = 3
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    profile: bool = False
    profile_top: int = 10


@dataclass(slots=True)
class WorkloadResult:
    """The measurements of one workload: seconds of every run per reader, and memory in KiB."""

    binlog: WorkloadBinlog
    file_bytes: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    rss_before_kib: int = 0
    rss_peak_kib: int = 0
    profile: list[str] = field(default_factory=list)

    def median(self, reader: str) -> float:
        return statistics.median(self.seconds[reader])

    def rate(self, reader: str) -> float:
        return self.binlog.rows / self.median(reader)

    def ratio(self, reader: str) -> float:
        """How many times faster than the peer ``reader`` is (median against median)."""
        return self.median(PEER) / self.median(reader)


# -- the readers ------------------------------------------------------------------------------------------


def storagecdc_rows(events: Iterable[Event]) -> int:
    """Assemble ``events`` into change events (every value decoded) and count the changed rows."""
    assembler = TransactionAssembler(SchemaOptions().tracker_factory)
    rows = 0
    for change in assembler.feed(events):
        if type(change) is RowChanges:
            rows += len(change.rows)
    return rows


def storagecdc_file_rows(path: Path) -> int:
    return storagecdc_rows(file_events(path, EventCounter()))


def _within(raws: Iterable[RawEvent], name: str) -> Iterator[RawEvent]:
    """The stream's events up to the server's rotation to the file after ``name``."""
    return itertools.takewhile(lambda raw: raw.file == name, raws)


def storagecdc_live_rows(server: MariaDBServer, name: str) -> int:
    source = LiveSource(server.uri(server_id=201), SourcePosition(name, 4), blocking=False)
    with source:
        return storagecdc_rows(EventDecoder(source.state).decode_all(_within(source.events(), name)))


def peer_live_rows(server: MariaDBServer, name: str, size: int) -> int:
    """mysql-replication's ``BinLogStreamReader`` over the file ``name`` of ``server`` (``size`` bytes)."""
    # The peer is a dev dependency: imported here only, so the product never loads it.
    from pymysqlreplication import BinLogStreamReader  # noqa: PLC0415
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent  # noqa: PLC0415

    settings = {"host": server.host, "port": server.port, "user": REPLICATION_USER, "password": REPLICATION_PASSWORD}
    stream = BinLogStreamReader(
        connection_settings=settings, server_id=202, resume_stream=True, log_file=name, log_pos=4,
        end_log_pos=size, blocking=False, only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        enable_logging=False,
    )  # fmt: skip
    rows = 0
    try:
        for event in stream:
            if stream.log_file != name:
                break
            rows += len(event.rows)
    finally:
        stream.close()
    return rows


# -- memory and profile ---------------------------------------------------------------------------------------


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB: Linux's ``VmHWM`` (the peak of this program image; ``ru_maxrss``
    carries the parent's peak across fork and exec), else ``getrusage``'s ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_of_file_decode(path: str) -> tuple[int, int, int]:
    """In a fresh process: (peak RSS before decoding, peak RSS after, rows), in KiB."""
    before = peak_rss_kib()
    rows = storagecdc_file_rows(Path(path))
    return before, peak_rss_kib(), rows


def measure_rss(path: Path) -> tuple[int, int, int]:
    """(peak RSS before decoding, peak RSS after, rows) of a storagecdc decode of ``path`` in a new process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_rss_of_file_decode, str(path)).result()


def profile_decode(path: Path, top: int) -> list[str]:
    """The ``top`` functions of a storagecdc decode of ``path`` by own time, with their share of the total."""
    profiler = cProfile.Profile()
    profiler.runcall(storagecdc_file_rows, path)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [f"{'own s':>7} {'share':>6} {'cum s':>7} {'calls':>10}  function"]
    for (file, line, func), (_cc, calls, own, cum, _callers) in ranked:
        where = f"{Path(file).name}:{line}" if line else file
        lines.append(f"{own:7.3f} {own / total:6.1%} {cum:7.3f} {calls:10d}  {func} ({where})")
    return lines


# -- the run ---------------------------------------------------------------------------------------------------


def _timed(run: Callable[[], int], expected: int, what: str) -> float:
    start = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - start
    if rows != expected:
        raise BenchError(f"{what}: decoded {rows} rows, the workload wrote {expected}")
    return seconds


def run_decode_bench(options: DecodeOptions, progress: Callable[[str], None] = lambda _m: None) -> list[WorkloadResult]:
    """Generate (or reuse) the workloads' binlogs, serve them from a private MariaDB and time every reader."""
    results = []
    with MariaDBServer() as server:
        progress(f"binlogs: {options.work_dir} ({options.rows} rows per workload)")
        binlogs = ensure_binlogs(server, options.workloads, options.rows, options.work_dir)
        names = serve_binlogs(server, [b.path for b in binlogs])
        for binlog, name in zip(binlogs, names, strict=True):
            size = binlog.path.stat().st_size
            result = WorkloadResult(binlog, size, {reader: [] for reader in READERS})
            readers: dict[str, Callable[[], int]] = {
                PEER: partial(peer_live_rows, server, name, size),
                LIVE: partial(storagecdc_live_rows, server, name),
                FILE: partial(storagecdc_file_rows, binlog.path),
            }
            for run in range(options.repeat):
                for reader, read in readers.items():
                    seconds = _timed(read, binlog.rows, f"{reader} on {binlog.name} ({binlog.path})")
                    result.seconds[reader].append(seconds)
                    progress(f"{binlog.name} run {run + 1}: {reader} {seconds:.2f} s")
            result.rss_before_kib, result.rss_peak_kib, _rows = measure_rss(binlog.path)
            if options.profile:
                result.profile = profile_decode(binlog.path, options.profile_top)
            results.append(result)
    return results


def machine_lines() -> list[str]:
    """Date, machine and versions, for the report header."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- date: {now}",
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, mysql-replication {version('mysql-replication')}, "
        f"server: Debian MariaDB (private, loopback)",
    ]


def write_report(results: list[WorkloadResult], options: DecodeOptions, command: str, out: TextIO) -> None:
    """The results as Markdown: header, one table row per workload, memory, and profiles when taken."""
    for line in [*machine_lines(), f"- command: `{command}`"]:
        out.write(line + "\n")
    out.write(
        f"- median of {options.repeat} runs; {PEER} and {LIVE} stream the file from the server "
        f"(replication protocol over loopback TCP), {FILE} reads it from disk\n\n"
    )
    head = ["workload", "rows", "MB"]
    for reader in READERS:
        head += [f"{reader} s", f"{reader} rows/s"]
    head += ["live ÷ peer", "file ÷ peer", "peak RSS: imports → decode (MiB)"]
    out.write("| " + " | ".join(head) + " |\n")
    out.write("|" + "---|" * len(head) + "\n")
    for r in results:
        cells = [r.binlog.name, f"{r.binlog.rows:,}", f"{r.file_bytes / 1e6:.1f}"]
        for reader in READERS:
            cells += [f"{r.median(reader):.2f}", f"{r.rate(reader):,.0f}"]
        cells += [f"{r.ratio(LIVE):.2f}x", f"{r.ratio(FILE):.2f}x"]
        cells.append(f"{r.rss_before_kib / 1024:.0f} → {r.rss_peak_kib / 1024:.0f}")
        out.write("| " + " | ".join(cells) + " |\n")
    for r in results:
        if r.profile:
            out.write(f"\nProfile of the storagecdc file decode of {r.binlog.name} (cProfile, own time):\n\n```\n")
            out.write("\n".join(r.profile) + "\n```\n")
