"""``storagecdc verify`` against the private MariaDB: the workload replicated from the server's binlog files
is equal; a source changed without binlog, a changed or missing output data file and a changed target are
named; a lagging output makes verify wait and exit 3, and verifies once it catches up."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.cli import main
from storagecdc.config import load_config
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, MariaDBServer
from storagecdc.devtools.s3servers import SECRET_KEY
from storagecdc.model import SourcePosition
from storagecdc.runtime.replicate import replicate
from storagecdc.runtime.resume import RESUME_KEY, ResumeRecord
from storagecdc.source.txn import AssemblerState
from storagecdc.storage.local import LocalStore
from storagecdc.table_filter import TableFilter
from storagecdc.verify import CannotVerify, align
from tests.verify.workload import run_workload

pytestmark = pytest.mark.mariadb

QUERY = "protocol=csv&include-commit-ts=true&output-old-value=true"


def _replicate(server: MariaDBServer, db: str, out: Path, files: list[Path] | None = None, *,
               query: str = QUERY) -> str:
    return _replicate_to(server, db, f"file://{out}?{query}", files)


def _replicate_to(server: MariaDBServer, db: str, sink_uri: str, files: list[Path] | None = None) -> str:
    source = ",".join(str(p) for p in (files if files is not None else server.binlog_files()))
    replicate(load_config(None, source=source, sink_uri=sink_uri, overrides={"filter": [f"{db}.*"]}))
    return sink_uri


def _verify(capsys: pytest.CaptureFixture[str], server: MariaDBServer, db: str, sink_uri: str,
            *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", "--source", server.uri(), "--sink-uri", sink_uri, "--filter", f"{db}.*", *extra])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert REPLICATION_PASSWORD not in text
    return code, text


@pytest.fixture
def replicated(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> tuple[str, Path]:
    run_workload(mariadb, mariadb_db)
    out = tmp_path / "out"
    return _replicate(mariadb, mariadb_db, out), out


@pytest.mark.parametrize("query", [
    QUERY,
    "protocol=csv&output-old-value=true",  # no commit-ts: whole files up to the checkpoint
    "protocol=canal-json&enable-tidb-extension=true",
])
def test_replicated_workload_is_equal(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, query: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    run_workload(mariadb, mariadb_db)
    sink_uri = _replicate(mariadb, mariadb_db, tmp_path / "out", query=query)
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--chunk-size", "2")
    assert code == 0, text
    assert "source vs output" in text and ": equal" in text
    for table, rows in (("later", 2), ("nopk", 3), ("types", 4), ("words", 4)):
        line = next(line for line in text.splitlines() if line.startswith(f"{mariadb_db}.{table} "))
        assert line.split()[1:] == [str(rows), str(rows), "equal"]
    assert f"{mariadb_db}.gone" not in text


def test_parquet_zero_date_is_the_one_difference(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Parquet has no zero dates: the writer stores NULL (a documented limit), and verify names exactly that."""
    run_workload(mariadb, mariadb_db)
    sink_uri = _replicate(mariadb, mariadb_db, tmp_path / "out", query="protocol=parquet&output-old-value=true")
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri)
    assert code == 1, text
    assert "1 of 4 tables differ" in text and f"{mariadb_db}.types: rows differ" in text
    source = next(line for line in text.splitlines() if line.strip().startswith("source: (id='2'"))
    output = next(line for line in text.splitlines() if line.strip().startswith("output: (id='2'"))
    assert source.replace("dd='0000-00-00'", "dd=NULL").replace("source:", "output:") == output


