"""``storagecdc bench decode``: decode speed against mysql-replication on real binlogs (docs/performance.md)."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from storagecdc.bench import barrier
from storagecdc.bench.decode import DecodeOptions, run_decode_bench, write_report
from storagecdc.bench.e2e import E2EOptions, run_e2e_bench, write_e2e_report
from storagecdc.bench.e2e_tables import CATCH_UP_LIMIT_S
from storagecdc.bench.scale import ScaleOptions, run_scale_bench, write_scale_report
from storagecdc.bench.snapshot import SnapshotBenchOptions, run_snapshot_bench, write_snapshot_report
from storagecdc.bench.workloads import WORKLOADS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    decode = sub.add_parser("decode", help="decode speed and memory against mysql-replication",
                            description=__doc__)  # fmt: skip
    decode.add_argument("--rows", type=_positive, default=200_000, help="rows per workload (default 200,000)")
    decode.add_argument("--repeat", type=_positive, default=3, help="runs per reader; the median is reported")
    decode.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "storagecdc-bench",
        help="where the generated binlogs are cached and reused (default: %(default)s)",
    )  # fmt: skip
    decode.add_argument("--workload", action="append", choices=list(WORKLOADS),
                        help="run only this workload (repeatable; default: all)")  # fmt: skip
    decode.add_argument("--profile", action="store_true", help="also print the top 10 functions of each decode")
    snapshot = sub.add_parser("snapshot", help="initial snapshot speed and memory against mysqldump",
                              description="Snapshot a sysbench table to Parquet; mysqldump --single-transaction "
                              "of the same table beside it.")  # fmt: skip
    snapshot.add_argument("--rows", type=_positive, default=1_000_000, help="rows of the table (default 1,000,000)")
    snapshot.add_argument("--repeat", type=_positive, default=1, help="runs of each; the median is reported")
    snapshot.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "storagecdc-bench",
                          help="where the server and the outputs live while it runs (default: %(default)s)")
    barrier.add_arguments(sub.add_parser("barrier", help="barrier latency (table DDL, syncpoints), memory per "
                                         "dispatcher", description=barrier.__doc__.splitlines()[0]))
    e2e = sub.add_parser("e2e", help="end-to-end rows/s, peak RSS, commit-to-visible latency, objects per 1,000 rows",
                         description="Binlog file -> Parquet/CSV on a local directory and moto's S3 server beside "
                         "mysql-replication; live latency; a 10,000-table workload (docs/performance.md).")
    e2e.add_argument("--rows", type=_positive, default=1_000_000,
                     help="sysbench rows; the wide workloads get a fifth (default 1,000,000)")
    e2e.add_argument("--repeat", type=_positive, default=1, help="runs of each replication; the median is reported")
    e2e.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "storagecdc-bench",
                     help="binlog cache, server and outputs (default: %(default)s)")
    e2e.add_argument("--workload", action="append", choices=list(WORKLOADS),
                     help="run only this workload (repeatable; default: all)")
    e2e.add_argument("--skip-throughput", action="store_true", help="skip the binlog file -> store part")
    e2e.add_argument("--skip-latency", action="store_true", help="skip the live commit-to-visible latency part")
    e2e.add_argument("--skip-tables", action="store_true", help="skip the 10,000-table part")
    e2e.add_argument("--tables", type=_positive, default=10_000, help="tables of the many-table part")
    e2e.add_argument("--tables-catch-up", type=_positive, default=int(CATCH_UP_LIMIT_S), metavar="SECONDS",
                     help="how long the many-table part waits for the replicator after the load (default "
                     "%(default)s)")
    scale = sub.add_parser("scale", help="decode rate and peak RSS from the first 100 MB to 2 GB of binlog history",
                           description="Decode growing prefixes of a sysbench binlog history (docs/performance.md).")
    scale.add_argument("--size-mb", type=_positive, default=2_000, help="history to generate (default 2,000 MB)")
    scale.add_argument("--file-mb", type=_positive, default=100, help="max_binlog_size in MiB (default 100)")
    scale.add_argument("--point", type=_positive, action="append", metavar="MB",
                       help="decode the first MB of the history (repeatable; default 100, 500, 1000, 2000)")
    scale.add_argument("--repeat", type=_positive, default=3, help="rounds of runs; the median is reported")
    scale.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "storagecdc-bench",
                       help="where the history is cached and reused (default: %(default)s)")
    scale.add_argument("--skip-run", action="store_true", help="skip `storagecdc run` to Parquet of the ends")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def run(args: argparse.Namespace) -> int:
    if args.bench == "snapshot":
        return _run_snapshot(args)
    if args.bench == "e2e":
        return _run_e2e(args)
    if args.bench == "barrier":
        return barrier.run(args, sys.stdout)
    if args.bench == "scale":
        return _run_scale(args)
    options = DecodeOptions(
        work_dir=args.work_dir,
        rows=args.rows,
        repeat=args.repeat,
        workloads=tuple(args.workload or WORKLOADS),
        profile=args.profile,
    )
    results = run_decode_bench(options, progress=lambda message: print(message, file=sys.stderr, flush=True))
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    write_report(results, options, command, sys.stdout)
    return 0


def _run_snapshot(args: argparse.Namespace) -> int:
    options = SnapshotBenchOptions(work_dir=args.work_dir, rows=args.rows, repeat=args.repeat)
    result = run_snapshot_bench(options, progress=lambda message: print(message, file=sys.stderr, flush=True))
    write_snapshot_report(result, shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), sys.stdout)
    return 0


def e2e_options(args: argparse.Namespace) -> E2EOptions:
    """What ``bench e2e``'s arguments ask for (a skipped part: no workloads, no latency, 0 tables)."""
    return E2EOptions(work_dir=args.work_dir, rows=args.rows, repeat=args.repeat,
                      workloads=() if args.skip_throughput else tuple(args.workload or WORKLOADS),
                      latency=not args.skip_latency, tables=0 if args.skip_tables else args.tables,
                      tables_catch_up_s=float(args.tables_catch_up))


def _run_e2e(args: argparse.Namespace) -> int:
    options = e2e_options(args)
    result = run_e2e_bench(options, progress=lambda message: print(message, file=sys.stderr, flush=True))
    write_e2e_report(result, options, shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), sys.stdout)
    return 0


def _run_scale(args: argparse.Namespace) -> int:
    options = ScaleOptions(work_dir=args.work_dir, size_mb=args.size_mb, file_mb=args.file_mb, repeat=args.repeat,
                           points_mb=tuple(args.point or ()), e2e=not args.skip_run)
    result = run_scale_bench(options, progress=lambda message: print(message, file=sys.stderr, flush=True))
    write_scale_report(result, options, shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), sys.stdout)
    return 0
