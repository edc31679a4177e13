"""The initial snapshot against the private MariaDB: taken while a writer changes every table, then the stream;
the output replayed into SQLite equals the server (``storagecdc verify``), also after a kill -9 mid-snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, MariaDBServer
from storagecdc.errors import SourceError
from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.runtime.replicate import replicate
from storagecdc.snapshot.point import take_point
from storagecdc.snapshot.reader import TablePlan
from storagecdc.snapshot.state import DONE, STARTED, SnapshotRecord, read_snapshot_record
from storagecdc.snapshot.workers import read_tables
from storagecdc.source.live import LiveSource
from storagecdc.storage import open_store
from storagecdc.storage.syncpoint import parse_syncpoint
from tests.snapshot.workload import BIG_ROWS, Writer, populate

pytestmark = pytest.mark.mariadb

CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]


def _config(server: MariaDBServer, db: str, out: Path, protocol: str = "parquet") -> ChangefeedConfig:
    return load_config(None, source=server.uri(), sink_uri=f"file://{out}?protocol={protocol}",
                       overrides={"snapshot": "initial", "filter": [f"{db}.*"]})


def _record(out: Path) -> SnapshotRecord | None:
    store = open_store(f"file://{out}", {})
    try:
        return read_snapshot_record(store)
    finally:
        store.close()


def _consume_and_verify(server: MariaDBServer, db: str, out: Path, protocol: str = "parquet") -> str:
    sink = f"file://{out}?protocol={protocol}"
    target = f"sqlite:///{out.parent / 'target.db'}"
    consumed = subprocess.run([*CLI, "consume", "--sink-uri", sink, "--target", target],
                              capture_output=True, text=True, timeout=300, check=False)
    assert consumed.returncode == 0, consumed.stderr[-3000:]
    verified = subprocess.run([*CLI, "verify", "--source", server.uri(), "--sink-uri", sink, "--target", target,
                               "--filter", f"{db}.*", "--wait", "60"],
                              capture_output=True, text=True, timeout=300, check=False)
    assert verified.returncode == 0, verified.stdout[-4000:] + verified.stderr[-2000:]
    return verified.stdout


@pytest.mark.parametrize("protocol", ["parquet", "csv"])
def test_snapshot_under_concurrent_writes_then_stream_equals_server(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, protocol: str
) -> None:
    """Parquet takes the Arrow path (text way, key ranges), CSV the row path (key ranges too)."""
    populate(mariadb, mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out, protocol)
    writer = Writer(mariadb, mariadb_db).start()
    try:
        first = replicate(config, until="now")
    finally:
        written = writer.stop()
    assert written > 0
    record = _record(out)
    assert record is not None and record.complete and record.attempts == 1
    assert {t.state for t in record.tables.values()} == {DONE}
    assert sorted(n.table for n in record.tables) == ["big", "composite", "nopk", "types"]
    assert record.tables[next(n for n in record.tables if n.table == "big")].rows >= BIG_ROWS - 1000
    assert first.checkpoint_ts >= record.rows_ts == record.start_ts + 1
    if protocol == "parquet":  # ``_seq``: each row's position among its table's snapshot rows, whatever the chunks
        files = sorted((out / mariadb_db / "big").rglob("*.parquet"))
        big = pa.concat_tables([pq.read_table(f) for f in files])
        rows = big.filter(pc.equal(big["_commit_ts"], record.rows_ts))
        assert rows["_seq"].to_pylist() == list(range(rows.num_rows))
        assert rows["id"].to_pylist() == sorted(rows["id"].to_pylist())
    second = replicate(config, until="now")
    assert second.resumed_from == first.checkpoint_ts
    report = _consume_and_verify(mariadb, mariadb_db, out, protocol)
    for table in ("big", "composite", "nopk", "types"):
        assert f"{mariadb_db}.{table}" in report


def test_no_snapshot_when_the_changefeed_resumes(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    mariadb.execute_script("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)", database=mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out)
    replicate(config, until="now")
    mariadb.execute(f"INSERT INTO `{mariadb_db}`.t VALUES (3)")
    again = replicate(config, until="now")
    assert again.counters.rows == 1  # only the streamed insert: the snapshot is not taken twice
    record = _record(out)
    assert record is not None and record.attempts == 1
    _consume_and_verify(mariadb, mariadb_db, out)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_stopped_mid_snapshot_then_restart_finishes_equal(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, stop: signal.Signals
) -> None:
    populate(mariadb, mariadb_db)
    out = tmp_path / "out"
    toml = tmp_path / "changefeed.toml"
    toml.write_text(
        f'[source]\nuri = "{mariadb.uri()}"\nsnapshot = "initial"\n'
        f'[sink]\nuri = "file://{out}?protocol=parquet&file-size=256KiB"\n[filter]\nrules = ["{mariadb_db}.*"]\n'
    )  # small files: some of the big table's rows are durable when the kill comes
    writer = Writer(mariadb, mariadb_db, seed=11).start()
    try:
        log = (tmp_path / "run.log").open("w")
        proc = subprocess.Popen([*CLI, "run", "--config", str(toml), "--no-progress"], stdout=log,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        killed_at: SnapshotRecord | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            record = _record(out)
            if record is not None and any(t.state == STARTED for t in record.tables.values()) and any(
                (out / mariadb_db / "big").rglob("*.parquet")
            ):
                os.kill(proc.pid, stop)
                killed_at = record
                break
            time.sleep(0.02)
        if killed_at is None:
            proc.kill()
        code = proc.wait(30)
        assert killed_at is not None, (tmp_path / "run.log").read_text()[-3000:]
        assert not killed_at.complete
        if stop == signal.SIGTERM:  # a clean stop: what is durable is recorded, exit 0, the rest is left
            assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
            stopped = _record(out)
            assert stopped is not None and not stopped.complete
        # the restart must take a new point: wait until the writer has moved the binlog past the first one
        first = _record(out)
        assert first is not None
        moved = time.monotonic() + 30
        while str(mariadb.execute("SHOW MASTER STATUS")[0][1]) == str(first.position.offset) and \
                time.monotonic() < moved:
            time.sleep(0.05)
        restarted = subprocess.run([*CLI, "run", "--config", str(toml), "--until", "now", "--no-progress"],
                                   capture_output=True, text=True, timeout=300, check=False)
        assert restarted.returncode == 0, restarted.stderr[-3000:]
    finally:
        writer.stop()
    record = _record(out)
    assert record is not None and record.complete and record.attempts == 2
    assert {t.state for t in record.tables.values()} == {DONE}
    big = record.tables[next(n for n in record.tables if n.table == "big")]
    assert big.read_at != record.position  # the rest was read at the new point
    assert big.earlier and big.earlier[0][1] == record.position  # after the largest key in storage
    versions = {f.parent.parent.name for f in (out / mariadb_db / "big").rglob("*.parquet")}
    assert len(versions) == 1  # continued, not truncated
    final = replicate(load_config(toml), until="now")
    assert final.resumed_from is not None
    _consume_and_verify(mariadb, mariadb_db, out)


@pytest.mark.parametrize("threads", [False, True], ids=["processes", "threads"])
def test_read_lock_point_agrees_with_the_lock_free_one(mariadb: MariaDBServer, mariadb_db: str, threads: bool) -> None:
    mariadb.execute_script("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)", database=mariadb_db)
    source = LiveSource(mariadb.uri(), None, blocking=False)
    locked = take_point(source, mariadb.uri(), 2, threads=threads, lock_free_attempts=0)
    free = take_point(source, mariadb.uri(), 2, threads=threads)
    try:
        assert locked.locked and not free.locked
        assert locked.position == free.position  # nothing was committed in between
        assert locked.position.gtid_set and locked.position.offset > 4
        mariadb.execute(f"INSERT INTO `{mariadb_db}`.t VALUES (2)")
        info = TableInfo(TableName(mariadb_db, "t"), (ColumnInfo("id", "INT", is_pk=True),), 0)
        for point in (locked, free):
            plans = [TablePlan(info, 0), TablePlan(info, 0)]  # one for each reader
            rows = [r for _, chunk in read_tables(point.workers, plans, 10) if chunk for r in chunk]
            assert rows == [(1,), (1,)]  # each reader sees the point, not the later insert
    finally:
        locked.close()
        free.close()


def test_started_tables_without_an_integer_key_are_truncated_and_read_again(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    """As if the first run had died before recording two tables done: the next run truncates them (one
    TRUNCATE version each), reads them again at a new point and drops their changes streamed before it."""
    populate(mariadb, mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out)
    replicate(config, until="now")
    store = open_store(f"file://{out}", {})
    try:
        record = read_snapshot_record(store)
        assert record is not None
        for name in record.tables:
            if name.table in ("nopk", "composite"):
                record.tables[name].state = STARTED
        record.complete = False
        record.save(store)
    finally:
        store.close()
    mariadb.execute_script(
        "INSERT INTO nopk VALUES (99, 'gap', 1.5); DELETE FROM composite WHERE a = 3;"
        "UPDATE composite SET b = 'moved' WHERE a = 4 AND b = 'k1'; INSERT INTO types (id) VALUES (5000)",
        database=mariadb_db)
    again = replicate(config, until="now")
    after = _record(out)
    assert after is not None and after.complete and after.attempts == 2
    assert after.rows_ts == record.rows_ts + 3  # two TRUNCATEs, then the rows
    for table in ("nopk", "composite"):
        versions = {f.parent.parent.name for f in (out / mariadb_db / table).rglob("*.parquet")}
        assert len(versions) == 2, table
    assert again.counters.ddl == 2
    _consume_and_verify(mariadb, mariadb_db, out)


@pytest.mark.parametrize("threads", [False, True], ids=["processes", "threads"])
def test_a_failing_read_names_the_table(mariadb: MariaDBServer, mariadb_db: str, threads: bool) -> None:
    source = LiveSource(mariadb.uri(), None, blocking=False)
    point = take_point(source, mariadb.uri(), 1, threads=threads)
    try:
        missing = TableInfo(TableName(mariadb_db, "gone"), (ColumnInfo("id", "INT", is_pk=True),), 0)
        with pytest.raises(SourceError, match=rf"reading {mariadb_db}\.gone: .*doesn't exist") as caught:
            list(read_tables(point.workers, [TablePlan(missing, 0)], 10))
        assert REPLICATION_PASSWORD not in str(caught.value)
    finally:
        point.close()


def test_snapshot_of_a_split_table(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    mariadb.execute_script("CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(10));"
                           "INSERT INTO s SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000", database=mariadb_db)
    out = tmp_path / "out"
    config = load_config(None, source=mariadb.uri(), sink_uri=f"file://{out}?protocol=parquet",
                         overrides={"snapshot": "when-needed", "filter": [f"{mariadb_db}.*"],
                                    "split_tables": [f"{mariadb_db}.s=2"]})
    first = replicate(config, until="now")
    assert first.counters.rows == 3000
    mariadb.execute(f"UPDATE `{mariadb_db}`.s SET v = 'new' WHERE id IN (1, 2999)")
    replicate(config, until="now")
    files = sorted(f.name for f in (out / mariadb_db / "s").rglob("*.parquet"))
    assert len({name.split("_")[1] for name in files}) == 2  # both spans wrote snapshot rows
    _consume_and_verify(mariadb, mariadb_db, out)


def test_a_table_created_again_between_the_points_stops_the_continued_snapshot(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    mariadb.execute_script("CREATE TABLE r (id INT PRIMARY KEY); INSERT INTO r VALUES (1), (2)", database=mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out)
    replicate(config, until="now")
    store = open_store(f"file://{out}", {})
    try:
        record = read_snapshot_record(store)
        assert record is not None and all(t.created for t in record.tables.values())
        for state in record.tables.values():
            state.state = STARTED
        record.complete = False
        record.save(store)
    finally:
        store.close()
    time.sleep(1.1)  # CREATE_TIME has seconds
    mariadb.execute_script("DROP TABLE r; CREATE TABLE r (id INT PRIMARY KEY); INSERT INTO r VALUES (3)",
                           database=mariadb_db)
    with pytest.raises(SourceError, match=rf"table {mariadb_db}\.r was dropped and created again"):
        replicate(config, until="now")


def test_a_syncpoint_after_the_snapshot_names_the_snapshot_files(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    """The snapshot's files are written by writers of its own, not by the tables' dispatchers: a syncpoint
    after it must still name them, also for a table that has no change after the snapshot."""
    mariadb.execute_script(
        "CREATE TABLE idle (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO idle SELECT seq, 'i' FROM seq_1_to_300;"
        "CREATE TABLE busy (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO busy SELECT seq, 'b' FROM seq_1_to_300",
        database=mariadb_db)
    out = tmp_path / "out"
    config = load_config(None, source=mariadb.uri(), sink_uri=f"file://{out}?protocol=parquet",
                         overrides={"snapshot": "initial", "filter": [f"{mariadb_db}.*"], "sync_point": True,
                                    "sync_point_interval": "1s"})
    replicate(config, until="now")
    for i in range(3):  # changes of one table only, across at least one syncpoint boundary
        mariadb.execute(f"INSERT INTO `{mariadb_db}`.busy VALUES ({1000 + i}, 'late')")
        time.sleep(0.6)
    result = replicate(config, until="now")
    assert result.counters.syncpoints >= 1
    markers = sorted((out / "_storagecdc" / "syncpoint").glob("*.json"))
    assert markers
    snapshot_files = {t: sorted(str(p.relative_to(out)) for p in (out / mariadb_db / t).rglob("*.parquet"))
                      for t in ("idle", "busy")}
    for key in markers:
        marker = parse_syncpoint(key.read_bytes(), str(key))
        named = {t.name.table: [f for files in t.spans.values() for f in files] for t in marker.tables}
        assert named["idle"] == snapshot_files["idle"][-1:]  # only the snapshot's files, and its last one
        assert named["busy"]  # the busy table's last file before the syncpoint
        assert all((out / f).is_file() for files in named.values() for f in files)
    _consume_and_verify(mariadb, mariadb_db, out)
