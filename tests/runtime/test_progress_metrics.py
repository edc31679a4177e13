"""Progress on stderr and Prometheus metrics of ``storagecdc run``.

- On a terminal (a real pty) a file source draws one progress bar in place: bytes, rows, rate, ETA, 100% at
  the end, then the summary line; never a line per row.
- Elsewhere the status is one line per interval (file sources: bytes of total, rows, rate, checkpoint; live
  sources: rows/s, lag behind the server, checkpoint).
- Metrics in process for a file source (rows by table and op equal the counters, files per table equal the
  data files in the output, nothing left to read) and over HTTP during a live run (rows by op, files,
  flush latency, barrier durations, checkpoint lag, source lag; no secret anywhere in the text).
"""

from __future__ import annotations

import io
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD, MariaDBServer
from storagecdc.model import ts_physical_ms
from storagecdc.runtime.changefeed import Changefeed, attached
from storagecdc.runtime.metrics import RunMetrics
from storagecdc.runtime.progress import Progress, SourceLag
from storagecdc.runtime.replicate import replicate
from storagecdc.storage.base import ObjectStore

CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]
SAKILA = "osheroff/mysql-bin.sakila.gz"
SAKILA_BYTES = 1_445_714  # gunzipped


class Watch:
    """``RunHooks`` with progress and metrics only (what ``storagecdc run`` adds besides the fence)."""

    def __init__(self, progress: Progress | None, metrics: RunMetrics | None) -> None:
        self.progress = progress
        self.metrics = metrics
        self.feed: Changefeed | None = None

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        return self.metrics.wrap_store(store) if self.metrics is not None else store

    def started(self, feed: Changefeed) -> None:
        self.feed = feed
        if self.progress is not None:
            self.progress.started(feed)
        if self.metrics is not None:
            self.metrics.started(feed)