def test_row_deleted_on_source_without_binlog_is_named(mariadb: MariaDBServer, mariadb_db: str,
                                                       replicated: tuple[str, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    mariadb.execute_script("SET SESSION sql_log_bin = 0; DELETE FROM words WHERE k = 'banana'; "
                           "UPDATE nopk SET s = 'other' WHERE a = 2", database=mariadb_db)
    code, text = _verify(capsys, mariadb, mariadb_db, replicated[0])
    assert code == 1, text
    assert f"{mariadb_db}.words: rows differ" in text
    assert "key k='banana':" in text
    assert "source: absent" in text and "output: (k='banana', n='2')" in text
    assert f"{mariadb_db}.nopk: rows differ" in text
    assert "source: (a='2', s='other')" in text and "output: absent" in text
    # the same change through the binlog is one the output has not replicated yet: a lag, not a difference
    mariadb.execute(f"DELETE FROM `{mariadb_db}`.words WHERE k = 'cherry'")
    code, text = _verify(capsys, mariadb, mariadb_db, replicated[0], "--wait", "0.3")
    assert code == 3 and "the output lags" in text, text


def test_changed_value_in_an_output_file_is_named(mariadb: MariaDBServer, mariadb_db: str,
                                                  replicated: tuple[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sink_uri, out = replicated
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (data,) = (copy / mariadb_db / "words").glob("*/*/CDC*.csv")
    text = data.read_text()
    assert '"tamper-me",4' in text
    data.write_text(text.replace('"tamper-me",4', '"tamper-me",5'))
    code, report = _verify(capsys, mariadb, mariadb_db, sink_uri.replace(str(out), str(copy)))
    assert code == 1, report
    assert "key k='tamper-me':" in report
    assert "source: (k='tamper-me', n='4')" in report and "output: (k='tamper-me', n='5')" in report


def test_missing_output_file_is_a_difference(mariadb: MariaDBServer, mariadb_db: str,
                                             replicated: tuple[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    sink_uri, out = replicated
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    versions = sorted((copy / mariadb_db / "types").glob("[0-9]*"))
    assert len(versions) == 2  # before and after the ALTER
    (data,) = versions[1].glob("*/CDC*.csv")
    data.unlink()
    code, report = _verify(capsys, mariadb, mariadb_db, sink_uri.replace(str(out), str(copy)))
    assert code == 1, report
    assert f"{mariadb_db}.types" in report and "key id='4':" in report


def test_consumed_target_is_compared_too(mariadb: MariaDBServer, mariadb_db: str, replicated: tuple[str, Path],
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink_uri, _ = replicated
    target = tmp_path / "target.db"
    assert main(["consume", "--sink-uri", sink_uri, "--target", f"sqlite:///{target}"]) == 0
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--target", f"sqlite:///{target}")
    assert code == 0, text
    assert "source vs output" in text and "target vs output" in text
    with sqlite3.connect(target) as db:
        db.execute(f'UPDATE "{mariadb_db}.later" SET v = ? WHERE id = 2', ("TWO",))
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--target", f"sqlite:///{target}")
    assert code == 1, text
    assert f"{mariadb_db}.later: rows differ" in text
    assert "target: (id='2', v='TWO')" in text and "output: (id='2', v='two')" in text
    assert "source vs output at" in text and "source vs output" in text.split("target vs output")[0]


def test_lagging_output_waits_then_exits_3_and_verifies_once_caught_up(
        mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_workload(mariadb, mariadb_db, rotate_between=True)
    files = mariadb.binlog_files()
    out = tmp_path / "out"
    sink_uri = _replicate(mariadb, mariadb_db, out, files[:-1])  # only the first half
    started = time.monotonic()
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "1")
    assert code == 3, text
    assert time.monotonic() - started >= 1.0
    assert "the output lags" in text and files[-1].name in text
    _replicate(mariadb, mariadb_db, out, files)  # resumes from the checkpoint and catches up
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "1")
    assert code == 0, text


def test_mysql_target_is_compared(mariadb: MariaDBServer, mariadb_db: str, replicated: tuple[str, Path],
                                  mariadb_factory: Callable[..., MariaDBServer],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    sink_uri, _ = replicated
    second = mariadb_factory()
    second.create_user("writer", "writer-secret", "ALL PRIVILEGES")
    target = f"mysql://writer:writer-secret@{second.host}:{second.port}/"
    assert main(["consume", "--sink-uri", sink_uri, "--target", target]) == 0
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--target", target)
    assert code == 0, text
    assert "writer-secret" not in text
    second.execute_script("SET SESSION sql_log_bin = 0; DELETE FROM nopk WHERE a = 1 LIMIT 1",
                          database=mariadb_db)
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--target", target)
    assert code == 1, text
    assert f"{mariadb_db}.nopk: rows differ" in text
    assert "target: (a='1', s='dup')" in text and "output: 2 x (a='1', s='dup')" in text


def test_output_past_every_snapshot_is_reported_as_a_moving_source(mariadb: MariaDBServer, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    ahead = AssemblerState(5, SourcePosition("mysql-bin.999999", 4, ""), "{}")
    store.put(RESUME_KEY, ResumeRecord(5, ahead, "mysql://x:***@h:1/", "cf").to_json())
    with pytest.raises(CannotVerify, match=r"the source moved during every one of \d+ snapshots"):
        align(mariadb.uri(), store, TableFilter(), wait_s=0.3, poll_s=0.05)


def test_bad_target_and_missing_sides_are_config_errors(mariadb: MariaDBServer, replicated: tuple[str, Path],
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink_uri, _ = replicated
    assert main(["verify", "--sink-uri", sink_uri]) == 2
    assert main(["verify", "--sink-uri", sink_uri, "--target", f"sqlite:///{tmp_path}/none.db"]) == 2
    assert not (tmp_path / "none.db").exists()
    assert "no such SQLite file" in capsys.readouterr().err


def test_running_live_changefeed_is_verified_while_the_source_is_written(
        mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The continuous check: ``run`` follows the server in its own process; verify re-takes its snapshot while
    writes keep moving the source, and compares once the changefeed has caught up with one."""
    out = tmp_path / "out"
    sink_uri = f"file://{out}?{QUERY}&flush-interval=200ms"
    ((file, offset, *_),) = mariadb.execute("SHOW MASTER STATUS")
    run = subprocess.Popen(
        [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))",
         "run", "--source", mariadb.uri(), "--sink-uri", sink_uri, "--filter", f"{mariadb_db}.*",
         "--start", f"{file}:{offset}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run_workload(mariadb, mariadb_db)

        def write() -> None:
            for i in range(30):
                mariadb.execute(f"INSERT INTO `{mariadb_db}`.later VALUES ({100 + i}, 'w{i}')")
                time.sleep(0.03)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "30")
        finally:
            writer.join()
        assert code == 0, text
        later = next(line for line in text.splitlines() if line.startswith(f"{mariadb_db}.later "))
        assert int(later.split()[1]) >= 2
        code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "30")
        assert code == 0, text
        later = next(line for line in text.splitlines() if line.startswith(f"{mariadb_db}.later "))
        assert later.split()[1:] == ["32", "32", "equal"]
    finally:
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err.decode()


@pytest.mark.s3
def test_output_on_s3_is_verified(mariadb: MariaDBServer, mariadb_db: str,
                                  store_uri_factory: Callable[[str], str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    run_workload(mariadb, mariadb_db)
    sink_uri = _replicate_to(mariadb, mariadb_db, f"{store_uri_factory('moto')}&{QUERY}")
    code, text = _verify(capsys, mariadb, mariadb_db, sink_uri)
    assert code == 0, text
    assert ": equal" in text and SECRET_KEY not in text


def test_idle_rotation_and_writes_to_other_tables_do_not_hold_verify_back(
        mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = f"{mariadb_db}_other"[:64]
    mariadb.execute_script(f"DROP DATABASE IF EXISTS `{other}`; CREATE DATABASE `{other}`; "
                           f"CREATE TABLE `{other}`.o (id INT PRIMARY KEY)")
    try:
        run_workload(mariadb, mariadb_db)
        sink_uri = _replicate(mariadb, mariadb_db, tmp_path / "out")
        mariadb.flush_logs()
        mariadb.execute(f"INSERT INTO `{other}`.o VALUES (1), (2)")
        mariadb.flush_logs()
        code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "0.3")
        assert code == 0, text
        mariadb.execute(f"ALTER TABLE `{other}`.o ADD COLUMN x INT")  # a DDL: the gap is not provably empty
        code, text = _verify(capsys, mariadb, mariadb_db, sink_uri, "--wait", "0.3")
        assert code == 3 and "the output lags" in text, text
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS `{other}`")
