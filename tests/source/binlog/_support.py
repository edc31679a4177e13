"""Helpers shared by the event-level binlog tests: which fixture files exist, decoding a whole file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import Event, RowsEvent
from storagecdc.source.binlog.files import iter_binlog_events
from storagecdc.source.binlog.framing import iter_file_events

REFERENCE_SUFFIXES = (".txt", ".json", ".sql", ".md", ".example", ".txt.gz")

BROKEN = {
    "apecloud_mysql-binlog-connector-rust/non-binlog": 0,
    "blackbeam_rust_mysql_common/binlog_truncated_event.000001": 4,
    "blackbeam_rust_mysql_common/binlog_truncated_prev_gtid_event.000001": 120,
    "blackbeam_rust_mysql_common/corrupt-relay-bin.000624": 91204,
    "blackbeam_rust_mysql_common/bug40482-bin.000001": 106,
}
"""Fixtures that must fail, with the offset of the bad event (bug40482 holds an INCIDENT event)."""


def binlog_files(root: Path) -> list[Path]:
    """Every binlog fixture (plain or gzip), references excluded."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(REFERENCE_SUFFIXES) and not p.name.startswith("plaintext-")
    )


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def decode_file(path: Path) -> list[Event]:
    """The events of one file (not following its final ROTATE)."""
    decoder = EventDecoder()
    return list(decoder.decode_all(iter_file_events(path)))


def decode_source(source: Path) -> list[Event]:
    """The events of a file source, following ROTATE across files."""
    decoder = EventDecoder()
    return list(decoder.decode_all(iter_binlog_events(source)))


def kinds(events: list[Event]) -> Counter[str]:
    """Counts by event class, rows events by kind (``RowsEvent:insert``)."""
    return Counter(f"RowsEvent:{e.kind}" if isinstance(e, RowsEvent) else type(e).__name__ for e in events)
