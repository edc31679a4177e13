"""Opening the configured source as a stream of change events, from its resume point.

File sources read their files in order from the resume record's position (or ``--start FILE:OFFSET``, or
the beginning). A live source starts from the resume record's position, from ``--start``, or (a new
changefeed) from the server's current position with the current schema read from information_schema; with
``--until now`` it stops at the position the server had when the changefeed started. An initial snapshot
(``storagecdc.snapshot``) hands over the state to start from instead of a resume record: its consistent
point and the schema it read there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from storagecdc.config import ChangefeedConfig
from storagecdc.errors import ConfigError, SourceError
from storagecdc.model import ChangeEvent, SourcePosition
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.files import iter_binlog_events, resolve_binlog_files
from storagecdc.source.gtid import MariaDBGtidPos, MySQLGtidSet, parse_gtid_set
from storagecdc.source.live import LiveSource
from storagecdc.source.replication_uri import redact
from storagecdc.source.schema import SchemaTracker
from storagecdc.source.stream import EventCounter, SchemaOptions
from storagecdc.source.txn import AssemblerState, TransactionAssembler
from storagecdc.table_filter import SYSTEM_SCHEMAS

_FILE_POSITION = re.compile(r"^(?P<file>[^:/\s]+\.\d+):(?P<offset>\d+)$")


@dataclass
class OpenedSource:
    """A source ready to be read: its change events, the assembler behind them, and how to stop."""

    changes: Iterator[ChangeEvent]
    assembler: TransactionAssembler
    name: str
    """The source as it may be printed (passwords redacted)."""
    counter: EventCounter
    total_bytes: int | None = None
    """Bytes to read, when known (file sources), for progress."""
    until: Callable[[], bool] | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()


def open_source(config: ChangefeedConfig, resume: AssemblerState | None, *, until: str | None = None) -> OpenedSource:
    """The configured source from ``resume`` (a resume record's or a snapshot's state), or from its start."""
    src = config.source
    options = SchemaOptions(schema_file=src.schema_file, ignore_ddl=src.ignore_ddl, server_charset=src.server_charset)
    if src.is_live:
        return _open_live(config, options, resume, until)
    if until not in (None, "now"):
        raise ConfigError("--until takes 'now' or nothing for file sources (they end where the files end)")
    return _open_files(config, options, resume)


def _assembler(config: ChangefeedConfig, options: SchemaOptions, resume: AssemblerState | None,
               load: Callable[[SchemaTracker], None] | None = None) -> TransactionAssembler:
    def make_tracker(start_ts: int, flavor: str) -> SchemaTracker:
        tracker = options.tracker_factory(start_ts, flavor)
        if load is not None:
            load(tracker)
        return tracker

    return TransactionAssembler(
        make_tracker,
        table_filter=config.table_filter(),
        max_buffered_rows=config.source.max_buffered_rows,
        resume=resume,
    )


def _open_files(config: ChangefeedConfig, options: SchemaOptions, resume: AssemblerState | None) -> OpenedSource:
    names = config.source.files
    files = resolve_binlog_files(names[0] if len(names) == 1 else names)
    offset = 4
    position = _file_start(config.source.start) if resume is None else resume.position
    if position is not None and position.file:
        index = next((i for i, f in enumerate(files) if f.name in (position.file, position.file + ".gz")), None)
        if index is None:
            raise SourceError(f"the source has no binlog file {position.file} to resume from "
                              f"(files: {', '.join(f.name for f in files[:5])}{'...' if len(files) > 5 else ''})")
        files = files[index:]
        offset = position.offset
    counter = EventCounter()
    assembler = _assembler(config, options, resume)
    events = EventDecoder().decode_all(counter.count(iter_binlog_events(files, offset)))
    total = sum(f.stat().st_size for f in files) - (offset - 4 if offset > 4 else 0)
    return OpenedSource(assembler.feed(events), assembler, ", ".join(str(f) for f in names), counter, total)


def _file_start(start: str | None) -> SourcePosition | None:
    if not start:
        return None
    name, sep, offset = start.rpartition(":")
    if not sep or not offset.isdigit():
        raise ConfigError(f"--start for binlog files is FILE:OFFSET, got {start!r}")
    return SourcePosition(Path(name).name, int(offset))


def _open_live(config: ChangefeedConfig, options: SchemaOptions, resume: AssemblerState | None,
               until: str | None) -> OpenedSource:
    uri = config.source.uri
    name = redact(uri)
    probe = LiveSource(uri, None, blocking=False)
    load: Callable[[SchemaTracker], None] | None = None
    start: SourcePosition | MySQLGtidSet | MariaDBGtidPos | None
    if resume is not None:
        start = resume.position
    elif config.source.start:
        start = _live_start(config.source.start)
    else:
        start = probe.server_position()
        start = SourcePosition(start.file, start.offset)
        table_filter = config.table_filter()

        def load(tracker: SchemaTracker) -> None:
            with probe.connect() as conn, conn.cursor() as cur:
                cur.execute("SHOW DATABASES")
                schemas = [row[0] for row in cur.fetchall() if row[0].lower() not in SYSTEM_SCHEMAS]
                tracker.load_from_server(conn, [s for s in schemas if table_filter.match_schema(s)])

    target = probe.server_position() if until == "now" else _until_position(until)
    live = LiveSource(uri, start, blocking=target is None)
    counter = EventCounter()
    assembler = _assembler(config, options, resume, load)
    events = EventDecoder(state=live.state).decode_all(counter.count(live.events()))

    def reached() -> bool:
        pos = assembler.position
        return target is not None and (pos.file, pos.offset) >= (target.file, target.offset)

    opened = OpenedSource(assembler.feed(events), assembler, name, counter, None, reached if target else None)
    opened.closers.append(live.close)
    return opened


def _live_start(text: str) -> SourcePosition | MySQLGtidSet | MariaDBGtidPos:
    """``mysql-bin.000042:4`` is a position; anything else is a GTID set."""
    m = _FILE_POSITION.match(text.strip())
    if m:
        return SourcePosition(m["file"], int(m["offset"]))
    return parse_gtid_set(text)


def _until_position(until: str | None) -> SourcePosition | None:
    if until is None:
        return None
    pos = _file_start(until)
    assert pos is not None
    return pos
