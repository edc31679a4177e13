"""Framing of every real fixture: contiguous events, FORMAT_DESCRIPTION facts, CRC32, gzip, live packets."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.framing import (
    CHECKSUM_CRC32,
    CHECKSUM_OFF,
    FormatState,
    decode_packet_event,
    iter_file_events,
)
from tests.source.binlog._support import BROKEN, binlog_files, rel


def _whole(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def test_every_fixture_frames_into_contiguous_events(binlog_fixtures: Path) -> None:
    framed = 0
    for path in binlog_files(binlog_fixtures):
        name = rel(binlog_fixtures, path)
        if name in BROKEN and name != "blackbeam_rust_mysql_common/bug40482-bin.000001":
            continue
        if name == "blackbeam_rust_mysql_common/corrupt-relay-bin.000624":
            continue
        data = _whole(path)
        position = 4
        events = list(iter_file_events(path))
        assert events, name
        assert events[0].type_code == et.FORMAT_DESCRIPTION, name
        for raw in events:
            assert raw.offset == position, name
            assert raw.file == path.name
            position += raw.size
        assert position == len(data), name
        framed += 1
    assert framed >= 55


@pytest.mark.parametrize(
    ("fixture", "version", "checksum"),
    [
        ("osheroff/mysql-bin.checksum-crc32", "5.7.21-log", CHECKSUM_CRC32),
        ("osheroff/mysql-bin.checksum-none", "5.7.20-log", CHECKSUM_OFF),
        ("osheroff/mysql-bin.sakila.gz", "5.5.27-log", CHECKSUM_OFF),
        ("alibaba_canal/mysql-bin.000001", "5.1.34sp1-enterprise-gpl-advanced-log", CHECKSUM_OFF),
        ("zalora_binlog-parser/mysql-bin.07", "10.0.15-MariaDB-log", CHECKSUM_OFF),
        ("mariadb/mariadb-10.11-types.000001", "10.11.19-MariaDB-0+deb12u1-log", CHECKSUM_CRC32),
        ("blackbeam_rust_mysql_common/binlog_transaction_with_GTID_TAG.000001", "9.6.0", CHECKSUM_CRC32),
    ],
)
def test_format_description_sets_state(binlog_fixtures: Path, fixture: str, version: str, checksum: int) -> None:
    state = FormatState()
    events = list(iter_file_events(binlog_fixtures / fixture, state=state))
    assert state.server_version == version
    assert state.checksum_alg == checksum
    assert state.header_length == 19
    assert state.post_header_length(et.QUERY) == 13
    fde = events[0]
    # The FDE body keeps the algorithm byte but never the CRC field.
    tail = 1 if version.startswith(("5.7", "10.", "9.")) else 0
    assert len(fde.body) == fde.size - 19 - (4 if tail else 0)


def test_pre_56_checksum_free_fde_and_in_use_flag(binlog_fixtures: Path) -> None:
    """Files left open by the server (LOG_EVENT_BINLOG_IN_USE_F) still pass the FDE's CRC32."""
    path = binlog_fixtures / "zalora_binlog-parser/mysql-bin.01"
    events = list(iter_file_events(path))
    assert events[0].flags & et.LOG_EVENT_BINLOG_IN_USE_F
    assert len(events) == 17


def test_gzip_and_plain_frame_identically(binlog_fixtures: Path, tmp_path: Path) -> None:
    source = binlog_fixtures / "mariadb/mariadb-10.11-types.000001"
    packed = tmp_path / "types.000001.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    plain = [(r.offset, r.type_code, r.body) for r in iter_file_events(source)]
    unzipped = [(r.offset, r.type_code, r.body) for r in iter_file_events(packed)]
    assert plain == unzipped


def test_sakila_gz_streams_all_events(binlog_fixtures: Path) -> None:
    counts: dict[int, int] = {}
    for raw in iter_file_events(binlog_fixtures / "osheroff/mysql-bin.sakila.gz"):
        counts[raw.type_code] = counts.get(raw.type_code, 0) + 1
    assert counts[et.WRITE_ROWS_V1] == 1374
    assert counts[et.QUERY] == 54
    assert counts[et.TABLE_MAP] == 18


