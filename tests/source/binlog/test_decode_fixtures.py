"""Event decoding of every real fixture, checked against README counts and mariadb-binlog's own output."""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from pathlib import Path

import pytest

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import (
    AnnotateRowsEvent,
    BinlogCheckpointEvent,
    Event,
    FormatDescriptionEvent,
    GtidEvent,
    MariaGtidEvent,
    MariaGtidListEvent,
    PreviousGtidsEvent,
    QueryEvent,
    RotateEvent,
    RowsEvent,
    StopEvent,
    TableMapEvent,
    UnhandledEvent,
    XidEvent,
)
from storagecdc.source.binlog.framing import iter_file_events
from tests.source.binlog._support import BROKEN, binlog_files, decode_file, kinds, rel


def test_every_good_fixture_decodes(binlog_fixtures: Path) -> None:
    decoded = 0
    for path in binlog_files(binlog_fixtures):
        if rel(binlog_fixtures, path) in BROKEN:
            continue
        events = decode_file(path)
        assert isinstance(events[0], FormatDescriptionEvent), path
        decoded += 1
    assert decoded >= 55


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "osheroff/mysql-bin.checksum-crc32",
            {
                "GtidEvent": 60,
                "XidEvent": 60,
                "TableMapEvent": 60,
                "RowsEvent:insert": 34,
                "RowsEvent:update": 20,
                "RowsEvent:delete": 6,
                "RotateEvent": 1,
            },
        ),
        ("osheroff/mysql-bin.checksum-none", {"RowsEvent:insert": 34, "RowsEvent:update": 2, "StopEvent": 1}),
        ("osheroff/mysql-bin.sakila.gz", {"QueryEvent": 54, "TableMapEvent": 18, "RowsEvent:insert": 1374}),
        (
            "alibaba_canal/mysql-bin.000001",
            {"RowsEvent:insert": 10, "RowsEvent:update": 78, "RowsEvent:delete": 1},
        ),
        (
            "mariadb/mariadb-10.11-types.000001",
            {
                "MariaGtidEvent": 32,
                "AnnotateRowsEvent": 20,
                "TableMapEvent": 20,
                "QueryEvent": 17,
                "XidEvent": 16,
                "RowsEvent:insert": 10,
                "RowsEvent:update": 7,
                "RowsEvent:delete": 3,
            },
        ),
        (
            "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010",
            {
                "TableMapEvent": 802,
                "RowsEvent:update": 400,
                "RowsEvent:insert": 224,
                "RowsEvent:delete": 200,
                "XidEvent": 202,
            },
        ),
        (
            "apecloud_mysql-binlog-connector-rust/mysql-bin.000080",
            {"GtidEvent": 10, "RowsEvent:insert": 3, "RowsEvent:delete": 2},
        ),
        (
            "zalora_binlog-parser/mysql-bin.07",
            {"MariaGtidEvent": 2, "MariaGtidListEvent": 1, "BinlogCheckpointEvent": 1, "RowsEvent:insert": 2},
        ),
        (
            "blackbeam_rust_mysql_common/json.binlog.000001",
            {"RowsEvent:partial_update": 1, "RowsEvent:insert": 4, "RowsEvent:update": 1},
        ),
    ],
)
def test_event_counts_match_readme(binlog_fixtures: Path, fixture: str, expected: dict[str, int]) -> None:
    counts = kinds(decode_file(binlog_fixtures / fixture))
    for name, count in expected.items():
        assert counts[name] == count, (name, counts)


_HEADER_LINE = re.compile(
    r"^#\d{6} +\d+:\d\d:\d\d server id \d+ +end_log_pos (\d+)(?: CRC32 0x[0-9a-f]+)?\s+"
    r"([A-Za-z_]+(?: list| checkpoint)?)"
)
_REFERENCE_TYPES: dict[str, type[Event] | str] = {
    "Start": FormatDescriptionEvent,
    "Gtid list": MariaGtidListEvent,
    "Binlog checkpoint": BinlogCheckpointEvent,
    "GTID": MariaGtidEvent,
    "Query": QueryEvent,
    "Query_compressed": QueryEvent,
    "Annotate_rows": AnnotateRowsEvent,
    "Table_map": TableMapEvent,
    "Xid": XidEvent,
    "Rotate": RotateEvent,
    "Stop": StopEvent,
    "Write_rows": "insert",
    "Update_rows": "update",
    "Delete_rows": "delete",
    "Write_compressed_rows": "insert",
    "Update_compressed_rows": "update",
    "Delete_compressed_rows": "delete",
}


def _reference(path: Path) -> tuple[list[tuple[int, str]], set[int]]:
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")
    headers = []
    starts = set()
    for line in text.splitlines():
        if line.startswith("# at "):
            starts.add(int(line[5:]))
            continue
        match = _HEADER_LINE.match(line)
        if match:
            headers.append((int(match[1]), match[2]))
    return headers, starts


