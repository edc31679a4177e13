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

The demo binlog (a small shop: 637 rows, DDL, several tables) is checked the same way on a local directory.
SeaweedFS runs only the CSV case (it is the slowest store, and the format does not change how it stores).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import open_store, parse_checkpoint
from tests.e2e.checks import CHECKS
from tests.e2e.expected import Expected, decode
from tests.e2e.output import Output

TYPES = "mariadb/mariadb-10.11-types.000001"
DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
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


def replicate_and_check(source: Path, expected: Expected, uri: str, protocol: str, dest: Path) -> None:
    """Replicate ``source`` to ``uri``, fetch every object into ``dest`` and check every table version."""
    result = replicate(load_config(None, source=str(source), sink_uri=uri))
    store = open_store(uri)
    try:
        out = Output.fetch(store, dest)
    finally:
        store.close()
    # At the end of the source the checkpoint is the last commit-ts itself (every change is durable).
    assert result.checkpoint_ts == expected.last_commit_ts
    assert parse_checkpoint(out.objects["metadata"]) == result.checkpoint_ts
    assert set(out.data_files) == set(expected.records)
    for key, records in expected.records.items():
        info = expected.tables[key]
        assert out.column_names(key) == list(info.column_names), key
        CHECKS[protocol](out, key, info, records)


@pytest.mark.parametrize(("kind", "protocol"), CASES)
def test_types_binlog_reads_back_in_duckdb_and_pyarrow(
    kind: str,
    protocol: str,
    types_binlog: tuple[Path, Expected],
    store_uri_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source, expected = types_binlog
    assert len(expected.records) >= 8  # three versions of all_types with rows, and the other tables
    assert sum(len(r) for r in expected.records.values()) >= 90
    uri = with_query(store_uri_factory(kind), QUERIES[protocol])
    replicate_and_check(source, expected, uri, protocol, tmp_path / "out")


@pytest.mark.parametrize("protocol", list(QUERIES))
def test_demo_binlog_reads_back_in_duckdb_and_pyarrow(protocol: str, tmp_path: Path) -> None:
    expected = decode(DEMO)
    assert sum(len(r) for r in expected.records.values()) >= 600
    uri = with_query((tmp_path / "store").as_uri(), QUERIES[protocol])
    replicate_and_check(DEMO, expected, uri, protocol, tmp_path / "out")