def test_start_offset_yields_fde_then_events_from_there(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / "osheroff/mysql-bin.checksum-crc32"
    events = list(iter_file_events(path))
    middle = events[150]
    resumed = list(iter_file_events(path, start_offset=middle.offset))
    assert resumed[0].type_code == et.FORMAT_DESCRIPTION
    assert [r.offset for r in resumed[1:]] == [r.offset for r in events[150:]]
    with pytest.raises(ValueError):
        list(iter_file_events(path, start_offset=2))


def test_packet_framing_matches_file_framing(binlog_fixtures: Path) -> None:
    for fixture in ("osheroff/mysql-bin.checksum-crc32", "mariadb/mariadb-10.11-compressed.000013"):
        path = binlog_fixtures / fixture
        data = path.read_bytes()
        state = FormatState()
        for raw in iter_file_events(path):
            packet = data[raw.offset : raw.offset + raw.size]
            live = decode_packet_event(packet, state, path.name)
            assert (live.offset, live.type_code, live.body, live.log_pos) == (
                raw.offset,
                raw.type_code,
                raw.body,
                raw.log_pos,
            )
        assert state.checksum


def test_packet_crc_mismatch_and_size_mismatch(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / "osheroff/mysql-bin.checksum-crc32"
    data = path.read_bytes()
    raws = list(iter_file_events(path))
    state = FormatState()
    fde = raws[0]
    decode_packet_event(data[fde.offset : fde.offset + fde.size], state, "mysql-bin.000001")
    second = raws[1]
    packet = bytearray(data[second.offset : second.offset + second.size])
    packet[-6] ^= 0x01
    with pytest.raises(SourceError, match=r"mysql-bin\.000001: offset \d+: CRC32 mismatch"):
        decode_packet_event(bytes(packet), state, "mysql-bin.000001")
    with pytest.raises(SourceError, match="packet holds"):
        decode_packet_event(bytes(packet[:-1]), state, "mysql-bin.000001")
    with pytest.raises(SourceError, match="shorter than an event header"):
        decode_packet_event(b"\x00" * 5, state, "mysql-bin.000001")


def test_crc_mismatch_in_file_names_file_and_offset(binlog_fixtures: Path, tmp_path: Path) -> None:
    data = bytearray((binlog_fixtures / "osheroff/mysql-bin.checksum-crc32").read_bytes())
    raws = list(iter_file_events(binlog_fixtures / "osheroff/mysql-bin.checksum-crc32"))
    victim = raws[40]
    data[victim.offset + 25] ^= 0x40
    bad = tmp_path / "mysql-bin.000007"
    bad.write_bytes(bytes(data))
    seen = []
    with pytest.raises(SourceError, match=rf"mysql-bin\.000007: offset {victim.offset}: CRC32 mismatch"):
        for raw in iter_file_events(bad):
            seen.append(raw.offset)
    assert seen == [r.offset for r in raws[:40]]


def test_v1_binlog_header(tmp_path: Path) -> None:
    """A MySQL 3.23 (binlog v1) file: START_V3 with 13-byte headers, then a QUERY."""
    start_body = struct.pack("<H50sI", 1, b"3.23.58-log", 1000)
    start = struct.pack("<IBII", 1000, et.START_V3, 1, 13 + len(start_body)) + start_body
    query_body = struct.pack("<IIBH", 7, 0, 4, 0) + b"test\0" + b"CREATE TABLE t (a INT)"
    query = struct.pack("<IBII", 1001, et.QUERY, 1, 13 + len(query_body)) + query_body
    path = tmp_path / "old-bin.001"
    path.write_bytes(b"\xfebin" + start + query)
    state = FormatState()
    raws = list(iter_file_events(path, state=state))
    assert [r.type_code for r in raws] == [et.START_V3, et.QUERY]
    assert state.binlog_version == 1
    assert state.header_length == 13
    assert raws[1].offset == 4 + len(start)
    assert raws[1].body == query_body


@pytest.mark.parametrize(
    ("fixture", "total"),
    [
        ("osheroff/mysql-bin.checksum-crc32", 303),
        ("osheroff/mysql-bin.checksum-none", 191),
        ("alibaba_canal/mysql-bin.000001", 380),
        ("mariadb/mariadb-10.11-types.000001", 129),
        ("zalora_binlog-parser/mysql-bin.empty", 1),
    ],
)
def test_event_totals_match_readme(binlog_fixtures: Path, fixture: str, total: int) -> None:
    assert sum(1 for _ in iter_file_events(binlog_fixtures / fixture)) == total
