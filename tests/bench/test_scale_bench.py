"""``bench scale`` without generating a history: its arguments, the prefixes it picks, and its measuring
helpers and report on a real sysbench binlog fixture (the history's cache pointing at it)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from storagecdc.bench.decode import storagecdc_file_rows
from storagecdc.bench.scale import (
    MB,
    History,
    ScaleOptions,
    cached_history,
    decode_files,
    decode_in_child,
    history_dir,
    run_scale_bench,
    sysbench_shape,
    write_scale_report,
)
from storagecdc.cli.bench import add_arguments

SYSBENCH = "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["scale", *argv])


def test_arguments_and_their_defaults(tmp_path: Path) -> None:
    args = _parse()
    assert (args.size_mb, args.file_mb, args.point, args.repeat, args.skip_run) == (2000, 100, None, 3, False)
    args = _parse("--size-mb", "300", "--file-mb", "50", "--point", "100", "--point", "300", "--repeat", "5",
                  "--work-dir", str(tmp_path), "--skip-run")
    assert (args.size_mb, args.file_mb, args.point, args.repeat, args.work_dir, args.skip_run) == (
        300, 50, [100, 300], 5, tmp_path, True)
    with pytest.raises(SystemExit):
        _parse("--repeat", "0")


def test_points_and_history_shape(tmp_path: Path) -> None:
    assert ScaleOptions(tmp_path).points() == (100, 500, 1000, 2000)
    assert ScaleOptions(tmp_path, size_mb=300).points() == (100, 300)
    assert ScaleOptions(tmp_path, points_mb=(300, 100, 300)).points() == (100, 300)
    with pytest.raises(ValueError, match="positive"):
        ScaleOptions(tmp_path, points_mb=(0,))
    assert sysbench_shape(2000) == (6, 866_667)  # 5.2M rows: no table above 1M rows
    assert sysbench_shape(10) == (1, 26_000)


def test_prefix_takes_the_fewest_files_that_reach_the_size(tmp_path: Path) -> None:
    files = []
    for i, size in enumerate((MB // 2, MB // 2, MB, 3 * MB)):
        path = tmp_path / f"mysql-bin.{i + 1:06d}"
        path.write_bytes(bytes(size))
        files.append(path)
    history = History(tuple(files), rows=0, tables=1, seconds=0.0)
    assert history.prefix(1) == tuple(files[:2])
    assert history.prefix(2) == tuple(files[:3])
    assert history.prefix(5) == tuple(files)
    assert history.prefix(100) == tuple(files)


def test_decoding_helpers_count_what_bench_decode_counts(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / SYSBENCH
    expected = storagecdc_file_rows(path)
    run = decode_files([path])
    assert run.rows == expected > 0
    assert [(f.name, f.rows) for f in run.files] == [(path.name, expected)]
    assert 0 < run.files[0].seconds <= run.seconds and 0 < run.files[0].cpu_seconds <= run.cpu_seconds
    child = decode_in_child([path])
    assert child.rows == expected
    assert 0 < child.rss_before_kib <= child.rss_peak_kib < 1024 * 1024


def test_a_cached_history_is_measured_and_reported(binlog_fixtures: Path, tmp_path: Path) -> None:
    options = ScaleOptions(tmp_path, size_mb=1, repeat=1)
    directory = history_dir(options)
    directory.mkdir()
    source = binlog_fixtures / SYSBENCH
    (directory / "mysql-bin.000010").symlink_to(source)
    rows = storagecdc_file_rows(source)
    manifest = {"files": ["mysql-bin.000010"], "sizes": [source.stat().st_size], "rows": rows, "tables": 2}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    assert cached_history(directory) is not None

    result = run_scale_bench(options)  # the cache is complete: no server, no generation
    assert [len(p.files) for p in result.points] == [1]
    point = result.points[0]
    assert point.rows == rows and len(point.decodes) == 1 and len(point.e2e_seconds) == 1
    assert result.ratio() == 1.0
    out = io.StringIO()
    write_scale_report(result, options, "storagecdc bench scale --size-mb 1 --repeat 1", out)
    text = out.getvalue()
    assert f"| whole history | 1 | 1 | {rows:,} |" in text and "per CPU second" in text
    assert "(cached)" in text and "load average" in text and "within 10%: **met**" in text

    (directory / "manifest.json").write_text(json.dumps({**manifest, "sizes": [1]}))
    assert cached_history(directory) is None  # a file of another size: generated again


@pytest.mark.mariadb
def test_a_small_history_is_generated_rotated_and_decoded(tmp_path: Path) -> None:
    options = ScaleOptions(tmp_path, size_mb=3, file_mb=1, points_mb=(1, 3), repeat=1, e2e=False)
    result = run_scale_bench(options)  # raises BenchError when a decode misses a row sysbench wrote
    history = result.history
    assert (history.tables, history.rows) == (1, 7_800) and history.seconds > 0
    assert len(history.files) >= 2  # rotated at 1 MiB (a file ends at the first commit past it)
    assert all(p.parent == history_dir(options) for p in history.files)
    assert [len(p.files) for p in result.points] == [len(history.prefix(1)), len(history.files)]
    assert result.points[-1].rows == history.rows
    assert cached_history(history_dir(options)) == history.__class__(history.files, 7_800, 1, 0.0)
