"""Scenario 2: the same live workload written as Parquet to moto. DuckDB reads the Parquet files of
``sbtest1`` (split 4 ways, five table versions from ADD/DROP/MODIFY COLUMN) and rebuilds its final state with
SQL alone (the latest change of every key by ``_commit_ts`` then ``_seq``, deletes dropped, the column added
with a default filled in for rows last changed before it): equal to the server's table. The consumer's replay
of the Parquet output equals the server too."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from storagecdc.storage import open_store
from tests.e2e_live.conftest import LiveRun, replay_sqlite
from tests.e2e_live.harness import differences, normalised
from tests.e2e_live.workload import DB

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

REBUILD = """
SELECT id, k, c, pad, COALESCE(note, 'fresh') AS note
FROM (
    SELECT *, row_number() OVER (PARTITION BY id ORDER BY _commit_ts DESC, _seq DESC) AS latest
    FROM read_parquet($files, union_by_name = true)
)
WHERE latest = 1 AND _op <> 'D'
"""


def _download(uri: str, table: str, dest: Path) -> list[str]:
    """The table's Parquet data files of every version and span, copied to ``dest`` with their key as name."""
    store = open_store(uri)
    try:
        keys = [i.key for i in store.list(f"{DB}/{table}/") if i.key.endswith(".parquet")]
        paths = []
        for key in keys:
            path = dest / key.replace("/", "__")
            path.write_bytes(store.get(key))
            paths.append(str(path))
        return paths
    finally:
        store.close()


def test_duckdb_rebuilds_split_table_from_parquet(live: LiveRun, tmp_path: Path) -> None:
    files = _download(live.parquet_uri, "sbtest1", tmp_path)
    spans = {Path(f).name.split("CDC_")[1].rsplit("_", 1)[0] for f in files}
    assert len(spans) >= 4, f"sbtest1 is split 4 ways, files from {sorted(spans)}"
    rows = duckdb.execute(REBUILD, {"files": files}).fetchall()
    columns, want = live.state["sbtest1"]
    assert columns == ("id", "k", "c", "pad", "note")
    got = normalised(rows)
    assert len(got) == len(want)
    assert got == want


def test_parquet_replays_into_sqlite_equal_to_server(live: LiveRun) -> None:
    replayed = replay_sqlite(live.parquet_uri, live.tmp / "parquet.db")
    assert differences(replayed.state, live.state) == []
