"""Events no fixture carries (live-only, MySQL 8 partitions, XA), built byte by byte from the formats."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import pytest
import zstandard

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent, TableMap
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import (
    AnnotateRowsEvent,
    Event,
    HeartbeatEvent,
    IntVarEvent,
    MariaGtidEvent,
    MariaGtidListEvent,
    QueryEvent,
    RowsEvent,
    UserVarEvent,
    XaPrepareEvent,
)
from storagecdc.source.binlog.framing import FormatState, format_state_from_fde


def _raw(type_code: int, body: bytes, log_pos: int = 1000, flags: int = 0) -> RawEvent:
    return RawEvent("bin.000001", 900, 1700000000, type_code, 7, 19 + len(body), log_pos, flags, body)


def _mysql8() -> FormatState:
    post = bytearray(45)
    for code, length in {
        et.QUERY: 13,
        et.ROTATE: 8,
        et.TABLE_MAP: 8,
        et.WRITE_ROWS_V2: 10,
        et.UPDATE_ROWS_V2: 10,
        et.DELETE_ROWS_V2: 10,
        et.PARTIAL_UPDATE_ROWS: 10,
    }.items():
        post[code - 1] = length
    body = struct.pack("<H50sIB", 4, b"8.0.36", 0, 19) + bytes(post) + b"\x01"
    return format_state_from_fde(body, with_crc_field=False)


def _one(decoder: EventDecoder, raw: RawEvent) -> Event:
    events = list(decoder.decode(raw))
    assert len(events) == 1
    return events[0]


def test_heartbeats() -> None:
    decoder = EventDecoder(_mysql8())
    beat = _one(decoder, _raw(et.HEARTBEAT, b"mysql-bin.000042", log_pos=1234))
    assert isinstance(beat, HeartbeatEvent)
    assert (beat.log_file, beat.position) == ("mysql-bin.000042", 1234)
    name = b"mysql-bin.000043"
    position = bytes([0xFC]) + struct.pack("<H", 4321)
    body = bytes([1, len(name)]) + name + bytes([2, len(position)]) + position + b"\x00"
    beat = _one(decoder, _raw(et.HEARTBEAT_V2, body, log_pos=0))
    assert isinstance(beat, HeartbeatEvent)
    assert (beat.log_file, beat.position) == ("mysql-bin.000043", 4321)


def _table_map(decoder: EventDecoder, table_id: int, columns: int) -> None:
    decoder.table_maps[table_id] = TableMap(table_id, "db", "t", (3,) * columns, (0,) * columns, (True,) * columns)


def test_rows_v2_partition_extra_data() -> None:
    decoder = EventDecoder(_mysql8())
    _table_map(decoder, 77, 3)
    head = struct.pack("<IHH", 77, 0, 0)  # 6-byte table id, then flags
    extra = bytes([1]) + struct.pack("<HH", 5, 2)  # partition info: id 5, source partition 2
    body = head + struct.pack("<H", 2 + len(extra)) + extra + bytes([3, 0b101, 0b111]) + b"ROWS"
    event = _one(decoder, _raw(et.UPDATE_ROWS_V2, body))
    assert isinstance(event, RowsEvent)
    assert (event.kind, event.partition_id, event.source_partition_id) == ("update", 5, 2)
    assert (event.present, event.present_after) == (0b101, 0b111)
    assert event.body[event.rows_start :] == b"ROWS"
    extra = bytes([1]) + struct.pack("<H", 9)
    body = head + struct.pack("<H", 2 + len(extra)) + extra + bytes([3, 0b111]) + b"R"
    event = _one(decoder, _raw(et.WRITE_ROWS_V2, body))
    assert isinstance(event, RowsEvent)
    assert (event.partition_id, event.source_partition_id, event.present_after) == (9, None, None)
    ndb = bytes([0, 4, 0, 0xAA, 0xBB])  # NDB info: length 4 counts itself and the format byte
    body = head + struct.pack("<H", 2 + len(ndb)) + ndb + bytes([3, 0b111]) + b"R"
    event = _one(decoder, _raw(et.DELETE_ROWS_V2, body))
    assert isinstance(event, RowsEvent)
    assert event.kind == "delete" and event.body[event.rows_start :] == b"R"
    partial = head + struct.pack("<H", 2) + bytes([3, 0b111, 0b001]) + b"P"
    event = _one(decoder, _raw(et.PARTIAL_UPDATE_ROWS, partial))
    assert isinstance(event, RowsEvent)
    assert (event.kind, event.present_after) == ("partial_update", 0b001)


def test_rows_column_count_must_match_table_map() -> None:
    decoder = EventDecoder(_mysql8())
    _table_map(decoder, 77, 2)
    body = struct.pack("<IHH", 77, 0, 0) + struct.pack("<H", 2) + bytes([3, 0b111]) + b"R"
    with pytest.raises(SourceError, match="offset 900: WRITE_ROWS_V2 event has 3 columns"):
        list(decoder.decode(_raw(et.WRITE_ROWS_V2, body)))


def test_stmt_end_clears_table_maps() -> None:
    decoder = EventDecoder(_mysql8())
    _table_map(decoder, 77, 1)
    body = struct.pack("<IHH", 77, 0, 1) + struct.pack("<H", 2) + bytes([1, 1]) + b"R"
    assert isinstance(_one(decoder, _raw(et.WRITE_ROWS_V2, body)), RowsEvent)
    assert decoder.table_maps == {}


def test_xa_prepare_and_mariadb_xa_gtid() -> None:
    decoder = EventDecoder(_mysql8())
    body = bytes([0]) + struct.pack("<iII", 1, 3, 2) + b"abcde"
    event = _one(decoder, _raw(et.XA_PREPARE, body))
    assert isinstance(event, XaPrepareEvent)
    assert (event.one_phase, event.format_id, event.gtrid, event.bqual) == (False, 1, b"abc", b"de")
    gtid = struct.pack("<QIB", 99, 3, 0x40) + struct.pack("<IBB", 1, 2, 1) + b"xyz"
    event = _one(decoder, _raw(et.MARIA_GTID, gtid))
    assert isinstance(event, MariaGtidEvent)
    assert (event.gtid, event.xid, event.standalone) == ("3-7-99", (1, b"xy", b"z"), False)
    gtid = struct.pack("<QIBQ", 5, 0, 0x03, 1234)
    event = _one(decoder, _raw(et.MARIA_GTID, gtid))
    assert isinstance(event, MariaGtidEvent)
    assert (event.commit_id, event.standalone) == (1234, True)


def test_mariadb_gtid_list_entries() -> None:
    body = struct.pack("<I", 2) + struct.pack("<IIQ", 0, 1, 10) + struct.pack("<IIQ", 1, 2, 20)
    event = _one(EventDecoder(), _raw(et.MARIA_GTID_LIST, body))
    assert isinstance(event, MariaGtidListEvent)
    assert event.gtids == ((0, 1, 10), (1, 2, 20))
    with pytest.raises(SourceError, match="GTID_LIST declares 3 entries"):
        list(EventDecoder().decode(_raw(et.MARIA_GTID_LIST, struct.pack("<I", 3) + body[4:])))


def test_user_var_intvar_rows_query() -> None:
    decoder = EventDecoder(_mysql8())
    event = _one(decoder, _raw(et.USER_VAR, struct.pack("<I", 1) + b"v" + b"\x01"))
    assert isinstance(event, UserVarEvent) and event.value is None
    body = struct.pack("<I", 1) + b"s" + b"\x00" + bytes([0]) + struct.pack("<II", 45, 2) + b"hi" + b"\x00"
    event = _one(decoder, _raw(et.USER_VAR, body))
    assert isinstance(event, UserVarEvent) and (event.value, event.charset) == (b"hi", 45)
    event = _one(decoder, _raw(et.INTVAR, bytes([2]) + struct.pack("<Q", 17)))
    assert isinstance(event, IntVarEvent) and (event.kind, event.value) == (2, 17)
    event = _one(decoder, _raw(et.ROWS_QUERY, b"\x0bINSERT 1"))
    assert isinstance(event, AnnotateRowsEvent) and event.query == "INSERT 1"


def test_query_in_latin1_and_status_vars() -> None:
    decoder = EventDecoder(_mysql8())
    status = (
        bytes([0])
        + struct.pack("<I", 0x4000)
        + bytes([1])
        + struct.pack("<Q", 0x200)
        + bytes([4])
        + struct.pack("<HHH", 8, 8, 8)
        + bytes([5, 6])
        + b"+02:00"
        + bytes([12, 2])
        + b"a\x00b\x00"
        + bytes([17])
        + struct.pack("<Q", 555)
    )
    head = struct.pack("<IIBHH", 3, 1, 2, 0, len(status))
    body = head + status + b"db\x00" + "INSERT 'café'".encode("latin-1")
    event = _one(decoder, _raw(et.QUERY, body))
    assert isinstance(event, QueryEvent)
    assert event.query == "INSERT 'café'"
    status = event.status
    assert (status.flags2, status.sql_mode, status.charset, status.time_zone) == (0x4000, 0x200, (8, 8, 8), "+02:00")
    assert (status.updated_db_names, status.ddl_xid, event.schema) == (("a", "b"), 555, "db")


def test_mariadb_compressed_query_rejects_bad_lengths() -> None:
    decoder = EventDecoder(_mysql8())
    head = struct.pack("<IIBHH", 3, 1, 0, 0, 0)
    text = b"DROP TABLE t"
    good = head + b"\x00" + bytes([0x81, len(text)]) + zlib.compress(text)
    event = _one(decoder, _raw(et.MARIA_QUERY_COMPRESSED, good))
    assert isinstance(event, QueryEvent) and event.query == "DROP TABLE t"
    bad = head + b"\x00" + bytes([0x81, len(text) + 5]) + zlib.compress(text)
    with pytest.raises(SourceError, match="malformed MARIA_QUERY_COMPRESSED event"):
        list(decoder.decode(_raw(et.MARIA_QUERY_COMPRESSED, bad)))


def test_types_that_carry_no_data_are_passed_over() -> None:
    decoder = EventDecoder(_mysql8())
    for code in (et.IGNORABLE, et.TRANSACTION_CONTEXT, et.VIEW_CHANGE):
        assert list(decoder.decode(_raw(code, b"\x00" * 8))) == []
    assert list(decoder.decode(_raw(200, b"pad", flags=et.LOG_EVENT_IGNORABLE_F))) == []
    with pytest.raises(SourceError, match="unknown event type 200"):
        list(decoder.decode(_raw(200, b"pad")))


def _payload_event(inner: bytes, uncompressed: int) -> bytes:
    compressed = zstandard.ZstdCompressor().compress(inner)

    def field(kind: int, value: int) -> bytes:
        packed = bytes([value]) if value < 251 else bytes([0xFE]) + struct.pack("<Q", value)
        return bytes([kind, len(packed)]) + packed

    size = len(compressed)
    return field(2, 0) + field(3, uncompressed) + field(1, size) + b"\x00" + compressed


def test_transaction_payload_streams_without_holding_the_transaction() -> None:
    xid = struct.pack("<IBIIIH", 1, et.XID, 7, 27, 0, 0) + struct.pack("<Q", 5)
    count = 200_000
    inner = xid * count
    body = _payload_event(inner, len(inner))
    del inner
    decoder = EventDecoder(_mysql8())
    tracemalloc.start()
    try:
        seen = 0
        for event in decoder.decode(_raw(et.TRANSACTION_PAYLOAD, body)):
            assert event.offset == 900
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 4_500_000  # the 5.4 MB transaction is never held whole (nor its decoded events)


def test_transaction_payload_size_mismatches() -> None:
    xid = struct.pack("<IBIIIH", 1, et.XID, 7, 27, 0, 0) + struct.pack("<Q", 5)
    decoder = EventDecoder(_mysql8())
    short = _payload_event(xid * 2, 27 * 3)
    with pytest.raises(SourceError, match="offset 900: malformed TRANSACTION_PAYLOAD event"):
        list(decoder.decode(_raw(et.TRANSACTION_PAYLOAD, short)))
    broken = xid[:-3]
    with pytest.raises(SourceError, match=r"runs past|ends inside"):
        list(decoder.decode(_raw(et.TRANSACTION_PAYLOAD, _payload_event(broken, len(broken)))))
