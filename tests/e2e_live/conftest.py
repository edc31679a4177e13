"""The live run every test of this folder reads: one private MariaDB, one workload, four changefeeds.

``live`` (package scope) starts a private MariaDB (its binlog then holds only this workload), creates the
database (and ``OTHER_DB``, which every changefeed filters out) and starts three live changefeeds with
``storagecdc run`` before any table exists: CSV to moto's S3 server, Parquet to moto and canal-json to
SeaweedFS, each with ``sbtest1`` split 4 ways, ``sbtest2`` 3 ways and a syncpoint every second. Then
``sysbench prepare``, then sysbench ``oltp_write_only`` with the DDL script at the same time
(``workload.py``). In the middle of the workload the CSV changefeed is stopped with SIGTERM and started
again with the same command; after the workload every changefeed is stopped with SIGTERM and finished with
``--until now``. Last, the server's binlog files are replicated by a file-source run to a local directory.
The tests consume and compare; nothing here asserts more than that each step ran.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storagecdc.devtools.mariadb import INSTALL_HINT, MariaDBError, MariaDBServer, mariadb_available
from storagecdc.devtools.s3servers import MotoServer, SeaweedFS
from tests.e2e_live.harness import (
    Changefeed,
    Consumed,
    State,
    binlog_dumps,
    checkpoint,
    consume,
    objects,
    server_state,
    sqlite_state,
    storagecdc,
    wait_for_binlog_dumps,
    wait_for_checkpoint,
)
from tests.e2e_live.workload import DB, Workload, prepare
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix

OTHER_DB = "e2e_live_other"
"""A database the changefeeds filter out."""
STOP_AFTER_S = 2.0
"""The CSV changefeed's first run is stopped this long into the workload."""
LIVE_AFTER_RESTART_S = 1.0
"""The workload goes on this long after the restarted CSV changefeed's checkpoint moved."""
SPLIT = ["--split-table", f"{DB}.sbtest1=4", "--split-table", f"{DB}.sbtest2=3"]
FLAGS = [*SPLIT, "--sync-point-interval", "1s", "--filter", f"{DB}.*"]
FAST_FLUSH = "flush-interval=500ms"


@dataclass
class LiveRun:
    server: MariaDBServer
    csv: Changefeed
    csv_uri: str
    parquet: Changefeed
    parquet_uri: str
    seaweed: Changefeed
    seaweed_uri: str
    files_uri: str
    files_run: tuple[int, str]
    state: State
    """The server's final state of ``DB``."""
    snapshots: list[dict[str, str]]
    """The CSV sink's objects after the mid-workload stop, after the stop at the end, after ``--until now``."""
    workload_running_at_stop: bool
    restarted_while_running: bool
    """The restarted CSV changefeed was streaming from the server while sysbench still ran."""
    tmp: Path
    timings: dict[str, float] = field(default_factory=dict)


def _start_server() -> MariaDBServer:
    problem = mariadb_available()
    if problem:
        pytest.fail(f"MariaDB is required for this test: {problem}", pytrace=False)
    server = MariaDBServer()  # in the system temp dir: a concurrent pytest makes its own base temp dir 0700
    try:
        server.start()
    except MariaDBError as e:
        server.close()
        pytest.fail(f"MariaDB would not start ({INSTALL_HINT} if it is missing): {e}", pytrace=False)
    return server


