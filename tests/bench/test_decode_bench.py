"""``bench decode`` at a tiny size: real binlogs from a private MariaDB, decoded by all three readers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from storagecdc.bench.decode import FILE, LIVE, PEER, READERS, DecodeOptions, run_decode_bench, write_report
from storagecdc.bench.workloads import WORKLOADS, cached_binlog

ROWS = 2_000


@pytest.mark.mariadb
@pytest.mark.filterwarnings("ignore:'db' is deprecated:DeprecationWarning")  # mysql-replication's own connect
def test_every_reader_decodes_every_row_of_every_workload(tmp_path: Path) -> None:
    options = DecodeOptions(work_dir=tmp_path, rows=ROWS, repeat=1, profile=True, profile_top=5)
    results = run_decode_bench(options)  # raises BenchError when a reader's row count differs

    assert [r.binlog.name for r in results] == list(WORKLOADS)
    for r in results:
        assert r.binlog.rows == ROWS
        assert r.binlog.path.parent == tmp_path
        assert {reader: len(runs) for reader, runs in r.seconds.items()} == dict.fromkeys(READERS, 1)
        assert 0 < r.rss_before_kib <= r.rss_peak_kib
        assert len(r.profile) == 6  # header + top 5
        assert r.ratio(PEER) == 1.0 and r.ratio(LIVE) > 0 and r.ratio(FILE) > 0

    out = io.StringIO()
    write_report(results, options, "storagecdc bench decode --rows 2000", out)
    table = [line for line in out.getvalue().splitlines() if line.startswith(("| sysbench", "| wide", "| update"))]
    assert [line.split(" | ")[1] for line in table] == ["2,000"] * 3


def test_the_cache_reuses_complete_files_only(tmp_path: Path) -> None:
    binlog = tmp_path / f"wide-{ROWS}.binlog"
    binlog.write_bytes(b"\xfebin" + bytes(100))
    (tmp_path / f"wide-{ROWS}.json").write_text(f'{{"file": "{binlog.name}", "rows": {ROWS}, "size": 104}}')
    found = cached_binlog(tmp_path, "wide", ROWS)
    assert found is not None and (found.path, found.rows) == (binlog, ROWS)

    assert cached_binlog(tmp_path, "wide", ROWS + 1) is None  # other size: no manifest
    binlog.write_bytes(b"\xfebin")  # cut short by an interrupted copy
    assert cached_binlog(tmp_path, "wide", ROWS) is None
