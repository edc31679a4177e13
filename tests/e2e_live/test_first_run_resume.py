"""A new live changefeed that is stopped (or ends with ``--until now``) before its first transaction must still
leave a resume record: running the same command again continues from where the first run started, so the
changes made in between are replicated (issue 5 §1: "nothing lost")."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from tests.e2e_live.harness import consume, sqlite_state, storagecdc

pytestmark = pytest.mark.mariadb


def test_changes_between_an_empty_first_run_and_the_next_are_replicated(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    uri = (tmp_path / "out").as_uri() + "?protocol=csv&include-commit-ts=true"
    run = ["run", "--source", mariadb.uri(), "--sink-uri", uri, "--filter", f"{mariadb_db}.*", "--until", "now"]
    first = storagecdc(*run)
    assert first.returncode == 0, first.stderr[-3000:]
    mariadb.execute_script("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10)); INSERT INTO t VALUES (1, 'x')",
                           database=mariadb_db)
    second = storagecdc(*run)
    assert second.returncode == 0, second.stderr[-3000:]
    consume(uri, f"sqlite:///{tmp_path / 'out.db'}")
    assert sqlite_state(tmp_path / "out.db", mariadb_db) == {"t": (("id", "a"), [("1", "x")])}