@pytest.mark.parametrize(
    "fixture",
    [
        "mariadb-10.11-types.000001",
        "mariadb-10.11-compressed.000013",
        "mariadb-10.11-minimal-nometa.000012",
        "mariadb-10.11-sysbench-oltp_write_only.000010",
    ],
)
def test_positions_and_types_match_mariadb_binlog(binlog_fixtures: Path, fixture: str) -> None:
    directory = binlog_fixtures / "mariadb"
    reference = directory / f"{fixture}.decoded.txt"
    if not reference.exists():
        reference = directory / f"{fixture}.decoded.txt.gz"
    headers, starts = _reference(reference)
    events = decode_file(directory / fixture)
    ours = [(e.log_pos, e) for e in events]
    assert len(ours) == len(headers)
    for (end, word), (log_pos, event) in zip(headers, ours, strict=True):
        assert end == log_pos, (word, event)
        expected = _REFERENCE_TYPES[word]
        if isinstance(expected, str):
            assert isinstance(event, RowsEvent)
            assert event.kind == expected
        else:
            assert isinstance(event, expected), (word, event)
    assert starts <= {e.offset for e in events}


def test_mariadb_compressed_events_equal_plain_ones(binlog_fixtures: Path) -> None:
    """The same SQL with and without log_bin_compress: equal statements and equal row images."""
    plain = decode_file(binlog_fixtures / "mariadb/mariadb-10.11-minimal-nometa.000012")
    packed = decode_file(binlog_fixtures / "mariadb/mariadb-10.11-compressed.000013")
    plain_queries = [e.query for e in plain if isinstance(e, QueryEvent)]
    packed_queries = [e.query for e in packed if isinstance(e, QueryEvent)]
    assert plain_queries == packed_queries
    assert any("CREATE TABLE" in q for q in packed_queries)
    packed_rows = [e for e in packed if isinstance(e, RowsEvent)]
    assert {e.type_code for e in packed_rows} >= {166, 167, 168}
    for event in packed_rows:
        assert event.rows_start < len(event.body)


