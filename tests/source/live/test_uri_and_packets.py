"""The live source's URI parsing/redaction and its replication packets, without a server."""

from __future__ import annotations

import struct

import pytest
from pymysqlreplication.gtid import GtidSet

from storagecdc.errors import ConfigError
from storagecdc.source.gtid import MySQLGtidSet
from storagecdc.source.replication_protocol import (
    COM_BINLOG_DUMP,
    COM_BINLOG_DUMP_GTID,
    COM_REGISTER_SLAVE,
    binlog_dump,
    binlog_dump_gtid,
    parse_error,
    register_slave,
)
from storagecdc.source.replication_uri import ReplicationUri, redact

SECRET = "s3cr3t/p@ss:w?rd"


def test_parse_full_uri() -> None:
    uri = ReplicationUri.parse(
        "mysql://repl:s3cr3t%2Fp%40ss%3Aw%3Frd@db.example:3307/?server-id=42&heartbeat_interval=0.5"
        "&read-timeout=5&connect-timeout=2&max-reconnects=-1&reconnect-backoff=0.1&reconnect-backoff-max=3"
    )
    assert (uri.host, uri.port, uri.user, uri.password, uri.server_id) == ("db.example", 3307, "repl", SECRET, 42)
    assert (uri.heartbeat_interval, uri.read_timeout, uri.connect_timeout) == (0.5, 5.0, 2.0)
    assert (uri.max_reconnects, uri.reconnect_backoff, uri.reconnect_backoff_max) == (-1, 0.1, 3.0)


def test_defaults() -> None:
    uri = ReplicationUri.parse("mysql://u:p@h/")
    assert uri.port == 3306
    assert 1 <= uri.server_id < 1 << 32
    assert uri.heartbeat_interval == 1.0
    assert uri.read_timeout == 10.0
    assert ReplicationUri.parse("mysql://u:p@h/?heartbeat-interval=20").read_timeout == 60.0


def test_password_is_never_shown() -> None:
    raw = "mysql://repl:s3cr3t%2Fp%40ss%3Aw%3Frd@db:3306/?server-id=7"
    uri = ReplicationUri.parse(raw)
    for text in (str(uri), repr(uri), uri.redacted(), redact(raw)):
        assert "s3cr3t" not in text
    assert uri.redacted() == "mysql://repl:***@db:3306/"
    assert redact("mysql://u:pa@ss/x@h:1/?a=1") == "mysql://u:***@h:1/?a=1"


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("http://u:hunter2@h/", "scheme"),
        ("mysql://u:hunter2@/", "no host"),
        ("mysql://:hunter2@h/", "no user"),
        ("mysql://u:hunter2@h/db", "path"),
        ("mysql://u:hunter2@h:99999/", "Port"),
        ("mysql://u:hunter2@h/?sever-id=1", "unknown option 'sever-id'"),
        ("mysql://u:hunter2@h/?server-id=x", "not a number"),
        ("mysql://u:hunter2@h/?server-id=0", "server-id"),
        ("mysql://u:hunter2@h/?heartbeat-interval=0", "heartbeat-interval"),
        ("mysql://u:hunter2@h/?heartbeat-interval=5&read-timeout=5", "read-timeout"),
    ],
)
def test_bad_uris(uri: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        ReplicationUri.parse(uri)
    assert needle in str(info.value)
    assert "hunter2" not in str(info.value)


def test_register_slave_layout() -> None:
    packet = register_slave(0xDEADBEEF)
    assert packet == bytes([COM_REGISTER_SLAVE]) + struct.pack("<I", 0xDEADBEEF) + b"\0\0\0" + bytes(10)


def test_binlog_dump_layout() -> None:
    packet = binlog_dump("mysql-bin.000042", 1234, 99, 0x03)
    assert packet == bytes([COM_BINLOG_DUMP]) + struct.pack("<IHI", 1234, 3, 99) + b"mysql-bin.000042"


def test_binlog_dump_gtid_layout_and_sid_block() -> None:
    text = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7,57b70f4e-20d3-11e5-a393-4a63946f7eac:1-3"
    block = MySQLGtidSet.parse(text).encode_sid_block()
    assert block == GtidSet(text).encoded()  # mysql-replication as the oracle for the SID block format
    packet = binlog_dump_gtid(block, 5, 0x01)
    header = struct.pack("<BHII", COM_BINLOG_DUMP_GTID, 0x05, 5, 0) + struct.pack("<QI", 4, len(block))
    assert packet == header + block


def test_error_packet() -> None:
    payload = b"\xff" + struct.pack("<H", 1236) + b"#HY000" + b"Could not find first log file name"
    error = parse_error(payload, "mysql://u:***@h:1/")
    assert error.code == 1236
    assert error.server_message == "Could not find first log file name"
    assert "error 1236" in str(error)
    assert "mysql://u:***@h:1/" in str(error)