def _feed(name: str, source: str, uri: str, log_dir: Path) -> Changefeed:
    return Changefeed(name, ["run", "--source", source, "--sink-uri", uri, *FLAGS], log_dir)


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer, seaweedfs: SeaweedFS) -> Iterator[LiveRun]:
    tmp = tmp_path_factory.mktemp("e2e-live")
    server = _start_server()
    clock = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 2)
        clock = now

    server.execute(f"CREATE DATABASE `{DB}`")
    server.execute_script(f"CREATE DATABASE `{OTHER_DB}`; CREATE TABLE `{OTHER_DB}`.u (id INT PRIMARY KEY)")
    source = server.uri()
    csv_uri = moto_server.store_uri(TEST_BUCKET, fresh_prefix("live-csv")) + \
        f"&protocol=csv&include-commit-ts=true&{FAST_FLUSH}"
    parquet_uri = moto_server.store_uri(TEST_BUCKET, fresh_prefix("live-parquet")) + "&protocol=parquet"
    seaweed_uri = seaweedfs.store_uri(TEST_BUCKET, fresh_prefix("live-canal"), **{"retry-deadline": "20"}) + \
        "&protocol=canal-json&enable-tidb-extension=true"
    feeds = [
        _feed("csv", source, csv_uri, tmp),
        _feed("parquet", source, parquet_uri, tmp),
        _feed("seaweed", source, seaweed_uri, tmp),
    ]
    csv = feeds[0]
    workload: Workload | None = None
    try:
        for feed in feeds:
            feed.start()
        wait_for_binlog_dumps(server, len(feeds))
        lap("start changefeeds")
        prepare(server)
        lap("sysbench prepare")
        workload = Workload(server, tmp)
        workload.start()
        time.sleep(STOP_AFTER_S)
        assert csv.stop() == 0, csv.runs[-1][2][-3000:]
        stopped_at = checkpoint(csv_uri)
        running = workload.running
        snapshots = [objects(csv_uri)]
        before = frozenset(binlog_dumps(server))
        csv.start()
        wait_for_binlog_dumps(server, 1, besides=before)
        restarted_while_running = workload.running
        wait_for_checkpoint(csv_uri, above=stopped_at)  # it streams, its SIGTERM handler is in place
        time.sleep(LIVE_AFTER_RESTART_S)
        workload.stop()
        lap("workload")
        for feed in feeds:
            assert feed.stop() == 0, feed.runs[-1][2][-3000:]
        snapshots.append(objects(csv_uri))
        lap("stop")
        with concurrent.futures.ThreadPoolExecutor(len(feeds)) as pool:
            codes = list(pool.map(Changefeed.finish, feeds))
        assert codes == [0] * len(feeds), [f.runs[-1][2][-3000:] for f in feeds]
        snapshots.append(objects(csv_uri))
        lap("--until now")
        files_uri = (tmp / "file-source").as_uri() + "?protocol=csv&include-commit-ts=true"
        binlogs = ",".join(str(p) for p in server.binlog_files())
        done = storagecdc("run", "--source", binlogs, "--sink-uri", files_uri, *FLAGS)
        lap("file-source run")
        yield LiveRun(
            server=server,
            csv=csv,
            csv_uri=csv_uri,
            parquet=feeds[1],
            parquet_uri=parquet_uri,
            seaweed=feeds[2],
            seaweed_uri=seaweed_uri,
            files_uri=files_uri,
            files_run=(done.returncode, done.stderr),
            state=server_state(server, DB),
            snapshots=snapshots,
            workload_running_at_stop=running,
            restarted_while_running=restarted_while_running,
            tmp=tmp,
            timings=timings,
        )
    finally:
        if workload is not None:
            workload.kill()
        for feed in feeds:
            feed.kill()
        server.close()


@dataclass(frozen=True)
class Replayed:
    """One sink consumed into a fresh SQLite database: the consumer's counts and the database's tables."""

    consumed: Consumed
    state: State


def replay_sqlite(uri: str, path: Path) -> Replayed:
    consumed = consume(uri, f"sqlite:///{path}")
    return Replayed(consumed, sqlite_state(path, DB))


@pytest.fixture(scope="package")
def csv_replayed(live: LiveRun) -> Replayed:
    """The live CSV output (stopped and restarted mid-workload) consumed into SQLite."""
    return replay_sqlite(live.csv_uri, live.tmp / "csv.db")


@pytest.fixture(scope="package")
def files_replayed(live: LiveRun) -> Replayed:
    """The file-source run's output consumed into SQLite."""
    assert live.files_run[0] == 0, live.files_run[1][-3000:]
    return replay_sqlite(live.files_uri, live.tmp / "files.db")
