"""The private MariaDB server the tests and benchmarks use."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from storagecdc.devtools.mariadb import MariaDBError, MariaDBServer
from tests.workloads import ALL_TYPES_DDL, ALL_TYPES_DDL_TABLES, workload_sql

pytestmark = pytest.mark.mariadb


def test_session_server_settings(mariadb: MariaDBServer) -> None:
    row = mariadb.execute(
        "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@binlog_checksum, "
        "@@bind_address, @@port, @@socket"
    )[0]
    assert row == (1, "ROW", "FULL", "FULL", "CRC32", "127.0.0.1", mariadb.port, str(mariadb.socket_path))
    assert mariadb.uri() == f"mysql://storagecdc:storagecdc-test-secret@127.0.0.1:{mariadb.port}/"
    assert mariadb.uri("u", "p w", server_id=9) == f"mysql://u:p%20w@127.0.0.1:{mariadb.port}/?server-id=9"
    grants = " ".join(r[0] for r in mariadb.execute("SHOW GRANTS FOR 'storagecdc'@'%'"))
    assert "REPLICATION SLAVE" in grants
    assert "BINLOG MONITOR" in grants or "REPLICATION CLIENT" in grants


def test_binlog_files_and_flush(mariadb: MariaDBServer) -> None:
    before = mariadb.binlog_files()
    mariadb.flush_logs()
    after = mariadb.binlog_files()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1
    assert all(p.is_file() for p in after)
    assert after[-1].name == mariadb.execute("SHOW MASTER STATUS")[0][0]


def test_workload_runs(mariadb: MariaDBServer, mariadb_db: str) -> None:
    mariadb.execute_script(workload_sql(ALL_TYPES_DDL, mariadb_db))
    tables = {r[0] for r in mariadb.execute("SHOW TABLES", database=mariadb_db)}
    assert tables == set(ALL_TYPES_DDL_TABLES)
    assert mariadb.execute("SELECT COUNT(*) FROM t_ctas", database=mariadb_db) == [(150,)]


def test_script_error_names_the_statement(mariadb: MariaDBServer, mariadb_db: str) -> None:
    with pytest.raises(Exception, match="no_such_table") as info:
        mariadb.execute_script("SELECT 1; SELECT 2; SELECT * FROM no_such_table", database=mariadb_db)
    assert "in statement 3 of the script" in info.value.__notes__[0]


def test_restarted_with_other_settings_and_restored(mariadb: MariaDBServer) -> None:
    port = mariadb.port
    with mariadb.restarted(binlog_row_metadata="NO_LOG", log_bin_compress="ON") as server:
        assert server.execute("SELECT @@binlog_row_metadata, @@log_bin_compress") == [("NO_LOG", 1)]
        assert server.port == port
    assert mariadb.execute("SELECT @@binlog_row_metadata, @@log_bin_compress") == [("FULL", 0)]
    assert mariadb.port == port


def test_second_instance(mariadb: MariaDBServer, mariadb_factory: Callable[..., MariaDBServer]) -> None:
    other = mariadb_factory(binlog_row_image="MINIMAL", server_id=2)
    assert other.port != mariadb.port
    assert other.execute("SELECT @@binlog_row_image, @@server_id") == [("MINIMAL", 2)]
    pid = other.pid
    assert pid is not None
    other.stop()
    assert not other.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_start_failure_shows_the_error_log() -> None:
    server = MariaDBServer(settings={"no_such_server_option": 1})
    try:
        with pytest.raises(MariaDBError) as info:
            server.start()
        text = str(info.value)
        assert "cannot start MariaDB" in text
        assert "no_such_server_option" in text or "no-such-server-option" in text
        assert not server.running
    finally:
        server.close()
