"""A binlog damaged in the middle, replicated with ``storagecdc run``.

A copy of a real binlog gets one event damaged in its middle (bytes flipped inside a rows event, so its
CRC32 no longer matches; the file cut inside an event; an event header whose size runs past the end). The run
must exit non-zero with one line naming the file and the event's offset, no traceback; everything before
the damage must be durable (the ``metadata`` checkpoint is the last complete transaction before it, and
``storagecdc consume`` equals the decoder's state there); nothing after it may be written.
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.consumer import SqliteApplier
from storagecdc.errors import SourceError
from storagecdc.model import DDLEvent, TxnCommit
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.storage.paths import METADATA_KEY, parse_schema_file_key, parse_syncpoint_key
from storagecdc.storage.uri import open_store
from storagecdc.table_filter import TableFilter
from tests.crash.harness import Decoded, assert_model, checkpoint_of, cli, consume_cli

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
TYPES = "mariadb/mariadb-10.11-types.000001"
ROWS_EVENTS = {23, 24, 25, 30, 31, 32}
HEADER = struct.Struct("<IBIIIH")


def events(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, type code, size) of every event, from the v4 headers."""
    out, offset = [], 4
    while offset + HEADER.size <= len(data):
        _, type_code, _, size, _, _ = HEADER.unpack_from(data, offset)
        out.append((offset, type_code, size))
        offset += size
    return out


def middle_rows_event(data: bytes) -> tuple[int, int]:
    """(offset, size) of the first rows event in the second half of the file."""
    return next((o, s) for o, t, s in events(data) if t in ROWS_EVENTS and o >= len(data) // 2)


def flip_body(data: bytes) -> tuple[bytes, int]:
    offset, size = middle_rows_event(data)
    out = bytearray(data)
    for i in range(offset + HEADER.size + 8, offset + size - 4, 7):
        out[i] ^= 0x5A
    return bytes(out), offset


def cut_inside(data: bytes) -> tuple[bytes, int]:
    offset, size = middle_rows_event(data)
    return data[: offset + size // 2], offset


def oversized_header(data: bytes) -> tuple[bytes, int]:
    offset, _ = middle_rows_event(data)
    out = bytearray(data)
    struct.pack_into("<I", out, offset + 9, len(data) * 2)
    return bytes(out), offset


DAMAGES: dict[str, Callable[[bytes], tuple[bytes, int]]] = {
    "flipped-bytes": flip_body, "cut-mid-event": cut_inside, "oversized-event": oversized_header,
}


def committed_before_damage(path: Path) -> int:
    """The commit-ts of the last transaction or DDL the decoder completes before its SourceError."""
    assembler = TransactionAssembler(SchemaOptions().tracker_factory, table_filter=TableFilter(["*.*"]))
    last = 0
    with pytest.raises(SourceError):
        for change in assembler.feed(file_events(str(path), EventCounter())):
            if isinstance(change, TxnCommit | DDLEvent):
                last = change.commit_ts
    return last


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("source", ["demo", "types"])
def test_damage_in_the_middle(source: str, damage: str, binlog_fixtures: Path, tmp_path: Path) -> None:
    original = DEMO if source == "demo" else binlog_fixtures / TYPES
    damaged_bytes, offset = DAMAGES[damage](original.read_bytes())
    damaged = tmp_path / original.name
    damaged.write_bytes(damaged_bytes)
    uri = f"{(tmp_path / 'out').as_uri()}?protocol=csv&include-commit-ts=true"
    args = ["run", "--sink-uri", uri, "--source", str(damaged)]
    if source == "demo":
        args += ["--split-table", "shop.orders=4", "--sync-point-interval", "1s"]

    proc = cli(args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert original.name in lines[0] and f"offset {offset}" in lines[0], lines[0]

    last = committed_before_damage(damaged)
    assert last > 0
    store = open_store(uri)
    try:
        assert checkpoint_of(store.get(METADATA_KEY)) == last
        for info in store.list():
            schema = parse_schema_file_key(info.key)
            assert schema is None or schema.version <= last, info.key
            marker = parse_syncpoint_key(info.key)
            assert marker is None or marker <= last + 1, info.key
            if info.key.endswith(".csv"):
                for record in csv.reader(io.StringIO(store.get(info.key).decode())):
                    assert int(record[3]) <= last, (info.key, record[:4])
    finally:
        store.close()
    applied, _ = consume_cli(uri, tmp_path / "t.db")
    assert applied > 0
    applier = SqliteApplier(tmp_path / "t.db")
    try:
        assert_model(applier, Decoded(original).model_at(last), "csv")
    finally:
        applier.close()
