"""The consistent point's fallback (``FLUSH TABLES WITH READ LOCK``, the way mysqldump and MySQL get it) taken
by a whole snapshot on the private MariaDB while a writer changes every table: the output replayed into SQLite
equals the server, so the locked point, the rows read in it and the stream after it agree."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.runtime.replicate import replicate
from storagecdc.snapshot import point
from storagecdc.snapshot.state import DONE
from tests.snapshot.test_snapshot_live import _consume_and_verify, _record
from tests.snapshot.workload import Writer, populate

pytestmark = pytest.mark.mariadb


def test_read_lock_snapshot_under_concurrent_writes_equals_server(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    populate(mariadb, mariadb_db)
    monkeypatch.setattr(point, "LOCK_FREE_ATTEMPTS", 0)  # no lock-free try: straight to the read lock
    caplog.set_level(logging.INFO, logger=point.__name__)
    out = tmp_path / "out"
    config = load_config(None, source=mariadb.uri(), sink_uri=f"file://{out}?protocol=parquet",
                         overrides={"snapshot": "initial", "filter": [f"{mariadb_db}.*"]})
    writer = Writer(mariadb, mariadb_db, seed=5).start()
    try:
        first = replicate(config, until="now")
    finally:
        written = writer.stop()
    assert written > 0
    taken = [r.getMessage() for r in caplog.records if "consistent point" in r.getMessage()]
    assert len(taken) == 1 and "global read lock" in taken[0], taken
    record = _record(out)
    assert record is not None and record.complete and record.attempts == 1
    assert {t.state for t in record.tables.values()} == {DONE}
    assert record.position.gtid_set  # MariaDB: the GTID position at the locked point
    second = replicate(config, until="now")  # the writes after the first run's end
    assert second.resumed_from == first.checkpoint_ts
    report = _consume_and_verify(mariadb, mariadb_db, out)
    for table in ("big", "composite", "nopk", "types"):
        assert f"{mariadb_db}.{table}" in report
