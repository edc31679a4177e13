"""``bench e2e`` at a tiny size: every part runs against a private MariaDB and moto's server process."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from storagecdc.bench.e2e import FORMATS, STORES, E2EOptions, run_e2e_bench, write_e2e_report
from storagecdc.bench.e2e_tables import CATCH_UP_LIMIT_S
from storagecdc.bench.workloads import WORKLOADS
from storagecdc.cli.bench import add_arguments, e2e_options

ROWS = 2_000


@pytest.mark.mariadb
@pytest.mark.filterwarnings("ignore:'db' is deprecated:DeprecationWarning")  # mysql-replication's own connect
def test_every_part_reports_at_a_tiny_size(tmp_path: Path) -> None:
    options = E2EOptions(work_dir=tmp_path, rows=ROWS, tables=30, latency_rate=500, latency_seconds=2.0,
                         tables_txn_rate=50, tables_seconds=2.0)
    result = run_e2e_bench(options)  # raises BenchError when a run replicates another row count

    assert [r.binlog.name for r in result.throughput] == list(WORKLOADS)
    assert [r.binlog.rows for r in result.throughput] == [ROWS, ROWS // 5, ROWS // 5]
    for r in result.throughput:
        assert list(r.runs) == [f"{f} {s}" for f in FORMATS for s in STORES]
        assert all(len(run.seconds) == 1 and 0 < run.rss_kib[0] < 2**20 for run in r.runs.values())

    lat = result.latency
    assert lat is not None and lat.transactions > 0
    assert 0 < lat.p50 <= lat.p95 <= lat.p99 <= lat.max < 30  # the default flush-interval is 5 s

    tables = result.tables
    assert tables is not None and tables.transactions > 0 and tables.replicated_rows == tables.rows
    assert 0 < tables.data_objects <= tables.all_objects <= tables.puts
    assert tables.per_second_files >= tables.data_objects > 0

    out = io.StringIO()
    write_e2e_report(result, options, "storagecdc bench e2e --rows 2000", out)
    text = out.getvalue()
    assert "| sysbench | 2,000 |" in text and "| wide | 400 |" in text
    assert "p99 s" in text and "one file per table per second" in text


def test_each_part_can_run_alone_from_the_command_line(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["e2e", "--skip-throughput", "--skip-latency", "--tables-catch-up", "300",
                              "--work-dir", str(tmp_path)])
    options = e2e_options(args)
    assert (options.workloads, options.latency, options.tables, options.tables_catch_up_s) == ((), False, 10_000, 300.0)
    defaults = e2e_options(parser.parse_args(["e2e", "--work-dir", str(tmp_path)]))
    assert defaults.workloads == tuple(WORKLOADS) and defaults.latency
    assert defaults.tables_catch_up_s == CATCH_UP_LIMIT_S
