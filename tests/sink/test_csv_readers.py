"""Readers nobody here wrote read the CSV back: DuckDB with the TiCDC dialect, and pyarrow."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow.csv as pacsv
import pytest

from storagecdc.model import Op
from storagecdc.sink.formats.csv import CsvEncoder
from storagecdc.sink.options import SinkOptions
from tests.sink.tables import COMMIT_TS, batch, col, table

T = table(
    "readers",
    col("id", "BIGINT", is_pk=True),
    col("name", "VARCHAR", charset="utf8mb4"),
    col("price", "DECIMAL", length=18, scale=4),
    col("ratio", "DOUBLE"),
    col("at", "DATETIME", scale=6),
    col("day", "DATE"),
    col("raw", "BLOB", charset="binary"),
)
ROWS = [
    (1, 'plain', Decimal("1.0000"), 0.5, dt.datetime(2024, 1, 2, 3, 4, 5, 600000), dt.date(2024, 1, 2), b"\x00\x01"),
    (2, 'comma, "quote"\r\nnewline', Decimal("-99.1234"), 1e6, dt.datetime(1999, 12, 31, 23, 59, 59),
     dt.date(1000, 1, 1), b""),
    (3, None, None, None, None, None, None),
    (4, "名前 表", Decimal("0.0001"), -2.5e-7, dt.datetime(2038, 1, 19, 3, 14, 8), dt.date(9999, 12, 31), b"x"),
]
DUCK_TYPES = {"op": "VARCHAR", "tbl": "VARCHAR", "db": "VARCHAR", "commit_ts": "UBIGINT", "id": "BIGINT",
              "name": "VARCHAR", "price": "DECIMAL(18,4)", "ratio": "DOUBLE", "at": "TIMESTAMP", "day": "DATE",
              "raw": "VARCHAR"}


def _write(tmp_path, **opts) -> str:
    options = SinkOptions(protocol="csv", include_commit_ts=True, **opts)
    enc = CsvEncoder(T, options)
    path = tmp_path / "CDC000001.csv"
    path.write_bytes(enc.assemble([enc.encode(batch(T, Op.INSERT, ROWS, ts=COMMIT_TS))]))
    return str(path)


def _expected() -> list[tuple]:
    return [("I", "readers", "test", COMMIT_TS, *r[:-1], None if r[-1] is None else base64.b64encode(r[-1]).decode())
            for r in ROWS]


@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
def test_duckdb_reads_default_dialect(tmp_path, terminator: str) -> None:
    path = _write(tmp_path, terminator=terminator)
    got = duckdb.connect().execute(
        "select * from read_csv(?, delim=',', quote='\"', escape='\"', nullstr='\\N', header=false, "
        "columns=?, auto_detect=false)",
        [path, DUCK_TYPES],
    ).fetchall()
    assert got == _expected()


def test_duckdb_reads_custom_delimiter_and_quote(tmp_path) -> None:
    path = _write(tmp_path, delimiter="|", quote="'", null="NULL")
    got = duckdb.connect().execute(
        "select * from read_csv(?, delim='|', quote='''', escape='''', nullstr='NULL', header=false, "
        "columns=?, auto_detect=false)",
        [path, DUCK_TYPES],
    ).fetchall()
    assert got == _expected()


def test_duckdb_reads_header_line(tmp_path) -> None:
    path = _write(tmp_path, output_field_header=True)
    rel = duckdb.connect().execute(
        "select * from read_csv(?, delim=',', quote='\"', escape='\"', nullstr='\\N', header=true)", [path]
    )
    names = [d[0] for d in rel.description]
    assert names == ["ticdc-meta$operation", "ticdc-meta$table", "ticdc-meta$schema", "ticdc-meta$commit-ts",
                     *T.column_names]
    assert len(rel.fetchall()) == len(ROWS)


def test_pyarrow_reads_it(tmp_path) -> None:
    path = _write(tmp_path)
    names = list(DUCK_TYPES)
    got = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(null_values=["\\N"], strings_can_be_null=True,
                                             quoted_strings_can_be_null=False),
    )
    assert got.column("name").to_pylist() == [r[1] for r in ROWS]
    assert got.column("id").to_pylist() == [r[0] for r in ROWS]
    assert got.column("commit_ts").to_pylist() == [COMMIT_TS] * len(ROWS)
