"""``storagecdc verify --source mysql://... --sink-uri URI [--target TARGET]``: prove the output equal to the
source (and a consumed target equal to the output).

SOURCE is read inside a consistent snapshot whose binlog position the output's checkpoint must reach, or
come within events that touch no selected table (verify waits up to --wait seconds, re-taking the snapshot
when the output has moved past it); the output is
replayed by verify itself into a temporary SQLite file up to exactly that point. This is exact when the files
carry commit-ts (Parquet; CSV with include-commit-ts=true; canal-json with enable-tidb-extension=true);
without them, only while the changefeed writes nothing past its checkpoint. A TARGET written by 'storagecdc
consume' is compared with the output replayed to the target's own checkpoint (a target consumed with
--syncpoint or --until is compared at that point; the source cannot be, as syncpoint markers name no binlog
position). Per table: row
counts, then chunk checksums over canonical values, then up to --max-rows differing keys with both sides'
values. Prints a table of tables; exit 0 when everything is equal, 1 on any difference, 3 when no
consistent point was found (the output lags, or the source kept moving), 2 for bad options.
"""

from __future__ import annotations

import argparse
import sys

from storagecdc.verify import CannotVerify, VerifyOptions, format_comparison, verify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1].replace("\n", " ") if __doc__ else None
    parser.add_argument("--sink-uri", required=True, metavar="URI",
                        help="the changefeed's output (s3://bucket/prefix?protocol=csv, file:///dir, ...)")
    parser.add_argument("--source", metavar="mysql://user:password@host:port/",
                        help="the live source, read at a consistent snapshot")
    parser.add_argument("--target", metavar="TARGET",
                        help="a database written by storagecdc consume: sqlite:///path.db or mysql://...")
    parser.add_argument("--filter", action="append", metavar="RULE",
                        help="table filter rule as for run (repeatable; default *.*)")
    parser.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for the output to reach the source snapshot (default 60)")
    parser.add_argument("--chunk-size", type=int, default=10_000, metavar="ROWS",
                        help="rows per checksum chunk (default 10000)")
    parser.add_argument("--max-rows", type=int, default=10, metavar="N",
                        help="differing keys printed per table (default 10)")


def run(args: argparse.Namespace) -> int:
    options = VerifyOptions(
        args.sink_uri, args.source, args.target, tuple(args.filter or ("*.*",)), args.wait, args.chunk_size,
        args.max_rows,
    )
    try:
        comparisons = verify(options)
    except CannotVerify as exc:
        print(f"storagecdc verify: cannot verify: {exc}", file=sys.stderr)
        return 3
    for c in comparisons:
        print(format_comparison(c))
    return 0 if all(c.equal for c in comparisons) else 1
