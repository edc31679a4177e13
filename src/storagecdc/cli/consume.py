"""``storagecdc consume --sink-uri URI --target TARGET [--follow]``: replay the output into a database.

The sink URI's query selects how the files were written, with the sink's option names
(``?protocol=csv&include-commit-ts=true``). One-shot runs up to the current checkpoint and exits 0;
``--follow`` polls and applies as the checkpoint advances until SIGINT/SIGTERM, then stops at the next
commit point and exits 0. ``--until TS`` applies only changes with commit-ts at or below TS, ``--syncpoint
T|latest`` stops at a syncpoint's consistent cut (every change below T); both need the commit-ts in every
row. Progress lives in the target, so running it again continues.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from storagecdc.consumer import Replayer, open_applier, options_from_uri
from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import SYNCPOINT_PREFIX, parse_syncpoint_key
from storagecdc.storage.uri import open_store, redact_uri


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sink-uri", required=True, metavar="URI",
                        help="where the output is (s3://bucket/prefix?protocol=csv, file:///dir, ...)")
    parser.add_argument("--target", default="sqlite:///storagecdc.db", metavar="TARGET",
                        help="sqlite:///relative.db, sqlite:////absolute.db (default sqlite:///storagecdc.db) "
                             "or mysql://user:password@host:port/[progress-db]")
    parser.add_argument("--follow", action="store_true", help="keep applying as the checkpoint advances")
    parser.add_argument("--poll-interval", default="1s", metavar="DURATION", help="follow mode's poll interval")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--until", type=int, metavar="TS", help="apply only changes with commit-ts at or below TS")
    stop.add_argument("--syncpoint", metavar="TS|latest",
                      help="stop at the consistent state of a syncpoint (its marker must exist)")


def parse_interval(text: str) -> float:
    """``500ms``, ``1s``, ``2m`` or a number of seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for suffix in ("ms", "s", "m"):
        if text.endswith(suffix):
            number, scale = text[: -len(suffix)], units[suffix]
            break
    else:
        number, scale = text, 1.0
    try:
        value = float(number) * scale
    except ValueError:
        raise ConfigError(f"--poll-interval: cannot read {text!r} (use e.g. 500ms, 1s)") from None
    if value <= 0:
        raise ConfigError("--poll-interval must be positive")
    return value


def syncpoint_until(store: ObjectStore, wanted: str) -> int:
    """``until_ts`` for the consistent state of syncpoint ``wanted`` (a commit-ts or ``latest``): T - 1."""
    points = sorted(ts for ts in (parse_syncpoint_key(i.key) for i in store.list(SYNCPOINT_PREFIX)) if ts)
    if wanted == "latest":
        if not points:
            raise ConsumerError(f"{store.display_uri} has no syncpoint markers")
        return points[-1] - 1
    if not wanted.isdigit() or int(wanted) not in points:
        latest = points[-1] if points else "none"
        raise ConfigError(f"--syncpoint {wanted!r}: no such syncpoint marker (latest: {latest})")
    return int(wanted) - 1


def run(args: argparse.Namespace) -> int:
    options = options_from_uri(args.sink_uri)
    interval = parse_interval(args.poll_interval)
    store = open_store(args.sink_uri)
    applier = open_applier(args.target)
    try:
        until = syncpoint_until(store, args.syncpoint) if args.syncpoint else args.until
        replayer = Replayer(store, applier, options)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            replayer.stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stats = replayer.run(follow=args.follow, poll_interval_s=interval, until_ts=until)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        applier.close()
        store.close()
    where = f"{redact_uri(args.sink_uri)} -> {applier.display_uri}"
    if stats.checkpoint is None:
        print(f"{where}: no checkpoint yet, nothing to apply", file=sys.stderr)
    else:
        print(f"{where}: checkpoint {stats.checkpoint}: {stats.ddl} DDL, {stats.files} files, {stats.rows} rows "
              f"applied, {stats.skipped_rows} duplicates skipped", file=sys.stderr)
    return 0
