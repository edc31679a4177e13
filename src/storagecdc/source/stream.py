"""Opening a source: binlog files (a file, a list, a directory) or a live server, as change events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import Event
from storagecdc.source.binlog.files import BinlogSource, iter_binlog_events
from storagecdc.source.schema import SchemaTracker


@dataclass(slots=True)
class EventCounter:
    """Counts the raw events and bytes a stream has read (progress and summaries)."""

    events: int = 0
    bytes: int = 0
    file: str = ""
    offset: int = 0

    def count(self, raws: Iterable[RawEvent]) -> Iterator[RawEvent]:
        for raw in raws:
            self.events += 1
            self.bytes += raw.size
            self.file = raw.file
            self.offset = raw.offset
            yield raw


@dataclass(slots=True)
class SchemaOptions:
    """How the schema tracker starts: an initial schema file, DDL to pass over, the server charset."""

    schema_file: str | None = None
    ignore_ddl: tuple[str, ...] = ()
    server_charset: str | None = None

    def tracker_factory(self, start_ts: int, flavor: str) -> SchemaTracker:
        charset = self.server_charset or ("latin1" if flavor == "mariadb" else "utf8mb4")
        tracker = SchemaTracker(start_ts=start_ts, flavor=flavor, ignore_ddl=self.ignore_ddl, server_charset=charset)
        if self.schema_file:
            tracker.load_sql_file(self.schema_file)
        return tracker


def file_events(source: BinlogSource, counter: EventCounter, start_offset: int = 4) -> Iterator[Event]:
    """Typed events of a file source, counting raw events into ``counter``."""
    decoder = EventDecoder()
    return iter(decoder.decode_all(counter.count(iter_binlog_events(source, start_offset))))
