"""Helpers of the live tests: the server's binlog files framed from a position, and event comparison."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import SourcePosition
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.framing import iter_file_events
from storagecdc.source.live import LOG_EVENT_ARTIFICIAL_F, LiveSource

_HEADER = struct.Struct("<IBIIIH")


def file_events(server: MariaDBServer, start: SourcePosition, end: SourcePosition | None) -> list[RawEvent]:
    """The events of the server's binlog files from ``start`` up to ``end`` (where a live stream stopped:
    the server may append a BINLOG_CHECKPOINT event at any time, so "the end of the files" is a race)."""
    files = server.binlog_files()
    names = [p.name for p in files]
    first = names.index(start.file)
    last = names.index(end.file) if end is not None else len(files) - 1
    events: list[RawEvent] = []
    for k, path in enumerate(files[first : last + 1]):
        offset = start.offset if k == 0 else 4
        stop = end.offset if end is not None and path.name == end.file else 1 << 63
        events.extend(e for e in iter_file_events(path, offset) if offset <= e.offset < stop)
    return events


def is_stream_only(event: RawEvent) -> bool:
    """Events that exist only in the replication stream: artificial ones, copies with log_pos 0, heartbeats."""
    return (
        event.log_pos == 0
        or bool(event.flags & LOG_EVENT_ARTIFICIAL_F)
        or event.type_code in (et.HEARTBEAT, et.HEARTBEAT_V2)
    )


def in_files(events: Iterable[RawEvent]) -> list[RawEvent]:
    """The events that are also in the binlog files, with the FDE's "file in use" flag cleared (the
    server clears it when it sends the FDE of the binlog it is writing)."""
    out = []
    for e in events:
        if is_stream_only(e):
            continue
        if e.type_code == et.FORMAT_DESCRIPTION:
            out.append(dataclasses.replace(e, flags=e.flags & ~et.LOG_EVENT_BINLOG_IN_USE_F))
        else:
            out.append(e)
    return out


def assert_bytes_match_files(server: MariaDBServer, events: list[RawEvent]) -> None:
    """Every event's header and body are the bytes at its offset in its binlog file (the CRC32 after
    them was verified by framing on both sides)."""
    data = {p.name: p.read_bytes() for p in server.binlog_files()}
    for e in events:
        raw = data[e.file][e.offset : e.offset + e.size - 4]
        rebuilt = _HEADER.pack(e.timestamp, e.type_code, e.server_id, e.size, e.log_pos, e.flags) + e.body
        if e.type_code == et.FORMAT_DESCRIPTION:
            raw = raw[:17] + bytes([raw[17] & ~et.LOG_EVENT_BINLOG_IN_USE_F]) + raw[18:]
        assert rebuilt == raw, f"{e.file}:{e.offset} {et.type_name(e.type_code)} differs from the file"


def catch_up(uri: str, start: SourcePosition | None) -> tuple[list[RawEvent], LiveSource]:
    """Everything from ``start`` to the current end of the binlog (non-blocking)."""
    source = LiveSource(uri, start, blocking=False)
    return list(source.events()), source