def test_transaction_payload_expands(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "osheroff/mysql-bin.compressed")
    inner = [type(e).__name__ for e in events[3:-1]]
    assert inner == ["QueryEvent", "TableMapEvent", "RowsEvent", "XidEvent"]
    payload_offset = 236
    assert all(e.offset == payload_offset for e in events[3:-1])
    assert isinstance(events[-1], RotateEvent)
    counts = kinds(decode_file(binlog_fixtures / "apecloud_mysql-binlog-connector-rust/mysql-bin.000057"))
    assert counts["TableMapEvent"] >= 2
    counts = kinds(decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/transaction_compression.000001"))
    assert counts["XidEvent"] == 1
    assert counts["RowsEvent:insert"] == 1


def test_mysql_gtids(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/binlog_transaction_with_GTID_TAG.000001")
    previous = next(e for e in events if isinstance(e, PreviousGtidsEvent))
    assert previous.gtid_set == (
        "55778904-0299-11f1-b1b8-4ef0c4956feb:1-13,55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:1-2"
    )
    gtid = next(e for e in events if isinstance(e, GtidEvent))
    assert gtid.gtid == "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3"
    assert gtid.immediate_commit_timestamp // 1_000_000 == gtid.timestamp
    assert gtid.immediate_server_version == 90600

    events = decode_file(binlog_fixtures / "apecloud_mysql-binlog-connector-rust/mysql-bin.000080")
    gtids = [e for e in events if isinstance(e, GtidEvent)]
    assert [g.gno for g in gtids] == list(range(53, 63))
    assert gtids[0].last_committed == 0
    assert gtids[1].sequence_number == 2
    events = decode_file(binlog_fixtures / "osheroff/mysql-bin.checksum-crc32")
    anonymous = [e for e in events if isinstance(e, GtidEvent)]
    assert all(g.anonymous and g.gno == 0 for g in anonymous)


def test_mariadb_gtids_and_query_status(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "mariadb/mariadb-10.11-types.000001")
    gtids = [e for e in events if isinstance(e, MariaGtidEvent)]
    assert [g.gtid for g in gtids] == [f"0-1-{n}" for n in range(1, 33)]
    assert gtids[0].standalone
    checkpoint = next(e for e in events if isinstance(e, BinlogCheckpointEvent))
    assert checkpoint.binlog_file == "mysql-bin.000001"
    query = next(e for e in events if isinstance(e, QueryEvent))
    assert query.query.startswith("CREATE DATABASE fixt")
    assert query.status.charset == (45, 45, 8)
    assert query.status.sql_mode == 1411383296
    annotate = next(e for e in events if isinstance(e, AnnotateRowsEvent))
    assert annotate.query.startswith("INSERT INTO all_types VALUES")
    assert "😀" in annotate.query


def test_query_text_uses_client_charset(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "apecloud_mysql-binlog-connector-rust/mysql-bin.000080")
    texts = [e.query for e in events if isinstance(e, QueryEvent)]
    assert any("utf8mb4_unicode_ci" in t for t in texts)
    events = decode_file(binlog_fixtures / "alibaba_canal/tsdb/mysql-bin.000002")
    assert any(re.search("[\u4e00-\u9fff]", e.query) for e in events if isinstance(e, QueryEvent))


def test_pre_ga_renumbered_events(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/ver_5_1-wl2325_r.001")
    rows = [e for e in events if isinstance(e, RowsEvent)]
    assert [e.kind for e in rows] == ["insert", "update", "delete"]
    assert {e.type_code for e in rows} == {et.WRITE_ROWS_V0, et.UPDATE_ROWS_V0, et.DELETE_ROWS_V0}
    assert rows[1].present_after == rows[1].present
    table = rows[0].table_map
    assert (table.schema, table.table, table.column_count) == ("test", "t1", 2)
    events = decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/ver_5_1-wl2325_s.001")
    assert sum(isinstance(e, XidEvent) for e in events) == 1
    assert [e.type_code for e in events if isinstance(e, UnhandledEvent)] == [
        et.BEGIN_LOAD_QUERY,
        et.APPEND_BLOCK,
        et.EXECUTE_LOAD_QUERY,
    ]


def test_rows_v2_and_v1_headers(binlog_fixtures: Path) -> None:
    events = decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/mysql-enum-string-set.000001")
    rows = [e for e in events if isinstance(e, RowsEvent)]
    assert [(e.kind, e.column_count, e.present, e.present_after) for e in rows] == [
        ("insert", 5, 0b11111, None),
        ("update", 5, 0b11111, 0b11111),
        ("delete", 5, 0b11111, None),
    ]
    assert all(e.stmt_end and e.rows_start == 12 + (e.kind == "update") for e in rows)
    events = decode_file(binlog_fixtures / "mariadb/mariadb-10.11-minimal-nometa.000012")
    update = next(e for e in events if isinstance(e, RowsEvent) and e.kind == "update")
    assert update.present != update.present_after  # binlog_row_image=MINIMAL


def test_aurora_padding_skipped_and_unknown_type_fails(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / "osheroff/mysql-bin.aurora-padding"
    events = decode_file(path)
    assert [type(e).__name__ for e in events] == [
        "FormatDescriptionEvent",
        "PreviousGtidsEvent",
        "GtidEvent",
        "QueryEvent",
    ]
    raws = list(iter_file_events(path))
    padding = next(r for r in raws if r.type_code == 100)
    assert padding.flags & et.LOG_EVENT_IGNORABLE_F
    padding.flags &= ~et.LOG_EVENT_IGNORABLE_F
    with pytest.raises(SourceError, match=rf"offset {padding.offset}: unknown event type 100"):
        EventDecoder().decode(padding)


def test_incident_and_encryption_raise(binlog_fixtures: Path) -> None:
    with pytest.raises(SourceError, match=r"bug40482-bin\.000001: offset 106: INCIDENT"):
        decode_file(binlog_fixtures / "blackbeam_rust_mysql_common/bug40482-bin.000001")
    raw = next(iter(iter_file_events(binlog_fixtures / "mariadb/mariadb-10.11-types.000001")))
    raw.type_code = et.MARIA_START_ENCRYPTION
    raw.body = struct.pack("<BI", 1, 1) + bytes(12)
    with pytest.raises(SourceError, match="encrypted binlogs are not supported"):
        EventDecoder().decode(raw)


def test_v1_query_decodes(tmp_path: Path) -> None:
    start_body = struct.pack("<H50sI", 1, b"3.23.58-log", 1000)
    start = struct.pack("<IBII", 1000, et.START_V3, 1, 13 + len(start_body)) + start_body
    query_body = struct.pack("<IIBH", 7, 0, 4, 0) + b"test\0" + b"CREATE TABLE t (a INT)"
    query = struct.pack("<IBII", 1001, et.QUERY, 1, 13 + len(query_body)) + query_body
    path = tmp_path / "old-bin.001"
    path.write_bytes(b"\xfebin" + start + query)
    events = decode_file(path)
    assert isinstance(events[0], FormatDescriptionEvent)
    assert events[0].format.binlog_version == 1
    assert isinstance(events[1], QueryEvent)
    assert (events[1].schema, events[1].query, events[1].thread_id) == ("test", "CREATE TABLE t (a INT)", 7)


def test_crc_is_what_framing_checked(binlog_fixtures: Path) -> None:
    """RawEvent bodies exclude the CRC: recomputing it over header+body matches the stored one."""
    path = binlog_fixtures / "mariadb/mariadb-10.11-types.000001"
    data = path.read_bytes()
    for raw in list(iter_file_events(path))[1:]:
        start = raw.offset
        assert data[start + 19 : start + raw.size - 4] == raw.body
        stored = struct.unpack_from("<I", data, start + raw.size - 4)[0]
        assert zlib.crc32(data[start : start + raw.size - 4]) == stored
