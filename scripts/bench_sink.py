"""Benchmark: the sink encoding and writing 1,000,000 rows, beside pyarrow alone writing the same rows.

Two tables: sysbench's ``sbtest`` (INT, INT, CHAR(120), CHAR(60)) and a 14-column table of every common type.
For each table and format (CSV, Parquet zstd) it times

- the sink: ``RowChanges`` batches of 10,000 rows -> encoder -> ``StorageTableWriter`` -> a store
  (a local directory, and moto's S3 server with ``--moto``), files cut at the default 64 MiB;
- pyarrow alone: the same Python tuples -> columns -> ``pa.Table`` -> ``pq.write_table`` (zstd) or
  ``pyarrow.csv.write_csv`` into one local file;

and prints rows/s, MB/s of output and the ratio sink / pyarrow (the target is >= 0.70).

Run: ``python scripts/bench_sink.py [--rows N] [--moto]``. It uses one core; run it alone.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from storagecdc.devtools.s3servers import MotoServer
from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, TableName, make_ts
from storagecdc.sink.formats import encoder_for
from storagecdc.sink.formats.parquet import arrow_type
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.local import LocalStore
from storagecdc.storage.uri import open_store

BATCH = 10_000
POOL_BATCHES = 10
"""Distinct batches generated; the run cycles through them (keeps the generator's memory small)."""

SBTEST = TableInfo(
    TableName("sbtest", "sbtest1"),
    (
        ColumnInfo("id", "INT", is_pk=True, nullable=False),
        ColumnInfo("k", "INT", nullable=False),
        ColumnInfo("c", "CHAR", length=120, charset="utf8mb4", nullable=False),
        ColumnInfo("pad", "CHAR", length=60, charset="utf8mb4", nullable=False),
    ),
    1,
)
WIDE14 = TableInfo(
    TableName("bench", "wide14"),
    (
        ColumnInfo("id", "BIGINT", unsigned=True, is_pk=True, nullable=False),
        ColumnInfo("qty", "INT"),
        ColumnInfo("uqty", "INT", unsigned=True),
        ColumnInfo("price", "DECIMAL", length=18, scale=4),
        ColumnInfo("ratio", "DOUBLE"),
        ColumnInfo("created", "DATETIME", scale=6),
        ColumnInfo("updated", "TIMESTAMP", scale=6),
        ColumnInfo("day", "DATE"),
        ColumnInfo("name", "VARCHAR", length=64, charset="utf8mb4"),
        ColumnInfo("body", "TEXT", charset="utf8mb4"),
        ColumnInfo("state", "ENUM", elems=("new", "paid", "shipped"), charset="utf8mb4"),
        ColumnInfo("attrs", "JSON"),
        ColumnInfo("blob", "BLOB", charset="binary"),
        ColumnInfo("maybe", "INT"),
    ),
    1,
)


def _digits(rng: random.Random, groups: int) -> str:
    return "-".join(f"{rng.randrange(10**11):011d}" for _ in range(groups))


def sbtest_rows(rng: random.Random, start: int) -> list[tuple[Any, ...]]:
    return [(i, rng.randrange(1_000_000), _digits(rng, 10), _digits(rng, 5)) for i in range(start, start + BATCH)]


def wide_rows(rng: random.Random, start: int) -> list[tuple[Any, ...]]:
    base = dt.datetime(2024, 1, 1)
    rows = []
    for i in range(start, start + BATCH):
        at = base + dt.timedelta(seconds=i, microseconds=i % 1_000_000)
        rows.append((
            i, rng.randrange(-10**9, 10**9), rng.randrange(4 * 10**9), Decimal(rng.randrange(10**12)).scaleb(-4),
            rng.random() * 1000, at, at.replace(tzinfo=dt.UTC), at.date(), f"name-{i}-ünï",
            "lorem ipsum dolor sit amet " * 3, ("new", "paid", "shipped")[i % 3], f'{{"a": {i}, "b": [1, 2]}}',
            rng.randbytes(16), None if i % 7 == 0 else i,
        ))
    return rows


def make_pool(table: TableInfo, gen: Callable[[random.Random, int], list[tuple[Any, ...]]]) -> list[list[Any]]:
    rng = random.Random(42)
    return [gen(rng, k * BATCH) for k in range(POOL_BATCHES)]


def batches(table: TableInfo, pool: list[list[Any]], rows: int) -> list[RowChanges]:
    ts0 = make_ts(1_700_000_000_000)
    return [
        RowChanges(table, Op.INSERT, ts0 + (k << 18), pool[k % len(pool)], commit_time_ms=1_700_000_000_000 + k)
        for k in range(rows // BATCH)
    ]


def run_sink(store: ObjectStore, table: TableInfo, protocol: str, work: list[RowChanges]) -> tuple[float, int]:
    options = SinkOptions(protocol=protocol)
    writer = StorageTableWriter(store, table, options, encoder_for(table, options))
    start = time.perf_counter()
    for b in work:
        writer.append(b)
    writer.flush()
    elapsed = time.perf_counter() - start
    size = sum(o.size for o in store.list(f"{table.name.schema}/"))
    return elapsed, size


def run_pyarrow(table: TableInfo, protocol: str, work: list[RowChanges], path: Path) -> tuple[float, int]:
    schema = pa.schema([pa.field(c.name, arrow_type(c)) for c in table.columns])
    start = time.perf_counter()
    rows = [r for b in work for r in b.rows]
    columns: list[Any] = list(zip(*rows, strict=True))
    if protocol == "csv":  # pyarrow's CSV writer cannot write binary: give it base64 text, as the sink writes
        for i, f in enumerate(schema):
            if f.type == pa.binary():
                columns[i] = [None if v is None else base64.b64encode(v).decode() for v in columns[i]]
                schema = schema.set(i, pa.field(f.name, pa.string()))
    arrow = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
                                 schema=schema)
    if protocol == "parquet":
        pq.write_table(arrow, path, compression="zstd")
    else:
        pacsv.write_csv(arrow, path)
    elapsed = time.perf_counter() - start
    return elapsed, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--moto", action="store_true", help="also write to moto's S3 server")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sink_"))
    server = MotoServer() if args.moto else None
    if server is not None:
        server.start()
        server.create_bucket("bench")
    print(f"{'table':8} {'format':8} {'target':7} {'rows/s':>10} {'MB/s':>7} {'pyarrow rows/s':>15} "
          f"{'MB/s':>7} {'ratio':>6}")
    try:
        for table, gen in ((SBTEST, sbtest_rows), (WIDE14, wide_rows)):
            work = batches(table, make_pool(table, gen), args.rows)
            rows = len(work) * BATCH
            for protocol in ("csv", "parquet"):
                base_s, base_size = run_pyarrow(table, protocol, work, tmp / f"alone.{protocol}")
                targets: list[tuple[str, Callable[[], ObjectStore]]] = [
                    ("local", lambda: LocalStore(tmp / "sink")),
                ]
                if server is not None:
                    uri = server.store_uri("bench", f"{table.name.table}-{protocol}")
                    targets.append(("moto", lambda uri=uri: open_store(uri)))
                for target, make_store in targets:
                    store = make_store()
                    sink_s, sink_size = run_sink(store, table, protocol, work)
                    store.close()
                    shutil.rmtree(tmp / "sink", ignore_errors=True)
                    ratio = (rows / sink_s) / (rows / base_s)
                    print(f"{table.name.table[:8]:8} {protocol:8} {target:7} {rows / sink_s:10,.0f} "
                          f"{sink_size / sink_s / 1e6:7.1f} {rows / base_s:15,.0f} "
                          f"{base_size / base_s / 1e6:7.1f} {ratio:6.2f}", flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
