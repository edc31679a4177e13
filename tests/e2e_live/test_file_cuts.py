"""Data files cut by ``file-size`` end at a transaction boundary (docs/output-format.md: "a transaction is never
split across files of one table unless it alone exceeds file-size"), so the consumer, which takes a row of
the same commit-ts that starts a new file after a file of several transactions for a redelivered duplicate,
applies every change. Found by the live CSV run with ``file-size=64KiB``; reproduced here on the real sysbench
binlog fixture with small files, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e_live.harness import consume, storagecdc

SYSBENCH = "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010"
ROWS = 1_800


@pytest.mark.parametrize("file_size", ["1KiB", "4KiB", "16KiB"])
def test_size_cut_files_replay_every_change(binlog_fixtures: Path, tmp_path: Path, file_size: str) -> None:
    """Files cut by size never split a transaction that fits in one (the consumer relies on it)."""
    uri = (tmp_path / "out").as_uri() + f"?protocol=csv&include-commit-ts=true&file-size={file_size}"
    done = storagecdc("run", "--source", str(binlog_fixtures / SYSBENCH), "--sink-uri", uri,
                      "--split-table", "sbsmall.sbtest1=2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"replicated {ROWS} rows" in done.stderr
    consumed = consume(uri, f"sqlite:///{tmp_path / 'out.db'}")
    assert (consumed.rows, consumed.skipped) == (ROWS, 0)
