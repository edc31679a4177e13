"""Prometheus metrics of one ``storagecdc run``, served over HTTP on 127.0.0.1 (``--metrics-port``).

Metric (type, labels): meaning.

- ``storagecdc_rows_total`` (counter, table, op): row changes read, by ``schema.table`` and op ``I``/``U``/``D``.
- ``storagecdc_transactions_total``, ``storagecdc_ddl_total``, ``storagecdc_syncpoints_total`` (counters);
  ``storagecdc_auto_splits_total`` (counter): tables this run split by their row rate (``split-rows-per-second``).
- ``storagecdc_data_files_written_total`` / ``storagecdc_data_bytes_written_total`` (counters, table): data
  files written and their bytes (a data file holds every op of its table, so bytes have no op label).
- ``storagecdc_flush_duration_seconds`` (histogram): from a data file's upload to its index file's, per file.
- ``storagecdc_barrier_duration_seconds`` (summary): block events (DDL, syncpoint) from the local flush to
  the last PASS.
- ``storagecdc_checkpoint_time_seconds`` (gauge): the checkpoint's physical time (Unix seconds; a 64-bit
  commit-ts does not fit a float sample) and ``storagecdc_checkpoint_lag_seconds`` (gauge): now minus it.
- ``storagecdc_source_lag_bytes`` (gauge): bytes of source still to read (files: to their end; live: the
  server's binary logs after our position). Absent while unknown.
- Initial snapshot (``snapshot.progress``; present once this run's snapshot attempt has started reading):
  ``storagecdc_snapshot_active`` (gauge): 1 while tables are being read, 0 once every table is;
  ``storagecdc_snapshot_rows_total`` (counter): rows read; ``storagecdc_snapshot_rows_estimated`` (gauge): the
  rows to read (information_schema's estimate, or the rows read when that was low);
  ``storagecdc_snapshot_tables`` / ``storagecdc_snapshot_tables_done`` (gauges): tables to read and read;
  ``storagecdc_snapshot_eta_seconds`` (gauge): seconds left at the average rate (0 when done). A continued
  snapshot counts the tables and rows of its own attempt. The rate is ``rate(storagecdc_snapshot_rows_total)``.

Labels carry table names only: never a URI, a user, a key or a password.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from storagecdc.errors import ConfigError
from storagecdc.model import ts_physical_ms
from storagecdc.runtime.progress import SourceLag
from storagecdc.snapshot.progress import SnapshotProgress, progress_of
from storagecdc.storage.base import ForwardingStore, ObjectStore
from storagecdc.storage.paths import DateSeparator, parse_data_file_key, parse_index_file_key

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from storagecdc.runtime.changefeed import Changefeed

FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RunMetrics:
    """The metrics of one run in a registry of their own (``registry``)."""

    def __init__(self, lag: SourceLag, date_separator: str, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._separator = DateSeparator(date_separator)
        self._files = Counter("storagecdc_data_files_written", "Data files written.", ["table"],
                              registry=self.registry)
        self._bytes = Counter("storagecdc_data_bytes_written", "Bytes of data files written.", ["table"],
                              registry=self.registry)
        self._flush = Histogram("storagecdc_flush_duration_seconds",
                                "Seconds from a data file's upload to its index file's.", buckets=FLUSH_BUCKETS,
                                registry=self.registry)
        self._feed_collector = _FeedCollector(lag, clock)
        self.registry.register(self._feed_collector)
        self._flushing: dict[str, float] = {}
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def started(self, feed: Changefeed) -> None:
        self._feed_collector.feed = feed

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        return MeteredStore(store, self)

    def serve(self, port: int) -> int:
        """Serve ``/metrics`` on 127.0.0.1:``port`` (0: any free port); the port it listens on."""
        try:
            self._server, self._thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"metrics-port {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def before_put(self, key: str) -> None:
        """Called before each write: a data file starts a flush."""
        data = parse_data_file_key(key, self._separator)
        if data is not None:
            self._flushing[data.dir.key_prefix() + (data.dispatcher_id or "")] = time.monotonic()

    def after_put(self, key: str, size: int) -> None:
        """Called after each successful write: data files are counted, an index file ends its flush."""
        data = parse_data_file_key(key, self._separator)
        if data is not None:
            table = f"{data.dir.schema}.{data.dir.table}"
            self._files.labels(table).inc()
            self._bytes.labels(table).inc(size)
            return
        index = parse_index_file_key(key, self._separator)
        if index is not None:
            began = self._flushing.pop(index.dir.key_prefix() + (index.dispatcher_id or ""), None)
            if began is not None:
                self._flush.observe(time.monotonic() - began)


class _FeedCollector(Collector):
    """Reads the changefeed's counters at scrape time (a scrape never waits for the changefeed)."""

    def __init__(self, lag: SourceLag, clock: Callable[[], float]) -> None:
        self.feed: Changefeed | None = None
        self._lag = lag
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        feed = self.feed
        if feed is None:
            return []
        c = feed.counters
        rows = CounterMetricFamily("storagecdc_rows", "Row changes read, by table and op.", labels=["table", "op"])
        for (table, op), n in sorted(dict(c.rows_by_table).items()):
            rows.add_metric([table, op], n)
        out: list[Metric] = [
            rows,
            CounterMetricFamily("storagecdc_transactions", "Transactions replicated.", value=c.transactions),
            CounterMetricFamily("storagecdc_ddl", "DDL events replicated.", value=c.ddl),
            CounterMetricFamily("storagecdc_syncpoints", "Syncpoints written.", value=c.syncpoints),
            CounterMetricFamily("storagecdc_auto_splits", "Tables split automatically by their row rate.",
                                value=c.auto_splits),
            SummaryMetricFamily("storagecdc_barrier_duration_seconds",
                                "Block events from the local flush to the last PASS.",
                                count_value=c.barriers, sum_value=c.barrier_seconds),
        ]
        if c.checkpoint_ts:
            when = ts_physical_ms(c.checkpoint_ts) / 1000
            out.append(GaugeMetricFamily("storagecdc_checkpoint_time_seconds",
                                         "The published checkpoint's physical time (Unix seconds).", value=when))
            out.append(GaugeMetricFamily("storagecdc_checkpoint_lag_seconds",
                                         "Now minus the checkpoint's physical time.", value=self._clock() - when))
        left = self._lag.remaining(feed.assembler.position)
        if left is not None:
            out.append(GaugeMetricFamily("storagecdc_source_lag_bytes", "Bytes of source still to read.",
                                         value=left))
        snapshot = progress_of(feed)
        if snapshot is not None:
            out.extend(_snapshot_metrics(snapshot))
        return out