def _config(source: str, out: Path, **overrides: object) -> ChangefeedConfig:
    return load_config(None, source=source, sink_uri=f"{out.as_uri()}?protocol=csv&flush-interval=200ms",
                       overrides=overrides)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_progress_bar_on_a_terminal(binlog_fixtures: Path, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, "run", "--source", str(binlog_fixtures / SAKILA),
                             "--sink-uri", f"{(tmp_path / 'out').as_uri()}?protocol=csv"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(30) == 0
    text = b"".join(chunks).decode()
    redraws = text.split("\r\x1b[2K")[1:]
    assert redraws, text
    assert len(redraws) < 100, "one redraw per interval, not per row"
    final, _, rest = redraws[-1].partition("\n")
    assert final.startswith("[" + "#" * 30 + "]") and "1.4 MiB / 1.4 MiB (100%)" in final, final
    assert "47273 rows" in final and "rows/s" in final and "ETA" in final
    assert rest.strip().startswith("replicated 47273 rows"), rest


def test_status_lines_for_a_file_source_elsewhere(binlog_fixtures: Path, tmp_path: Path) -> None:
    config = _config(str(binlog_fixtures / SAKILA), tmp_path / "out")
    lag = SourceLag(config)
    assert lag.total_bytes == SAKILA_BYTES
    out = io.StringIO()
    progress = Progress(out, lag, tty=False, interval_s=0.05)
    with attached(Watch(progress, None)):
        result = replicate(config)
    progress.close()
    lines = out.getvalue().splitlines()
    assert all(line.startswith("storagecdc: ") and "/ 1.4 MiB" in line and "checkpoint" in line
               for line in lines), lines
    assert len(lines) < 200, "a line per interval, not per row"
    last = progress.render()
    assert "1.4 MiB / 1.4 MiB (100%)" in last and f"{result.counters.rows} rows" in last, last
    assert "\r" not in out.getvalue()


def test_metrics_of_a_file_source(binlog_fixtures: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    config = _config(str(binlog_fixtures / SAKILA), out_dir)
    lag = SourceLag(config)
    metrics = RunMetrics(lag, config.sink.date_separator, clock=lambda: 1_700_000_000.0)
    watch = Watch(None, metrics)
    with attached(watch):
        result = replicate(config)
    samples = _samples(generate_latest(metrics.registry).decode())
    rows = {labels: v for (name, labels), v in samples.items() if name == "storagecdc_rows_total"}
    assert sum(rows.values()) == result.counters.rows == 47273
    assert rows[(("op", "I"), ("table", "sakila.rental"))] == 16044
    files: dict[str, int] = {}
    for path in out_dir.rglob("CDC*.csv"):
        table = ".".join(path.relative_to(out_dir).parts[:2])
        files[table] = files.get(table, 0) + 1
    written = {dict(labels)["table"]: v for (name, labels), v in samples.items()
               if name == "storagecdc_data_files_written_total"}
    assert written == files
    data_bytes = sum(v for (name, _), v in samples.items() if name == "storagecdc_data_bytes_written_total")
    assert data_bytes == sum(p.stat().st_size for p in out_dir.rglob("CDC*.csv"))
    assert samples[("storagecdc_flush_duration_seconds_count", ())] == sum(files.values())
    assert samples[("storagecdc_source_lag_bytes", ())] == 0
    assert samples[("storagecdc_checkpoint_time_seconds", ())] == ts_physical_ms(result.checkpoint_ts) / 1000
    # the checkpoint is the binlog's time (2013), years behind the injected clock (2023)
    behind = 1_700_000_000.0 - ts_physical_ms(result.checkpoint_ts) / 1000
    assert samples[("storagecdc_checkpoint_lag_seconds", ())] == pytest.approx(behind) and behind > 10 * 365 * 86400
    assert samples[("storagecdc_ddl_total", ())] == result.counters.ddl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def _wait_for(what: str, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.mariadb
def test_metrics_over_http_during_a_live_run(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    db = mariadb_db
    mariadb.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20))")
    port = _free_port()
    log = tmp_path / "run.log"
    dumps = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'"
    before = int(mariadb.execute(dumps)[0][0])
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CLI, "run", "--source", mariadb.uri(server_id=9301), "--sink-uri",
             f"{(tmp_path / 'out').as_uri()}?protocol=csv&flush-interval=200ms",
             "--filter", f"{db}.*", "--metrics-port", str(port)],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for("the metrics endpoint", lambda: "storagecdc_rows" in _scrape(port))
        _wait_for("the run to stream", lambda: int(mariadb.execute(dumps)[0][0]) > before)
        mariadb.execute(f"INSERT INTO `{db}`.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        mariadb.execute(f"UPDATE `{db}`.t SET v = 'B' WHERE id = 2")
        mariadb.execute(f"DELETE FROM `{db}`.t WHERE id = 3")
        mariadb.execute(f"ALTER TABLE `{db}`.t ADD COLUMN w INT")
        mariadb.execute(f"INSERT INTO `{db}`.t VALUES (4, 'd', 4)")
        table = f"{db}.t"

        def settled() -> bool:
            s = _samples(_scrape(port))
            return (s.get(("storagecdc_rows_total", (("op", "I"), ("table", table)))) == 4
                    and s.get(("storagecdc_data_files_written_total", (("table", table),)), 0) >= 2
                    and s.get(("storagecdc_source_lag_bytes", ())) == 0)

        _wait_for("the rows in the metrics", settled)
        time.sleep(0.5)
        text = _scrape(port)
        samples = _samples(text)
        assert samples[("storagecdc_rows_total", (("op", "U"), ("table", table)))] == 1
        assert samples[("storagecdc_rows_total", (("op", "D"), ("table", table)))] == 1
        assert samples[("storagecdc_data_bytes_written_total", (("table", table),))] > 0
        assert samples[("storagecdc_flush_duration_seconds_count", ())] >= 2
        assert samples[("storagecdc_barrier_duration_seconds_count", ())] >= 1
        assert samples[("storagecdc_barrier_duration_seconds_sum", ())] > 0
        assert samples[("storagecdc_ddl_total", ())] >= 1
        assert 0 <= samples[("storagecdc_checkpoint_lag_seconds", ())] < 120
        assert REPLICATION_PASSWORD not in text and "mysql://" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    output = log.read_text()
    assert rc == 0, output
    assert REPLICATION_PASSWORD not in output
    assert "replicated 6 rows" in output


@pytest.mark.mariadb
def test_live_status_line(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    db = mariadb_db
    mariadb.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")
    file, offset = mariadb.execute("SHOW MASTER STATUS")[0][:2]
    config = load_config(None, source=mariadb.uri(server_id=9302), start=f"{file}:{offset}",
                         sink_uri=f"{(tmp_path / 'out').as_uri()}?protocol=csv", overrides={"filter": [f"{db}.*"]})
    mariadb.execute(f"INSERT INTO `{db}`.t VALUES (1), (2)")
    lag = SourceLag(config)
    out = io.StringIO()
    progress = Progress(out, lag, tty=True, interval_s=30)  # live sources never draw a bar
    with attached(Watch(progress, None)):
        result = replicate(config, until="now")
    progress.close()
    assert result.counters.rows == 2
    line = progress.render()
    assert line.startswith("storagecdc: 2 rows (") and "rows/s" in line, line
    assert "lag 0 B behind the server" in line and "checkpoint 4" in line, line
    assert REPLICATION_PASSWORD not in line


def test_a_busy_metrics_port_is_a_config_error(binlog_fixtures: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([*CLI, "run", "--source", str(binlog_fixtures / SAKILA), "--sink-uri",
                               f"{(tmp_path / 'out').as_uri()}?protocol=csv", "--metrics-port", str(port)],
                              capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"storagecdc: error: metrics-port {port}: cannot listen on 127.0.0.1:{port}: " \
        "Address already in use"
    assert not (tmp_path / "out").exists()
