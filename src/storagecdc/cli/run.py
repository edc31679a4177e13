"""``storagecdc run``: replicate a source into a sink until the source ends or the process is stopped."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from storagecdc.config import load_config
from storagecdc.model import ts_physical_ms
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import redact_uri


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="binlog file(s) (comma-separated), a directory, or mysql://user:pw@host:port/")
    parser.add_argument("--sink-uri", help="s3://bucket/prefix?protocol=csv, file:///dir?protocol=parquet, ...")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration (config/changefeed.example.toml)")
    parser.add_argument("--start", metavar="POSITION", help="FILE:OFFSET or a GTID set, for a new changefeed")
    parser.add_argument("--until", metavar="now|POSITION", help="stop at the server's position at start ('now')")
    parser.add_argument("--schema", metavar="FILE.sql", help="initial schema: CREATE statements")
    parser.add_argument("--split-table", action="append", metavar="SCHEMA.TABLE=N", help="split a table N ways")
    parser.add_argument("--sync-point-interval", metavar="DURATION", help="write syncpoints, e.g. 10m")
    parser.add_argument("--filter", action="append", metavar="RULE", help="table filter rule (repeatable)")


def run(args: argparse.Namespace) -> int:
    config = load_config(
        args.config,
        source=args.source,
        sink_uri=args.sink_uri,
        start=args.start,
        overrides=_overrides(args),
        env=os.environ,
    )
    result = replicate(config, until=args.until, handle_signals=True)
    c = result.counters
    checkpoint = result.checkpoint_ts
    when = dt.datetime.fromtimestamp(ts_physical_ms(checkpoint) / 1000, dt.UTC).isoformat(sep=" ", timespec="seconds")
    pos = result.position
    resumed = f" (resumed from {result.resumed_from})" if result.resumed_from is not None else ""
    print(
        f"replicated {c.rows} rows in {c.transactions} transactions, {c.ddl} DDL, {c.syncpoints} syncpoints "
        f"from {result.source} to {redact_uri(config.sink_uri)}{resumed}; checkpoint {checkpoint} ({when} UTC) "
        f"at {pos.file}:{pos.offset}",
        file=sys.stderr,
    )
    return 0


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.filter:
        out["filter"] = args.filter
    if args.sync_point_interval:
        out["sync_point"] = True
        out["sync_point_interval"] = args.sync_point_interval
    if args.schema:
        out["schema_file"] = args.schema
    if args.split_table:
        out["split_tables"] = args.split_table
    return out
