"""The MariaDB types binlog (39 columns of every type, DDL mid-stream, a key-changing UPDATE, RENAME,
TRUNCATE, CREATE ... SELECT, a second database) replicated by ``storagecdc.runtime.replicate`` to a local
directory, moto's S3 server and SeaweedFS, then read back by DuckDB and pyarrow: every record of every table
version equals what the decoder says the binlog holds, value for value.

- CSV (``include-commit-ts``): DuckDB ``read_csv`` with TiCDC's dialect and the schema file's column names,
  and ``pyarrow.csv``, every column as text, compared with TiCDC's formatting written independently in
  ``expected.py`` (decimals with their scale, fractional seconds to the column's precision, TIMESTAMP in UTC,
  binary as base64, BIGINT UNSIGNED max, FLOAT as its shortest 32-bit digits, zero dates as MySQL prints them).
- canal-json (``enable-tidb-extension``): DuckDB ``read_json`` and ``pyarrow.json``; type, commit-ts, data, old.
- Parquet: DuckDB ``read_parquet`` and ``pyarrow.parquet``, typed values compared with the decoder's values
  (zero dates are null; DuckDB reads TIME as microseconds); the Arrow schema has the documented types.

SeaweedFS runs only the CSV case (it is the slowest store, and the format does not change how it stores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from storagecdc.config import load_config
from storagecdc.model import TableInfo, ts_physical_ms
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import open_store, parse_checkpoint
from tests.e2e.expected import Expected, Record, VersionKey, canal_text, csv_text, decode, parquet_value
from tests.e2e.output import (
    Output,
    canal_duckdb,
    canal_pyarrow,
    csv_duckdb,
    csv_pyarrow,
    parquet_duckdb,
    parquet_pyarrow,
)

TYPES = "mariadb/mariadb-10.11-types.000001"
QUERIES = {
    "csv": "protocol=csv&include-commit-ts=true",
    "canal-json": "protocol=canal-json&enable-tidb-extension=true",
    "parquet": "protocol=parquet",
}
CASES = [
    pytest.param("local", "csv", id="local-csv"),
    pytest.param("local", "canal-json", id="local-canal-json"),
    pytest.param("local", "parquet", id="local-parquet"),
    pytest.param("moto", "csv", id="moto-csv", marks=pytest.mark.s3),
    pytest.param("moto", "canal-json", id="moto-canal-json", marks=pytest.mark.s3),
    pytest.param("moto", "parquet", id="moto-parquet", marks=pytest.mark.s3),
    pytest.param("seaweedfs", "csv", id="seaweedfs-csv", marks=pytest.mark.s3),
]


def with_query(uri: str, query: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


@pytest.fixture(scope="module")
def types_binlog(binlog_fixtures: Path) -> tuple[Path, Expected]:
    path = binlog_fixtures / TYPES
    return path, decode(path)


@pytest.mark.parametrize(("kind", "protocol"), CASES)
def test_types_binlog_reads_back_in_duckdb_and_pyarrow(
    kind: str,
    protocol: str,
    types_binlog: tuple[Path, Expected],
    store_uri_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source, expected = types_binlog
    uri = with_query(store_uri_factory(kind), QUERIES[protocol])
    result = replicate(load_config(None, source=str(source), sink_uri=uri))
    store = open_store(uri)
    try:
        out = Output.fetch(store, tmp_path / "out")
    finally:
        store.close()

    last_dml = max(r.commit_ts for records in expected.records.values() for r in records)
    assert result.checkpoint_ts > last_dml  # every row is below the checkpoint: durable and covered
    assert result.checkpoint_ts >= expected.last_commit_ts
    assert parse_checkpoint(out.objects["metadata"]) == result.checkpoint_ts
    assert set(out.data_files) == set(expected.records)
    assert len(expected.records) >= 8  # four versions of all_types and the other tables
    assert sum(len(r) for r in expected.records.values()) >= 90
    check = {"csv": check_csv, "canal-json": check_canal, "parquet": check_parquet}[protocol]
    for key, records in expected.records.items():
        info = expected.tables[key]
        assert out.column_names(key) == list(info.column_names), key
        check(out, key, info, records)


def check_csv(out: Output, key: VersionKey, info: TableInfo, records: list[Record]) -> None:
    schema, table, _ = key
    want = [
        (r.op, table, schema, str(r.commit_ts), *(csv_text(c, v) for c, v in zip(info.columns, r.values, strict=True)))
        for r in records
    ]
    names = out.column_names(key)
    by_duckdb = [row for path in out.data_files[key] for row in csv_duckdb(path, names)]
    by_pyarrow = [row for path in out.data_files[key] for row in csv_pyarrow(path, names)]
    assert by_duckdb == want, key
    assert by_pyarrow == want, key


def check_canal(out: Output, key: VersionKey, info: TableInfo, records: list[Record]) -> None:
    kinds = {"I": "INSERT", "U": "UPDATE", "D": "DELETE"}

    def row(values: tuple[Any, ...] | None) -> dict[str, str | None] | None:
        if values is None:
            return None
        return {c.name: canal_text(c, v) for c, v in zip(info.columns, values, strict=True)}

    want = [(kinds[r.op], r.commit_ts, row(r.values), row(r.old)) for r in records]
    names = out.column_names(key)
    by_duckdb = [rec for path in out.data_files[key] for rec in canal_duckdb(path)]
    by_pyarrow = [rec for path in out.data_files[key] for rec in canal_pyarrow(path, names)]
    assert by_duckdb == want, key
    assert by_pyarrow == want, key


def _parquet_row(info: TableInfo, record: Record, *, time_as_micros: bool) -> tuple[Any, ...]:
    commit_time = dt.datetime.fromtimestamp(ts_physical_ms(record.commit_ts) / 1000, dt.UTC)
    values = (
        parquet_value(c, v, time_as_micros=time_as_micros) for c, v in zip(info.columns, record.values, strict=True)
    )
    return (record.op, record.commit_ts, commit_time, *values)


def check_parquet(out: Output, key: VersionKey, info: TableInfo, records: list[Record]) -> None:
    meta = ["_op", "_commit_ts", "_commit_time", "_seq"]
    want_duckdb = [_parquet_row(info, r, time_as_micros=True) for r in records]
    want_arrow = [_parquet_row(info, r, time_as_micros=False) for r in records]
    got_duckdb: list[tuple[Any, ...]] = []
    got_arrow: list[tuple[Any, ...]] = []
    for path in out.data_files[key]:
        columns, rows = parquet_duckdb(path)
        assert columns == [*meta, *info.column_names]
        got_duckdb += [r[:3] + r[4:] for r in rows]
        schema, dicts = parquet_pyarrow(path)
        assert schema.names == columns
        check_arrow_types(info, schema)
        got_arrow += [tuple(d[n] for n in columns if n != "_seq") for d in dicts]
    assert got_duckdb == want_duckdb, key
    assert got_arrow == want_arrow, key


ARROW_INTS = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 32, "INT": 32, "BIGINT": 64}


def check_arrow_types(info: TableInfo, schema: pa.Schema) -> None:
    """The documented Arrow type of every column (docs/output-format.md, Parquet)."""
    assert schema.field("_commit_time").type == pa.timestamp("ms", tz="UTC")
    for col in info.columns:
        got = schema.field(col.name).type
        name = col.type_name
        if name in ARROW_INTS:
            bits = ARROW_INTS[name]
            want = getattr(pa, f"{'u' if col.unsigned else ''}int{bits}")()
        elif name == "DECIMAL":
            assert col.length is not None and col.scale is not None
            want = pa.decimal128(col.length, col.scale)
        else:
            want = {
                "FLOAT": pa.float32(),
                "DOUBLE": pa.float64(),
                "BIT": pa.uint64(),
                "YEAR": pa.int16(),
                "DATE": pa.date32(),
                "TIME": pa.duration("us"),
                "DATETIME": pa.timestamp("us"),
                "TIMESTAMP": pa.timestamp("us", tz="UTC"),
            }.get(name, pa.binary() if col.is_binary else pa.string())
        assert got == want, (info.name, col.name, got, want)
