"""``storagecdc run --snapshot --until now``: existing rows first, then the changes after them, from the CLI."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storagecdc.cli import main
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, MariaDBServer


@pytest.mark.mariadb
def test_snapshot_flag_reads_existing_rows_then_streams(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mariadb.execute_script(
        f"CREATE TABLE `{mariadb_db}`.pre (id INT PRIMARY KEY, v VARCHAR(10));"
        f"INSERT INTO `{mariadb_db}`.pre VALUES (1, 'one'), (2, 'two'), (3, 'three');"
    )
    uri = f"{(tmp_path / 'out').as_uri()}?protocol=csv&include-commit-ts=true"
    source = mariadb.uri()
    args = ["run", "--source", source, "--sink-uri", uri, "--filter", f"{mariadb_db}.*", "--no-progress",
            "--until", "now"]
    assert main([*args, "--snapshot"]) == 0
    mariadb.execute_script(f"UPDATE `{mariadb_db}`.pre SET v = 'TWO' WHERE id = 2; DELETE FROM `{mariadb_db}`.pre "
                           "WHERE id = 3;")
    assert main(args) == 0  # resumes from the snapshot's position: no second snapshot, the two changes
    db = tmp_path / "replay.db"
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}"]) == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f'SELECT id, v FROM "{mariadb_db}.pre" ORDER BY id').fetchall()
    assert rows == [(1, "one"), (2, "TWO")]
    out = capsys.readouterr()
    assert REPLICATION_PASSWORD not in out.err + out.out
