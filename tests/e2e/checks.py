"""Comparing one table version's data files with the records the decoder expects, per format.

Each ``check_*`` reads the files of ``key`` with DuckDB and with pyarrow (``output.py``) and asserts both
readers return exactly ``records`` as the format spells them (``expected.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from storagecdc.model import TableInfo, ts_physical_ms
from tests.e2e.expected import Record, VersionKey, canal_text, csv_text, parquet_value
from tests.e2e.output import (
    Output,
    canal_duckdb,
    canal_pyarrow,
    csv_duckdb,
    csv_pyarrow,
    parquet_duckdb,
    parquet_pyarrow,
)


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


CHECKS = {"csv": check_csv, "canal-json": check_canal, "parquet": check_parquet}
"""The check for each ``protocol``."""
