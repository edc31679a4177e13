"""``storagecdc run``: replicate a source into a sink until the source ends or the process is stopped.

The run first takes the sink prefix's owner record (``runtime.fencing``), so that two processes never write
one prefix; then it replicates, reporting progress on stderr (``runtime.progress``) and, with
``--metrics-port``, serving Prometheus metrics (``runtime.metrics``). File sources end with exit 0 and a
summary line; SIGINT/SIGTERM flush, write the checkpoint and exit 0; a fenced process exits 1.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TYPE_CHECKING

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.runtime.changefeed import Changefeed, attached
from storagecdc.runtime.fencing import FencedStore, PrefixOwner
from storagecdc.runtime.progress import Progress, SourceLag, checkpoint_text
from storagecdc.runtime.replicate import RunResult, replicate
from storagecdc.storage import open_store, redact_uri
from storagecdc.storage.base import ObjectStore

if TYPE_CHECKING:
    from storagecdc.runtime.metrics import RunMetrics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="binlog file(s) (comma-separated), a directory, or mysql://user:pw@host:port/")
    parser.add_argument("--sink-uri", help="s3://bucket/prefix?protocol=csv, file:///dir?protocol=parquet, ...")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration (config/changefeed.example.toml)")
    parser.add_argument("--start", metavar="POSITION", help="FILE:OFFSET or a GTID set, for a new changefeed")
    parser.add_argument("--until", metavar="now|POSITION", help="stop at the server's position at start ('now')")
    parser.add_argument("--schema", metavar="FILE.sql", help="initial schema: CREATE statements")
    parser.add_argument("--snapshot", nargs="?", const="initial", choices=("initial", "never", "when-needed"),
                        help="live sources: read the selected tables at one consistent point first, then stream "
                             "from that point (default when given: initial)")
    parser.add_argument("--split-table", action="append", metavar="SCHEMA.TABLE=N", help="split a table N ways")
    parser.add_argument("--split-rows-per-second", type=int, metavar="N",
                        help="split a table whose row changes exceed N per second (commit-ts time) automatically")
    parser.add_argument("--split-number", type=int, metavar="K", help="spans an automatic split makes (default 4)")
    parser.add_argument("--sync-point-interval", metavar="DURATION", help="write syncpoints, e.g. 10m")
    parser.add_argument("--filter", action="append", metavar="RULE", help="table filter rule (repeatable)")
    parser.add_argument("--lease", metavar="DURATION", help="owner lease on the sink prefix (default 30s)")
    parser.add_argument("--lease-wait", metavar="DURATION",
                        help="wait this long for another process's live lease, then exit 1 (default 2 x lease)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve Prometheus metrics on 127.0.0.1:PORT")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or periodic status lines")


def run(args: argparse.Namespace) -> int:
    config = load_config(
        args.config,
        source=args.source,
        sink_uri=args.sink_uri,
        start=args.start,
        overrides=_overrides(args),
        env=os.environ,
    )
    result = _replicate_owned(config, args)
    c = result.counters
    pos = result.position
    resumed = f" (resumed from {result.resumed_from})" if result.resumed_from is not None else ""
    splits = f", {c.auto_splits} automatic split{'s' if c.auto_splits > 1 else ''}" if c.auto_splits else ""
    print(
        f"replicated {c.rows} rows in {c.transactions} transactions, {c.ddl} DDL, {c.syncpoints} syncpoints{splits} "
        f"from {result.source} to {redact_uri(config.sink_uri)}{resumed}; checkpoint "
        f"{checkpoint_text(result.checkpoint_ts)} at {pos.file}:{pos.offset}",
        file=sys.stderr,
    )
    return 0


class _Hooks:
    """``RunHooks``: the changefeed writes through the fence (and the metrics); progress and metrics watch it."""

    def __init__(self, owner: PrefixOwner, progress: Progress | None, metrics: RunMetrics | None) -> None:
        self._owner = owner
        self._progress = progress
        self._metrics = metrics

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        if self._metrics is not None:
            store = self._metrics.wrap_store(store)
        return FencedStore(store, self._owner)

    def started(self, feed: Changefeed) -> None:
        self._owner.on_fenced(feed.stop)
        if self._progress is not None:
            self._progress.started(feed)
        if self._metrics is not None:
            self._metrics.started(feed)


def _replicate_owned(config: ChangefeedConfig, args: argparse.Namespace) -> RunResult:
    """Take the prefix, replicate with progress and metrics attached, release the prefix."""
    lag = SourceLag(config)
    metrics = None
    if config.metrics_port is not None:
        from storagecdc.runtime.metrics import RunMetrics  # noqa: PLC0415 (prometheus_client: 20 ms at start-up)

        metrics = RunMetrics(lag, config.sink.date_separator)
        metrics.serve(config.metrics_port)
    try:
        progress = None if args.no_progress else Progress(sys.stderr, lag)
        lease_store = open_store(config.sink_uri, config.store_options)
        owner = PrefixOwner(lease_store, config.changefeed_id, lease_ms=config.lease_ms,
                            wait_ms=config.lease_wait_ms)
        failing = True
        try:
            owner.acquire()
            try:
                with attached(_Hooks(owner, progress, metrics)):
                    gc.freeze()  # the long-lived objects built so far need no more collection passes
                    result = replicate(config, until=args.until, handle_signals=True)
            finally:
                if progress is not None:
                    progress.close()
            if owner.fenced is not None:
                raise owner.fenced
            failing = False
            return result
        finally:
            owner.release(failing=failing)
            lease_store.close()
    finally:
        if metrics is not None:
            metrics.close()


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.filter:
        out["filter"] = args.filter
    if args.sync_point_interval:
        out["sync_point"] = True
        out["sync_point_interval"] = args.sync_point_interval
    if args.schema:
        out["schema_file"] = args.schema
    if args.snapshot:
        out["snapshot"] = args.snapshot
    if args.split_table:
        out["split_tables"] = args.split_table
    if args.split_rows_per_second is not None:
        out["split_rows_per_second"] = args.split_rows_per_second
    if args.split_number is not None:
        out["split_number"] = args.split_number
    if args.metrics_port is not None:
        out["metrics_port"] = args.metrics_port
    if args.lease:
        out["lease"] = args.lease
    if args.lease_wait:
        out["lease_wait"] = args.lease_wait
    return out