def _snapshot_metrics(p: SnapshotProgress) -> list[Metric]:
    return [
        GaugeMetricFamily("storagecdc_snapshot_active", "1 while the initial snapshot reads tables, then 0.",
                          value=0 if p.done else 1),
        CounterMetricFamily("storagecdc_snapshot_rows", "Rows read by the initial snapshot.", value=p.rows),
        GaugeMetricFamily("storagecdc_snapshot_rows_estimated",
                          "Rows the initial snapshot reads (information_schema's estimate).", value=p.total),
        GaugeMetricFamily("storagecdc_snapshot_tables", "Tables the initial snapshot reads.", value=p.tables_total),
        GaugeMetricFamily("storagecdc_snapshot_tables_done", "Tables the initial snapshot has read.",
                          value=p.tables_done),
        GaugeMetricFamily("storagecdc_snapshot_eta_seconds", "Seconds the initial snapshot still needs (estimate).",
                          value=0 if p.done else p.eta()),
    ]


class MeteredStore(ForwardingStore):
    """An ``ObjectStore`` that reports its data and index file writes to ``RunMetrics``."""

    def __init__(self, store: ObjectStore, metrics: RunMetrics) -> None:
        super().__init__(store)
        self._metrics = metrics

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        self._metrics.before_put(key)
        self.inner.put(key, data, create_only=create_only)
        self._metrics.after_put(key, len(data))
