"""``bench scale``: does the decode rate hold as the binlog history grows (issue 7: within 10% from 100 MB
to 2 GB, memory flat)?

The history is real binlog: ``sysbench oltp_write_only prepare`` of several tables (two threads, so two
tables' transactions interleave) on a private MariaDB whose ``max_binlog_size`` is ``file_mb`` MiB, so the
history is a run of rotated files of about that size (a file ends at the first commit past the limit). It is
cached in ``work_dir`` (files plus a manifest written last) and reused.

Each point is a prefix of the history: the fewest files, from the first, that reach ``mb`` megabytes (the
last point takes every file). Every run decodes a prefix in a fresh process (``spawn``) along the path of
``storagecdc decode`` and ``bench decode``'s ``storagecdc file`` reader: ``file_events`` over the list of
files -> ``TransactionAssembler`` -> ``RowChanges`` with every value typed. It reports rows/s, MB/s (binlog
bytes), rows per CPU second of the decoding process (what other work on a shared machine changes least), the
process's peak RSS (``VmHWM``) after imports and after the decode, and the wall and CPU time spent in each
file, so that the rate of the last files of a long decode can be compared with the first. Runs go point by
point in turn, ``repeat`` rounds, and medians are reported, so a change of the machine's load hits every
point alike. With ``e2e``, ``storagecdc run`` of the first and the last point to Parquet on a local
directory is timed the same way (a fresh process, start-up included).
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

from storagecdc.bench.decode import BenchError, machine_lines, peak_rss_kib
from storagecdc.bench.workloads import SYSBENCH
from storagecdc.devtools.mariadb import MariaDBError, MariaDBServer, Setting
from storagecdc.model import RowChanges
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler

MB = 1_000_000
ROWS_PER_MB = 2_600
"""sysbench prepare writes about 386 bytes of binlog per row (1,000,000 rows: 386 MB; docs/performance.md)."""
TABLE_ROWS = 1_000_000
"""At most this many rows per sysbench table: more tables, not bigger ones."""
DATABASE = "bench_scale"
DEFAULT_POINTS_MB = (100, 500, 1_000)


@dataclass(frozen=True, slots=True)
class ScaleOptions:
    """What ``bench scale`` measures: the history's size, its file size, the points, the rounds."""

    work_dir: Path
    size_mb: int = 2_000
    file_mb: int = 100
    points_mb: tuple[int, ...] = ()
    """Prefixes to decode, in MB (default: those of ``DEFAULT_POINTS_MB`` below ``size_mb``, and ``size_mb``)."""
    repeat: int = 3
    e2e: bool = True

    def __post_init__(self) -> None:
        if any(p <= 0 for p in self.points_mb):
            raise ValueError(f"points must be positive megabyte counts, not {self.points_mb}")

    def points(self) -> tuple[int, ...]:
        if self.points_mb:
            return tuple(sorted(set(self.points_mb)))
        return (*(p for p in DEFAULT_POINTS_MB if p < self.size_mb), self.size_mb)


@dataclass(frozen=True, slots=True)
class History:
    """The generated binlog files in order and the rows they hold (sysbench tables x table size)."""

    files: tuple[Path, ...]
    rows: int
    tables: int
    seconds: float
    """How long generating it took (0 when it came from the cache)."""

    def prefix(self, mb: int) -> tuple[Path, ...]:
        """The fewest files from the first that hold ``mb`` megabytes (every file when they hold fewer)."""
        total = 0
        for i, path in enumerate(self.files):
            total += path.stat().st_size
            if total >= mb * MB:
                return self.files[: i + 1]
        return self.files


# -- the history ------------------------------------------------------------------------------------------------


def history_dir(options: ScaleOptions) -> Path:
    return options.work_dir / f"scale-{options.size_mb}mb-{options.file_mb}mib"


def cached_history(directory: Path) -> History | None:
    """The history in ``directory`` if its manifest says it is complete."""
    try:
        meta = json.loads((directory / "manifest.json").read_text())
        files = tuple(directory / name for name in meta["files"])
        if [p.stat().st_size for p in files] != meta["sizes"]:
            return None
        return History(files, int(meta["rows"]), int(meta["tables"]), 0.0)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sysbench_shape(size_mb: int) -> tuple[int, int]:
    """(tables, rows per table) of a sysbench prepare that writes about ``size_mb`` MB of binlog."""
    rows = size_mb * ROWS_PER_MB
    tables = max(1, math.ceil(rows / TABLE_ROWS))
    return tables, math.ceil(rows / tables)


