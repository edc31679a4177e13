"""``storagecdc run``: replicate a source into a sink until the source ends or the process is stopped."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
from types import FrameType

from storagecdc.config import load_config
from storagecdc.model import ts_physical_ms
from storagecdc.runtime.changefeed import Changefeed
from storagecdc.runtime.resume import read_resume
from storagecdc.runtime.source import open_source
from storagecdc.storage import open_store, redact_uri

log = logging.getLogger("storagecdc.run")


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
    store = open_store(config.sink_uri, config.store_options)
    resume = read_resume(store)
    if resume is not None:
        log.info("resuming from checkpoint %d at %s:%d", resume.checkpoint_ts, resume.state.position.file,
                 resume.state.position.offset)
    source = open_source(config, resume, until=args.until)
    feed = Changefeed(
        config,
        store,
        source.assembler,
        source_name=source.name,
        start_ts=resume.checkpoint_ts if resume is not None else None,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.warning("received %s: flushing and writing the checkpoint", signal.Signals(signum).name)
        feed.stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        checkpoint = feed.run(source.changes, source.until)
    finally:
        source.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
        store.close()
    c = feed.counters
    when = dt.datetime.fromtimestamp(ts_physical_ms(checkpoint) / 1000, dt.UTC).isoformat(sep=" ", timespec="seconds")
    pos = source.assembler.position
    print(
        f"replicated {c.rows} rows in {c.transactions} transactions, {c.ddl} DDL, {c.syncpoints} syncpoints "
        f"from {source.name} to {redact_uri(config.sink_uri)}; checkpoint {checkpoint} ({when} UTC) "
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
