"""The snapshot under the hooks ``storagecdc run`` attaches (fence, metrics), against the private MariaDB: its
Prometheus metrics scraped over HTTP while it runs and after it, and its record written only through the
fenced store, so a process that lost the sink prefix writes no snapshot state."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.errors import FencedError
from storagecdc.runtime.changefeed import Changefeed, attached
from storagecdc.runtime.fencing import FencedStore, PrefixOwner
from storagecdc.runtime.metrics import RunMetrics
from storagecdc.runtime.progress import SourceLag
from storagecdc.runtime.replicate import replicate
from storagecdc.snapshot.state import SNAPSHOT_KEY, read_snapshot_record
from storagecdc.storage import LocalStore
from storagecdc.storage.base import ForwardingStore, ObjectStore
from storagecdc.storage.paths import OWNER_KEY, DateSeparator, parse_data_file_key

pytestmark = pytest.mark.mariadb

TABLES = {"a": 3000, "b": 2000, "empty": 0}


class _Watched(ForwardingStore):
    """A store that calls ``after(key)`` once each write has gone through."""

    def __init__(self, store: ObjectStore, after: Callable[[str], None]) -> None:
        super().__init__(store)
        self._after = after

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        self.inner.put(key, data, create_only=create_only)
        self._after(key)


class _Hooks:
    """``RunHooks`` as ``storagecdc run`` attaches them: writes go through the fence and the metrics."""

    def __init__(self, owner: PrefixOwner, metrics: RunMetrics, after: Callable[[str], None]) -> None:
        self._owner, self._metrics, self._after = owner, metrics, after

    def wrap_store(self, store: ObjectStore) -> ObjectStore:
        return FencedStore(_Watched(self._metrics.wrap_store(store), self._after), self._owner)

    def started(self, feed: Changefeed) -> None:
        self._owner.on_fenced(feed.stop)
        self._metrics.started(feed)


def _tables(server: MariaDBServer, db: str) -> None:
    statements = []
    for name, rows in TABLES.items():
        statements.append(f"CREATE TABLE {name} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
        if rows:
            statements.append(f"INSERT INTO {name} SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{rows}")
    server.execute_script(";\n".join(statements), database=db)


def _config(server: MariaDBServer, db: str, out: Path) -> ChangefeedConfig:
    return load_config(None, source=server.uri(), sink_uri=f"file://{out}?protocol=parquet",
                       overrides={"snapshot": "initial", "filter": [f"{db}.*"]})


def _snapshot_samples(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("storagecdc_snapshot_")}


def test_snapshot_metrics_while_it_runs_and_after(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    _tables(mariadb, mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out)
    metrics = RunMetrics(SourceLag(config), config.sink.date_separator)
    port = metrics.serve(0)
    owner = PrefixOwner(LocalStore(out), config.changefeed_id, lease_ms=30_000, wait_ms=0)
    during: list[dict[str, float]] = []

    def after(key: str) -> None:  # the first data file is written while the snapshot phase is on
        if not during and parse_data_file_key(key, DateSeparator(config.sink.date_separator)) is not None:
            during.append(_snapshot_samples(port))

    owner.acquire()
    try:
        assert _snapshot_samples(port) == {}  # no changefeed yet: no snapshot metrics
        with attached(_Hooks(owner, metrics, after)):
            result = replicate(config, until="now")
        final = _snapshot_samples(port)
    finally:
        owner.release()
        metrics.close()

    rows = sum(TABLES.values())
    assert result.counters.rows == rows
    assert during and during[0]["storagecdc_snapshot_active"] == 1
    assert during[0]["storagecdc_snapshot_tables"] == len(TABLES)
    assert 0 < during[0]["storagecdc_snapshot_rows_total"] <= rows
    assert during[0]["storagecdc_snapshot_rows_estimated"] >= during[0]["storagecdc_snapshot_rows_total"]
    assert during[0]["storagecdc_snapshot_eta_seconds"] >= 0
    assert final == {
        "storagecdc_snapshot_active": 0,
        "storagecdc_snapshot_rows_total": rows,
        "storagecdc_snapshot_rows_estimated": final["storagecdc_snapshot_rows_estimated"],
        "storagecdc_snapshot_tables": len(TABLES),
        "storagecdc_snapshot_tables_done": len(TABLES),
        "storagecdc_snapshot_eta_seconds": 0,
    }
    assert final["storagecdc_snapshot_rows_estimated"] >= rows


def test_a_fenced_process_writes_no_snapshot_state(mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path) -> None:
    _tables(mariadb, mariadb_db)
    out = tmp_path / "out"
    config = _config(mariadb, mariadb_db, out)
    raw = LocalStore(out)
    metrics = RunMetrics(SourceLag(config), config.sink.date_separator)
    owner = PrefixOwner(raw, config.changefeed_id, lease_ms=1500, wait_ms=0)
    first_record: list[bytes] = []

    def after(key: str) -> None:
        """Right after the attempt's record is written, a newer process takes the prefix over (as it would
        once this one's lease had run out); this one's renewal thread finds out within a third of its lease."""
        if key != SNAPSHOT_KEY or first_record:
            return
        first_record.append(raw.get(SNAPSHOT_KEY))
        _, version = raw.get_versioned(OWNER_KEY)
        newer = json.loads(raw.get(OWNER_KEY))
        newer.update(epoch=newer["epoch"] + 1, holder="newer:1:x")
        raw.put_if_version(OWNER_KEY, json.dumps(newer).encode(), version)
        deadline = time.monotonic() + 10
        while owner.fenced is None and time.monotonic() < deadline:
            time.sleep(0.05)

    owner.acquire()
    try:
        with attached(_Hooks(owner, metrics, after)), pytest.raises(FencedError, match="epoch 2"):
            replicate(config, until="now")
    finally:
        owner.release()
    assert owner.fenced is not None
    # The record was written through the fence once (the plan writes nothing itself), and never again.
    assert first_record and raw.get(SNAPSHOT_KEY) == first_record[0]
    record = read_snapshot_record(raw)
    assert record is not None and not record.complete and record.attempts == 1
    assert not list(raw.list(f"{mariadb_db}/"))  # no schema or data file either