def generate_history(server: MariaDBServer, size_mb: int, dest: Path) -> History:
    """Run sysbench prepare between two ``FLUSH BINARY LOGS`` and copy the files in between to ``dest``."""
    tables, table_rows = sysbench_shape(size_mb)
    server.execute_script(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE}")
    cmd = [
        SYSBENCH, "oltp_write_only", "--db-driver=mysql", f"--mysql-socket={server.socket_path}",
        "--mysql-user=root", f"--mysql-db={DATABASE}", f"--tables={tables}", f"--table-size={table_rows}",
        "--threads=2", "prepare",
    ]  # fmt: skip
    began = time.perf_counter()
    server.flush_logs()
    first = len(server.binlog_files()) - 1
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
        raise MariaDBError(f"sysbench prepare failed ({done.returncode}):\n{tail}")
    server.flush_logs()
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for source in server.binlog_files()[first:-1]:
        shutil.copyfile(source, dest / source.name)
        files.append(dest / source.name)
    history = History(tuple(files), tables * table_rows, tables, time.perf_counter() - began)
    meta = {"files": [p.name for p in files], "sizes": [p.stat().st_size for p in files], "rows": history.rows,
            "tables": tables}
    (dest / "manifest.json.tmp").write_text(json.dumps(meta))
    (dest / "manifest.json.tmp").replace(dest / "manifest.json")
    return history


def ensure_history(options: ScaleOptions, progress: Callable[[str], None]) -> History:
    """The cached history, or a new one generated by a private MariaDB (the cache's old files removed first)."""
    directory = history_dir(options)
    found = cached_history(directory)
    if found is not None:
        progress(f"history: {len(found.files)} cached files in {directory}")
        return found
    shutil.rmtree(directory, ignore_errors=True)
    tables, table_rows = sysbench_shape(options.size_mb)
    progress(f"history: sysbench prepare of {tables} x {table_rows:,} rows, max_binlog_size {options.file_mb} MiB")
    settings: dict[str, Setting] = {"max_binlog_size": options.file_mb * 1024 * 1024, "innodb_buffer_pool_size": "512M",
                "innodb_log_file_size": "256M"}
    with MariaDBServer(settings=settings) as server:
        history = generate_history(server, options.size_mb, directory)
    progress(f"history: {len(history.files)} files, {sum(p.stat().st_size for p in history.files) / MB:,.0f} MB "
             f"in {history.seconds:.0f} s")
    return history


# -- decoding ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileRun:
    """One file of a decode: its rows, and the wall and CPU seconds from its first row change to the next
    file's first."""

    name: str
    rows: int
    seconds: float
    cpu_seconds: float


@dataclass(slots=True)
class DecodeRun:
    """One decode of a prefix: rows, wall and CPU seconds, the same per file, peak RSS in KiB."""

    rows: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """The process's CPU time of the decode: what other work on a shared machine changes least."""
    files: list[FileRun] = field(default_factory=list)
    rss_before_kib: int = 0
    rss_peak_kib: int = 0


def decode_files(paths: Sequence[Path]) -> DecodeRun:
    """Decode ``paths`` in order (every value typed) as ``storagecdc decode`` does, timing each file."""
    counter = EventCounter()
    assembler = TransactionAssembler(SchemaOptions().tracker_factory)
    run = DecodeRun()
    current, file_rows = "", 0
    start = mark = time.perf_counter()
    cpu_start = cpu_mark = time.process_time()
    for change in assembler.feed(file_events(list(paths), counter)):
        if type(change) is RowChanges:
            if counter.file != current:
                now, cpu = time.perf_counter(), time.process_time()
                if current:
                    run.files.append(FileRun(current, file_rows, now - mark, cpu - cpu_mark))
                current, file_rows, mark, cpu_mark = counter.file, 0, now, cpu
            file_rows += len(change.rows)
            run.rows += len(change.rows)
    end, cpu_end = time.perf_counter(), time.process_time()
    if current:
        run.files.append(FileRun(current, file_rows, end - mark, cpu_end - cpu_mark))
    run.seconds, run.cpu_seconds = end - start, cpu_end - cpu_start
    return run


def _decode_child(paths: list[str]) -> DecodeRun:
    before = peak_rss_kib()
    run = decode_files([Path(p) for p in paths])
    run.rss_before_kib, run.rss_peak_kib = before, peak_rss_kib()
    return run


