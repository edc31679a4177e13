"""Reader threads (``snapshot.thread_reader``) against the private MariaDB: they read as a reader process does,
``close`` stops one in the middle of a table at once, its connection closed, and a changefeed uses them when
few rows must be read the row way (``snapshot.reader_kind``)."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import ColumnInfo, TableInfo, TableName, make_ts
from storagecdc.snapshot.reader import ArrowTarget, TablePlan
from storagecdc.snapshot.reader_kind import use_threads
from storagecdc.snapshot.thread_reader import ThreadReader
from storagecdc.source.live import LiveSource

pytestmark = pytest.mark.mariadb


def _reader_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("snapshot reader thread")}


def test_close_in_the_middle_of_a_table_stops_the_thread(mariadb: MariaDBServer, mariadb_db: str) -> None:
    mariadb.execute_script(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));"
        "INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_5000", database=mariadb_db)
    info = TableInfo(TableName(mariadb_db, "t"), (ColumnInfo("id", "INT", is_pk=True, nullable=False),
                                                  ColumnInfo("v", "VARCHAR", charset="utf8mb4")), 0)
    reader = ThreadReader(mariadb.uri(), 7)
    try:
        reader.ready()
        assert reader.mariadb
        reader.send("begin")
        assert reader.expect("pos")[1] > 4
        reader.send("read", TablePlan(info, 5000, arrow=ArrowTarget(make_ts(1), False)), 10)
        kind, batch = reader.receive()
        assert kind == "batch" and isinstance(batch, pa.RecordBatch)
        assert batch.column("id").to_pylist() == list(range(1, 11))
        assert "snapshot reader thread 7" in _reader_threads()  # blocked: its outbox is full
        conn = reader._side.conn
        assert conn is not None
        session = conn.thread_id()
    finally:
        started = time.monotonic()
        reader.close()
    assert time.monotonic() - started < 5
    assert "snapshot reader thread 7" not in _reader_threads()
    deadline = time.monotonic() + 5
    while mariadb.execute("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", [session]):
        assert time.monotonic() < deadline, "the reader's session is still open"  # its connection is closed
        time.sleep(0.05)


def _chosen(server: MariaDBServer, db: str, protocol: str) -> bool:
    overrides = {"snapshot": "initial", "filter": [f"{db}.*"]}
    config = load_config(None, source=server.uri(), sink_uri=f"file:///unused?protocol={protocol}",
                         overrides=overrides)
    conn = LiveSource(server.uri(), None, blocking=False).connect()
    try:
        return use_threads(conn, config)
    finally:
        conn.close()


def test_readers_are_threads_unless_many_rows_lack_a_key(mariadb: MariaDBServer, mariadb_db: str) -> None:
    mariadb.execute_script(
        "CREATE TABLE keyed (id INT PRIMARY KEY); INSERT INTO keyed SELECT seq FROM seq_1_to_2000;"
        "CREATE TABLE loose (v INT); INSERT INTO loose SELECT seq FROM seq_1_to_100;"
        "ANALYZE TABLE keyed, loose", database=mariadb_db)
    assert _chosen(mariadb, mariadb_db, "parquet")  # 100 of 2,100 rows without a key
    assert not _chosen(mariadb, mariadb_db, "csv")  # the row way: processes
    mariadb.execute_script("INSERT INTO loose SELECT seq FROM seq_1_to_1000; ANALYZE TABLE loose",
                           database=mariadb_db)
    assert not _chosen(mariadb, mariadb_db, "parquet")  # 1,100 of 3,100
