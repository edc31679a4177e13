"""``storagecdc demo``: the whole product on a fresh machine, with nothing to set up.

It starts an embedded S3 server (moto's, on loopback), replicates a small real binlog bundled with the
package (a shop database written by MariaDB: several tables and types, DDL mid-stream, a split table,
syncpoints), lists the bucket as ``storagecdc ls`` does, replays the output into a temporary SQLite database
with the real consumer, and compares every table with the rows MariaDB itself returned when the binlog was
made (``data/demo-expected.json``, written by ``scripts/make_demo_binlog.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import tempfile
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from storagecdc.cli.ls import print_tree
from storagecdc.config import load_config
from storagecdc.consumer import Replayer, SqliteApplier, options_from_uri
from storagecdc.devtools.s3servers import MotoServer
from storagecdc.errors import ConsumerError
from storagecdc.layout import CsvDialect, Layout, read_layout
from storagecdc.model import TableInfo, TableName
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import open_store

BUCKET = "storagecdc-demo"
SINK_OPTIONS = "protocol=csv&include-commit-ts=true"
SPLIT = ["shop.orders=4"]


def canonical(value: Any) -> Any:
    """A value as JSON for comparison: DECIMAL as exact text, date/time as ISO text (TIMESTAMP in UTC),
    bytes as base64; ints, floats, strings and NULL as they are."""
    if value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.timedelta)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"no canonical form for {value!r}")


def expected_tables() -> dict[str, Any]:
    """The demo tables as MariaDB returned them: ``{"shop.t": {"columns": [...], "rows": [[...], ...]}}``."""
    text = resources.files("storagecdc").joinpath("data/demo-expected.json").read_text(encoding="utf-8")
    tables: dict[str, Any] = json.loads(text)
    return tables


def run_demo(out: TextIO) -> int:
    """Run the demo, printing as it goes; returns 0 when the replayed tables equal MariaDB's."""
    started = time.monotonic()
    binlog = resources.files("storagecdc").joinpath("data/demo-binlog.000001")
    with resources.as_file(binlog) as binlog_path, MotoServer() as s3, tempfile.TemporaryDirectory() as tmp:
        s3.create_bucket(BUCKET)
        sink_uri = s3.store_uri(BUCKET, "shop-feed") + "&" + SINK_OPTIONS
        out.write(f"embedded S3 (moto) at {s3.endpoint}; replicating {binlog_path.name} into s3://{BUCKET}/shop-feed\n")
        config = load_config(
            None, source=str(binlog_path), sink_uri=sink_uri,
            overrides={"split_tables": SPLIT, "sync_point": True, "sync_point_interval": "1s"},
        )
        result = replicate(config)
        c = result.counters
        out.write(f"replicated {c.rows} rows in {c.transactions} transactions, {c.ddl} DDL, {c.syncpoints} "
                  f"syncpoints; checkpoint {result.checkpoint_ts}\n\n")
        store = open_store(sink_uri)
        try:
            layout = read_layout(store, rows=CsvDialect())
            print_tree(layout, out, f"s3://{BUCKET}/shop-feed")
            db = Path(tmp) / "demo.db"
            applier = SqliteApplier.from_uri(f"sqlite:///{db}")
            try:
                stats = Replayer(store, applier, options_from_uri(sink_uri)).run()
                out.write(f"\nreplayed into {db.name}: {stats.rows} rows, {stats.ddl} DDL applied\n")
                mismatches = compare(applier, layout, out)
            finally:
                applier.close()
        finally:
            store.close()
    seconds = time.monotonic() - started
    if mismatches:
        out.write(f"demo FAILED: {mismatches} table(s) differ from MariaDB ({seconds:.1f}s)\n")
        return 1
    out.write(f"demo OK: every table equals MariaDB's final state ({seconds:.1f}s)\n")
    return 0


def compare(applier: SqliteApplier, layout: Layout, out: TextIO) -> int:
    """Compare each replayed table with the expected rows; returns how many tables differ."""
    infos: dict[TableName, TableInfo] = {}
    for db, table in layout.tables():
        latest = table.versions[-1].schema
        if latest is not None and latest.columns:
            infos[TableName(db.name, table.name)] = latest.to_table_info()
    mismatches = 0
    for name, want in expected_tables().items():
        schema, _, table_name = name.partition(".")
        info = infos.get(TableName(schema, table_name))
        if info is None:
            raise ConsumerError(f"the output has no table {name}")
        got = sorted(([canonical(v) for v in row] for row in applier.rows(info)), key=json.dumps)
        same = list(info.column_names) == want["columns"] and got == want["rows"]
        mismatches += not same
        out.write(f"  {name:<20} {len(got):>4} rows  {'equal' if same else 'DIFFERENT'}\n")
    return mismatches