def decode_in_child(paths: Sequence[Path]) -> DecodeRun:
    """``decode_files`` in a fresh process, with that process's peak RSS before and after decoding."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_decode_child, [str(p) for p in paths]).result()


def replicate_to_parquet(paths: Sequence[Path], out: Path) -> tuple[int, float, int]:
    """``storagecdc run`` of ``paths`` to Parquet in ``out``, in a fresh process: (rows it reported, wall seconds,
    its peak RSS in KiB). The files are given as a directory of links to them (a single file would be followed
    past its end into the next one); ``out`` and the directory are removed afterwards."""
    # Imported here: e2e loads pyarrow, which would inflate the decode children's RSS (they import this module).
    from storagecdc.bench.e2e import _env, _finish, _spawn  # noqa: PLC0415

    source = out.with_name(out.name + "-source")
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for path in paths:
        (source / path.name).symlink_to(path.resolve())
    sink = f"file://{out}?protocol=parquet"
    start = time.perf_counter()
    proc = _spawn(["run", "--source", str(source), "--sink-uri", sink, "--no-progress"], _env(sink))
    try:
        rows, rss = _finish(proc, f"storagecdc run of {len(paths)} file(s) from {paths[0]} to {out}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(source, ignore_errors=True)
    return rows, time.perf_counter() - start, rss


# -- the run ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PointResult:
    """Every run at one point of the history."""

    mb: int
    files: tuple[Path, ...]
    decodes: list[DecodeRun] = field(default_factory=list)
    e2e_seconds: list[float] = field(default_factory=list)
    e2e_rss_kib: list[int] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)

    @property
    def rows(self) -> int:
        return self.decodes[0].rows

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.decodes)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Rows per CPU second (median CPU time)."""
        return self.rows / statistics.median(r.cpu_seconds for r in self.decodes)

    @property
    def peak_mib(self) -> float:
        return max(r.rss_peak_kib for r in self.decodes) / 1024

    @property
    def imports_mib(self) -> float:
        return max(r.rss_before_kib for r in self.decodes) / 1024

    def file_rates(self, *, cpu: bool = False) -> list[float]:
        """Rows per (wall or CPU) second of each file of this prefix, the median over the runs."""
        return [statistics.median(f.rows / (f.cpu_seconds if cpu else f.seconds) for r in self.decodes
                                  for f in [r.files[i]])
                for i in range(len(self.decodes[0].files))]


@dataclass(slots=True)
class ScaleResult:
    history: History
    points: list[PointResult]
    loadavg: list[str] = field(default_factory=list)
    """``/proc/loadavg`` before and after the measurements."""

    def ratio(self) -> float:
        """The decode rate of the largest point over that of the first."""
        return self.points[-1].rate / self.points[0].rate

    def cpu_ratio(self) -> float:
        """The same in rows per CPU second."""
        return self.points[-1].cpu_rate / self.points[0].cpu_rate


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _points(history: History, options: ScaleOptions) -> list[PointResult]:
    """One point per distinct prefix, in increasing size (a point of ``size_mb`` or more: the whole history)."""
    out: list[PointResult] = []
    for mb in options.points():
        files = history.files if mb >= options.size_mb else history.prefix(mb)
        if not out or len(files) > len(out[-1].files):
            out.append(PointResult(mb, files))
    return out


def _check(points: list[PointResult], history: History) -> None:
    """Every run of a point decodes the same rows, as many as its files hold in the decode of the largest
    point; the whole history decodes to the rows sysbench wrote."""
    per_file = {f.name: f.rows for f in points[-1].decodes[0].files}
    for point in points:
        rows = {r.rows for r in point.decodes}
        expected = sum(per_file.get(p.name, 0) for p in point.files)
        if rows != {expected}:
            raise BenchError(f"decodes of the first {len(point.files)} file(s) from {point.files[0]}: rows {rows}, "
                             f"the same files in the decode of the largest point: {expected}")
    if len(points[-1].files) == len(history.files) and points[-1].rows != history.rows:
        raise BenchError(f"decode of {len(history.files)} files from {history.files[0]}: {points[-1].rows} rows, "
                         f"sysbench wrote {history.rows}")


def run_scale_bench(options: ScaleOptions, progress: Callable[[str], None] = lambda _m: None) -> ScaleResult:
    """Generate (or reuse) the history, then decode (and replicate) every point ``repeat`` times in turn."""
    history = ensure_history(options, progress)
    points = _points(history, options)
    result = ScaleResult(history, points, [loadavg()])
    ends = [points[0], points[-1]] if len(points) > 1 else points
    for round_ in range(options.repeat):
        for point in points:
            run = decode_in_child(point.files)
            point.decodes.append(run)
            progress(f"round {round_ + 1}: decode {point.bytes / MB:,.0f} MB: {run.rows:,} rows in "
                     f"{run.seconds:.2f} s, peak {run.rss_peak_kib // 1024} MiB")
        if options.e2e:
            for point in ends:
                rows, seconds, rss = replicate_to_parquet(point.files, options.work_dir / "scale-out")
                if rows != point.decodes[-1].rows:
                    raise BenchError(f"storagecdc run of {point.files[0]}...: {rows} rows, the decode saw "
                                     f"{point.decodes[-1].rows}")
                point.e2e_seconds.append(seconds)
                point.e2e_rss_kib.append(rss)
                progress(f"round {round_ + 1}: run -> parquet {point.bytes / MB:,.0f} MB: {seconds:.2f} s, "
                         f"peak {rss // 1024} MiB")
    _check(points, history)
    result.loadavg.append(loadavg())
    return result


