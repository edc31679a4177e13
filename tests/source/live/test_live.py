"""The live source against the private MariaDB: exact events, resume, heartbeats, reconnects, errors."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import traceback
from collections.abc import Callable

import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.errors import ConfigError, SourceError
from storagecdc.model import SourcePosition
from storagecdc.source.binlog import event_types as et
from storagecdc.source.gtid import MariaDBGtidPos, MySQLGtidSet
from storagecdc.source.live import LiveSource
from storagecdc.source.replication_protocol import ServerError
from tests.source.live.helpers import assert_bytes_match_files, catch_up, file_events, in_files
from tests.workloads import ALL_TYPES_DDL, workload_sql

pytestmark = pytest.mark.mariadb


def test_workload_streams_byte_identical_to_binlog_files(mariadb: MariaDBServer, mariadb_db: str) -> None:
    source = LiveSource(mariadb.uri(server_id=101))
    start = source.server_position()
    mariadb.execute_script(workload_sql(ALL_TYPES_DDL, mariadb_db))
    mariadb.flush_logs()  # the stream crosses a real ROTATE into the next file
    mariadb.execute("INSERT INTO t_myisam VALUES (100, 'next file')", database=mariadb_db)
    events, source = catch_up(mariadb.uri(server_id=101), start)

    first = events[0]
    assert (first.type_code, first.log_pos, first.file) == (et.ROTATE, 0, start.file)
    expected = file_events(mariadb, start, source.position)
    assert in_files(events) == in_files(expected)
    assert_bytes_match_files(mariadb, in_files(events))
    kinds = {e.type_code for e in events}
    assert {et.TABLE_MAP, et.WRITE_ROWS_V1, et.UPDATE_ROWS_V1, et.DELETE_ROWS_V1, et.QUERY, et.XID} <= kinds
    assert {et.MARIA_GTID, et.MARIA_ANNOTATE_ROWS, et.ROTATE, et.MARIA_BINLOG_CHECKPOINT} <= kinds
    end = source.server_position()
    assert source.position is not None
    assert (end.file, end.offset) >= (source.position.file, source.position.offset) > (start.file, start.offset)
    assert source.position.file != start.file


def test_resume_from_a_position(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=102)
    start = LiveSource(uri).server_position()
    mariadb.execute_script(workload_sql(ALL_TYPES_DDL, mariadb_db))
    everything, _ = catch_up(uri, start)
    xids = [e for e in everything if e.type_code == et.XID]
    middle = xids[len(xids) // 2]
    resume = SourcePosition(middle.file, middle.log_pos)

    events, source = catch_up(uri, resume)
    rotate, fde = events[0], events[1]
    assert (rotate.type_code, rotate.file, int.from_bytes(rotate.body[:8], "little")) == (
        et.ROTATE, resume.file, resume.offset,
    )  # fmt: skip
    assert (fde.type_code, fde.log_pos) == (et.FORMAT_DESCRIPTION, 0)  # the file's FDE, resent
    assert in_files(events) == in_files(file_events(mariadb, resume, source.position))
    assert in_files(events)[0].type_code == et.MARIA_GTID


def test_gtid_resume(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=103)
    live = LiveSource(uri)
    mariadb.execute_script("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
                           database=mariadb_db)  # fmt: skip
    after_first = live.server_position()
    assert after_first.gtid_set
    mariadb.execute_script("INSERT INTO t VALUES (2, 'b'); UPDATE t SET v = 'c'; DELETE FROM t WHERE id = 1;",
                           database=mariadb_db)  # fmt: skip

    events, source = catch_up(uri, MariaDBGtidPos.parse(after_first.gtid_set))
    marker = next(i for i, e in enumerate(events) if e.type_code == et.MARIA_GTID_LIST and e.flags & 0x20)
    resumed = in_files(events[marker:])
    assert resumed == file_events(mariadb, SourcePosition(after_first.file, after_first.offset), source.position)
    assert [e.type_code for e in resumed].count(et.XID) == 3


def test_heartbeats_on_an_idle_server(mariadb: MariaDBServer) -> None:
    uri = mariadb.uri(server_id=104, heartbeat_interval=0.1)
    now = LiveSource(uri).server_position()
    beats = []
    began = time.monotonic()
    with LiveSource(uri, SourcePosition(now.file, now.offset)) as source:
        for event in source.events():
            if event.type_code == et.HEARTBEAT:
                beats.append(event)
                if len(beats) == 3:
                    break
    assert time.monotonic() - began < 5
    assert all(b.log_pos == now.offset and b.body.decode() == now.file for b in beats)


def test_reconnects_after_the_server_restarts(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=105, heartbeat_interval=0.2, read_timeout=5, reconnect_backoff=0.1)
    mariadb.execute("CREATE TABLE r (id INT PRIMARY KEY)", database=mariadb_db)
    source = LiveSource(uri, LiveSource(uri).server_position())
    stream = source.events()
    seen = []
    restarted = False
    deadline = time.monotonic() + 60
    for event in stream:
        seen.append(event)
        assert time.monotonic() < deadline, "no events after the restart"
        if event.type_code != et.HEARTBEAT:
            continue
        if not restarted:  # caught up: restart the server under the stream, then write
            mariadb.restart()
            mariadb.execute("INSERT INTO r VALUES (1), (2)", database=mariadb_db)
            restarted = True
        elif any(e.type_code == et.WRITE_ROWS_V1 for e in seen):
            break
    stream.close()
    assert source.reconnects >= 1
    assert isinstance(source.start, SourcePosition)
    expected = in_files(file_events(mariadb, source.start, source.position))
    assert in_files(seen) == expected  # nothing lost, nothing twice, across the restart
    assert et.STOP in [e.type_code for e in expected]


def test_gives_up_after_max_reconnects(mariadb: MariaDBServer) -> None:
    uri = mariadb.uri(server_id=109, heartbeat_interval=0.1, max_reconnects=2, reconnect_backoff=0.05)
    source = LiveSource(uri, LiveSource(uri).server_position())
    try:
        with pytest.raises(SourceError, match=r"gave up on server .* after 2 reconnect attempts") as info:
            for event in source.events():
                if event.type_code == et.HEARTBEAT and mariadb.running:
                    mariadb.stop()
    finally:
        mariadb.start()
    assert info.value.retryable
    assert source.reconnects == 2


def test_start_position_needs_a_file() -> None:
    with pytest.raises(ConfigError, match="needs a binlog file"):
        LiveSource("mysql://u:p@127.0.0.1:1/", SourcePosition("", 4))


def test_unreachable_server() -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"mysql://storagecdc:unreachable-secret@127.0.0.1:{port}/"
    began = time.monotonic()
    with pytest.raises(SourceError) as info:
        list(LiveSource(uri).events())
    assert time.monotonic() - began < 5
    assert info.value.retryable
    assert f"mysql://storagecdc:***@127.0.0.1:{port}/" in str(info.value)
    assert "unreachable-secret" not in "".join(traceback.format_exception(info.value))


def test_wrong_password(mariadb: MariaDBServer) -> None:
    source = LiveSource(mariadb.uri(password="wrong-secret-pw"))
    with pytest.raises(SourceError) as info:
        list(source.events())
    text = "".join(traceback.format_exception(info.value))
    assert "refused the login" in str(info.value)
    assert "Access denied" in str(info.value)
    assert not info.value.retryable
    assert "wrong-secret-pw" not in text + repr(source) + str(source.uri)
    with pytest.raises(SourceError, match="refused the login"):
        source.server_position()


def test_purged_binlog(mariadb_factory: Callable[..., MariaDBServer]) -> None:
    server = mariadb_factory()
    server.execute_script("CREATE DATABASE p; CREATE TABLE p.t (id INT PRIMARY KEY); INSERT INTO p.t VALUES (1);")
    server.flush_logs()
    server.flush_logs()
    server.purge_binlogs()
    assert [p.name for p in server.binlog_files()] == ["mysql-bin.000003"]

    with pytest.raises(ServerError) as info:
        list(LiveSource(server.uri(), SourcePosition("mysql-bin.000001", 4), blocking=False).events())
    assert info.value.code == 1236
    assert not info.value.retryable
    assert "mysql-bin.000001:4" in str(info.value) and "purged" in str(info.value)

    with pytest.raises(ServerError) as gtid_info:
        list(LiveSource(server.uri(), MariaDBGtidPos.parse("0-1-1"), blocking=False).events())
    assert gtid_info.value.code == 1236
    assert "0-1-1" in str(gtid_info.value)


def test_query_connection(mariadb: MariaDBServer, mariadb_db: str) -> None:
    source = LiveSource(mariadb.uri())
    with contextlib.closing(source.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s", (mariadb_db,))
        assert cur.fetchall() == ((mariadb_db,),)


def test_gtid_flavour_must_match_the_server(mariadb: MariaDBServer) -> None:
    mysql_set = MySQLGtidSet.parse("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")
    with pytest.raises(ConfigError, match="is MariaDB"):
        list(LiveSource(mariadb.uri(), mysql_set, blocking=False).events())


def test_close_from_another_thread_ends_a_blocking_stream(mariadb: MariaDBServer) -> None:
    uri = mariadb.uri(server_id=106, heartbeat_interval=30, read_timeout=60)
    source = LiveSource(uri, LiveSource(uri).server_position())
    timer = threading.Timer(0.5, source.close)
    timer.start()
    began = time.monotonic()
    events = list(source.events())  # the server is idle: only close() can end this
    assert time.monotonic() - began < 10
    assert events[0].type_code == et.ROTATE


def test_compressed_events_and_no_metadata(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=107)
    with mariadb.restarted(log_bin_compress="ON", log_bin_compress_min_len=10, binlog_row_metadata="NO_LOG"):
        start = LiveSource(uri).server_position()
        mariadb.execute_script(workload_sql(ALL_TYPES_DDL, mariadb_db))
        events, source = catch_up(uri, start)
        expected = file_events(mariadb, start, source.position)
    assert in_files(events) == in_files(expected)
    kinds = {e.type_code for e in events}
    assert {et.MARIA_QUERY_COMPRESSED, et.MARIA_WRITE_ROWS_COMPRESSED_V1, et.MARIA_UPDATE_ROWS_COMPRESSED_V1} <= kinds


def test_server_without_checksums(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=110)
    with mariadb.restarted(binlog_checksum="NONE"):
        start = LiveSource(uri).server_position()
        mariadb.execute_script("CREATE TABLE n (id INT PRIMARY KEY); INSERT INTO n VALUES (1), (2);",
                               database=mariadb_db)  # fmt: skip
        events, source = catch_up(uri, start)
        expected = file_events(mariadb, start, source.position)
    assert not source.state.checksum
    assert in_files(events) == in_files(expected)
    assert et.WRITE_ROWS_V1 in {e.type_code for e in events}


def test_event_larger_than_one_packet(mariadb: MariaDBServer, mariadb_db: str) -> None:
    uri = mariadb.uri(server_id=108)
    start = LiveSource(uri).server_position()
    mariadb.execute_script("CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB);"
                           "INSERT INTO big VALUES (1, REPEAT('x', 17000000));", database=mariadb_db)  # fmt: skip
    events, source = catch_up(uri, start)
    rows = [e for e in events if e.type_code == et.WRITE_ROWS_V1]
    assert len(rows) == 1 and rows[0].size > 1 << 24
    assert in_files(events) == in_files(file_events(mariadb, start, source.position))
