"""Scenario 1: sysbench ``oltp_write_only`` on four tables with concurrent DDL (ADD/DROP/MODIFY COLUMN, RENAME
and back, TRUNCATE, DROP/CREATE), replicated live by ``storagecdc run`` to moto's S3 server with one table
split 4 ways, another 3 ways and syncpoints every second, consumed into SQLite and into a second MariaDB:
both equal the source server's final state, table by table (and ``storagecdc verify`` agrees when present)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from tests.e2e_live.conftest import OTHER_DB, LiveRun, Replayed
from tests.e2e_live.harness import (
    Changefeed,
    consume,
    differences,
    dispatchers,
    keys,
    server_state,
    storagecdc,
    syncpoints,
)
from tests.e2e_live.workload import DB, TABLES

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

CONSUMER_PASSWORD = "e2e-live-consumer-pw"
PROGRESS_DB = "e2e_live_progress"


def test_workload_reached_every_table_and_ddl(live: LiveRun, record_property: Callable[[str, object], None]) -> None:
    record_property("e2e_live_timings_s", live.timings)  # the fixture's phases, in the junit report
    tables = set(live.state)
    assert tables == {f"sbtest{i}" for i in range(1, TABLES + 1)} | {"scratch"}
    assert live.state["sbtest1"][0] == ("id", "k", "c", "pad", "note")
    assert live.state["sbtest2"][0] == ("id", "k", "c", "pad", "flag")
    assert live.state["sbtest3"][0] == ("id", "k", "c", "pad", "price")
    assert live.state["scratch"][1] == [("10", "101", "new"), ("20", "200", "new")]
    for feed in (live.csv, live.parquet, live.seaweed):
        assert [code for _, code, _ in feed.runs] == [0] * len(feed.runs), feed.name


@pytest.mark.parametrize("sink", ["csv_uri", "parquet_uri", "seaweed_uri", "files_uri"])
def test_split_tables_and_syncpoints_in_every_output(live: LiveRun, sink: str) -> None:
    """sbtest1 over 4 dispatchers, sbtest2 over 3, the others whole; a syncpoint marker every second or so."""
    object_keys = keys(getattr(live, sink))
    assert len(dispatchers(object_keys, "sbtest1")) == 4
    assert len(dispatchers(object_keys, "sbtest2")) == 3
    assert dispatchers(object_keys, "sbtest3") == dispatchers(object_keys, "sbtest4") == {""}
    assert len(syncpoints(object_keys)) >= 3


def test_live_csv_replays_into_sqlite_equal_to_server(live: LiveRun, csv_replayed: Replayed) -> None:
    assert differences(csv_replayed.state, live.state) == []
    assert csv_replayed.consumed.ddl > 0 and csv_replayed.consumed.rows > 0


@pytest.fixture
def second_mariadb(mariadb: MariaDBServer) -> Iterator[tuple[MariaDBServer, str]]:
    """The session's MariaDB as the replay target (the source is a private server of its own)."""
    for db in (DB, PROGRESS_DB):
        mariadb.execute(f"DROP DATABASE IF EXISTS `{db}`")
    mariadb.create_user("e2e_consumer", CONSUMER_PASSWORD, "ALL PRIVILEGES")
    yield mariadb, mariadb.uri("e2e_consumer", CONSUMER_PASSWORD) + PROGRESS_DB
    for db in (DB, PROGRESS_DB):
        mariadb.execute(f"DROP DATABASE IF EXISTS `{db}`")


def test_live_csv_replays_into_second_mariadb_equal_to_server(
    live: LiveRun, second_mariadb: tuple[MariaDBServer, str], csv_replayed: Replayed
) -> None:
    target_server, target = second_mariadb
    consumed = consume(live.csv_uri, target)
    assert differences(server_state(target_server, DB), live.state) == []
    assert consumed.rows == csv_replayed.consumed.rows
    again = consume(live.csv_uri, target)
    assert again.rows == 0, "progress lives in the target: a second consume applies nothing"
    verified = storagecdc("verify", "--sink-uri", live.csv_uri, "--target", target, "--filter", f"{DB}.*")
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]


SINKS = ["csv_uri", "parquet_uri", "seaweed_uri"]


@pytest.mark.parametrize("sink", SINKS)
def test_verify_reports_source_equal_to_output(live: LiveRun, sink: str) -> None:
    done = storagecdc("verify", "--source", live.server.uri(), "--sink-uri", getattr(live, sink), "--filter",
                      f"{DB}.*", "--wait", "10")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sbtest1" in done.stdout


def test_verify_reports_consumed_sqlite_equal_to_output(live: LiveRun, csv_replayed: Replayed) -> None:
    done = storagecdc("verify", "--sink-uri", live.csv_uri, "--target", f"sqlite:///{live.tmp / 'csv.db'}",
                      "--filter", f"{DB}.*")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_verify_after_an_idle_binlog_rotation_and_writes_to_other_tables(live: LiveRun) -> None:
    """Last in this folder's order: it writes to a filtered-out table of the source, rotates its binlog and runs
    the CSV changefeed once more; the output is still complete (fixed in verify by e56395e: it was exit 3)."""
    again = Changefeed("csv-again", live.csv.argv, live.tmp)
    live.server.execute(f"INSERT INTO `{OTHER_DB}`.u VALUES (1), (2)")
    live.server.flush_logs()
    assert again.finish() == 0, again.runs[-1][2]
    done = storagecdc("verify", "--source", live.server.uri(), "--sink-uri", live.csv_uri, "--filter", f"{DB}.*",
                      "--wait", "10")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