# -- the report -------------------------------------------------------------------------------------------------


def _row(cells: list[str], out: TextIO) -> None:
    out.write("| " + " | ".join(cells) + " |\n")


def write_scale_report(result: ScaleResult, options: ScaleOptions, command: str, out: TextIO) -> None:
    """Header, the decode table, the end-to-end table, the ratio and the verdict against "within 10%"."""
    history, points = result.history, result.points
    total = sum(p.stat().st_size for p in history.files)
    for line in [*machine_lines(), f"- command: `{command}`",
                 f"- load average (1, 5, 15 min) before and after: {' / '.join(result.loadavg)}"]:
        out.write(line + "\n")
    made = f", generated in {history.seconds:.0f} s" if history.seconds else " (cached)"
    out.write(f"- history: `sysbench oltp_write_only prepare` of {history.tables} table(s), {history.rows:,} rows, "
              f"{total / MB:,.0f} MB in {len(history.files)} binlog files (max_binlog_size {options.file_mb} MiB)"
              f"{made}\n")
    out.write(f"- median of {options.repeat} runs, each a fresh process; points decoded in turn each round\n\n")
    _row(["history", "files", "MB", "rows", "decode s", "rows/s", "MB/s", "÷ first point", "rows per CPU s",
          "÷ first point", "peak RSS: imports → decode (MiB)"], out)
    out.write("|" + "---|" * 11 + "\n")
    first = points[0]
    for p in points:
        label = "whole history" if len(p.files) == len(history.files) else f"first {p.mb:,} MB"
        _row([label, f"{len(p.files)}", f"{p.bytes / MB:,.0f}", f"{p.rows:,}", f"{p.seconds:.2f}", f"{p.rate:,.0f}",
              f"{p.bytes / MB / p.seconds:.1f}", f"{p.rate / first.rate:.3f}",
              f"{p.cpu_rate:,.0f}", f"{p.cpu_rate / first.cpu_rate:.3f}",
              f"{p.imports_mib:.0f} → {p.peak_mib:.0f}"], out)
    ran = [p for p in points if p.e2e_seconds]
    if ran:
        out.write("\n`storagecdc run` binlog files -> Parquet (zstd) on a local directory, fresh process, start-up "
                  "included:\n\n")
        _row(["history", "MB", "rows", "s", "rows/s", "MB/s", "÷ first point", "peak RSS MiB"], out)
        out.write("|" + "---|" * 8 + "\n")
        base = ran[0].rows / statistics.median(ran[0].e2e_seconds)
        for p in ran:
            seconds = statistics.median(p.e2e_seconds)
            _row([f"{len(p.files)} file(s)", f"{p.bytes / MB:,.0f}", f"{p.rows:,}", f"{seconds:.2f}",
                  f"{p.rows / seconds:,.0f}", f"{p.bytes / MB / seconds:.1f}", f"{p.rows / seconds / base:.3f}",
                  f"{max(p.e2e_rss_kib) / 1024:.0f}"], out)
    out.write("\nWithin the decode of the largest point, file by file (median over runs):\n\n")
    for what, rates in (("rows/s", points[-1].file_rates()), ("rows per CPU s", points[-1].file_rates(cpu=True))):
        out.write(f"- {what}: first file {rates[0]:,.0f}, last {rates[-1]:,.0f}, slowest {min(rates):,.0f}, "
                  f"fastest {max(rates):,.0f}; median of the second half of the files ÷ of the first half "
                  f"{_halves(rates):.3f}\n")
    ratio = result.ratio()
    verdict = "met" if ratio >= 0.9 else "not met"
    out.write(f"\nDecode rate of the largest point ({points[-1].bytes / MB:,.0f} MB) ÷ that of the first "
              f"{first.bytes / MB:,.0f} MB: {ratio:.3f} (per CPU second: {result.cpu_ratio():.3f}); "
              f"within 10%: **{verdict}**\n")


def _halves(rates: list[float]) -> float:
    half = len(rates) // 2
    if half == 0:
        return 1.0
    return statistics.median(rates[-half:]) / statistics.median(rates[:half])
