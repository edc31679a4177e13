"""Parquet: exact Arrow types per column type, metadata columns, codecs, determinism, readers."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storagecdc.errors import ConfigError, SinkError
from storagecdc.model import ABSENT, Op
from storagecdc.sink.formats.base import Chunk
from storagecdc.sink.formats.parquet import (
    ROW_GROUP_ROWS,
    ParquetEncoder,
    arrow_schema,
    arrow_type,
    dictionary_columns,
)
from storagecdc.sink.options import SinkOptions
from tests.sink.tables import COMMIT_TS, WIDE, WIDE_NULLS, batch, col, table, wide_row


@pytest.mark.parametrize(
    ("column", "want"),
    [
        (col("a", "TINYINT"), pa.int8()),
        (col("a", "TINYINT", unsigned=True), pa.uint8()),
        (col("a", "SMALLINT"), pa.int16()),
        (col("a", "SMALLINT", unsigned=True), pa.uint16()),
        (col("a", "MEDIUMINT"), pa.int32()),
        (col("a", "MEDIUMINT", unsigned=True), pa.uint32()),
        (col("a", "INT"), pa.int32()),
        (col("a", "INT", unsigned=True), pa.uint32()),
        (col("a", "BIGINT"), pa.int64()),
        (col("a", "BIGINT", unsigned=True), pa.uint64()),
        (col("a", "DECIMAL", length=18, scale=4), pa.decimal128(18, 4)),
        (col("a", "DECIMAL", length=65, scale=30), pa.decimal256(65, 30)),
        (col("a", "DECIMAL"), pa.decimal128(10, 0)),
        (col("a", "FLOAT"), pa.float32()),
        (col("a", "DOUBLE"), pa.float64()),
        (col("a", "DATETIME", scale=6), pa.timestamp("us")),
        (col("a", "TIMESTAMP"), pa.timestamp("us", tz="UTC")),
        (col("a", "DATE"), pa.date32()),
        (col("a", "TIME", scale=3), pa.duration("us")),
        (col("a", "YEAR"), pa.int16()),
        (col("a", "BIT", length=5), pa.uint64()),
        (col("a", "CHAR", charset="utf8mb4"), pa.string()),
        (col("a", "VARCHAR", charset="utf8mb4"), pa.string()),
        (col("a", "TEXT", charset="utf8mb4"), pa.string()),
        (col("a", "ENUM", elems=("x",)), pa.string()),
        (col("a", "SET", elems=("x",)), pa.string()),
        (col("a", "JSON"), pa.string()),
        (col("a", "BINARY", length=4, charset="binary"), pa.binary()),
        (col("a", "VARCHAR", charset="binary"), pa.binary()),
        (col("a", "BLOB", charset="binary"), pa.binary()),
        (col("a", "GEOMETRY"), pa.binary()),
        (col("a", "VECTOR"), pa.binary()),
    ],
)
def test_arrow_type_per_column_type(column, want: pa.DataType) -> None:
    assert arrow_type(column) == want


def test_schema_metadata_columns_and_stability() -> None:
    schema = arrow_schema(WIDE, output_old_value=True)
    assert schema.names[:5] == ["_op", "_commit_ts", "_commit_time", "_seq", "_is_update"]
    assert schema.field("_commit_time").type == pa.timestamp("ms", tz="UTC")
    assert schema.names[5:] == list(WIDE.column_names)
    assert arrow_schema(WIDE, output_old_value=False).names[:5] == ["_op", "_commit_ts", "_commit_time", "_seq",
                                                                   "id"]
    assert schema == arrow_schema(WIDE.with_version(99), output_old_value=True)


def test_metadata_column_name_clash_is_a_config_error() -> None:
    t = table("t", col("_op", "INT"))
    with pytest.raises(ConfigError, match="_op"):
        ParquetEncoder(t, SinkOptions(protocol="parquet"))


def _file(options: SinkOptions, *batches) -> bytes:
    enc = ParquetEncoder(WIDE, options)
    return enc.assemble([enc.encode(b) for b in batches])


def test_values_round_trip_through_pyarrow_and_duckdb(tmp_path) -> None:
    rows = [wide_row(i) for i in range(5)] + [WIDE_NULLS]
    data = _file(SinkOptions(protocol="parquet"), batch(WIDE, Op.INSERT, rows, ts=COMMIT_TS, seq=7))
    got = pq.read_table(io.BytesIO(data))
    assert got.column("_op").to_pylist() == ["I"] * 6
    assert got.column("_seq").to_pylist() == list(range(7, 13))
    assert got.column("_commit_ts").to_pylist() == [COMMIT_TS] * 6
    assert got.column("_commit_time")[0].as_py() == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert [tuple(r.values())[4:] for r in got.to_pylist()] == rows
    path = tmp_path / "f.parquet"
    path.write_bytes(data)
    con = duckdb.connect()
    # Parquet has no duration type: DuckDB sees TIME (Arrow duration[us]) as BIGINT microseconds.
    duck = con.execute(f"select id, d, dt, day, t, v, b from read_parquet('{path}') order by _seq").fetchall()
    assert duck[0] == (2**63, Decimal("0.5000"), dt.datetime(2024, 2, 29, 23, 59, 58), dt.date(1999, 12, 31),
                       -60_000_000, 'v0,"q"', bytes([0, 0, 255]))
    assert duck[5] == (1, None, None, None, None, None, None)


def test_update_with_old_value_interleaves_pairs() -> None:
    t = table("t", col("id", "INT", is_pk=True), col("v", "VARCHAR"))
    enc = ParquetEncoder(t, SinkOptions(protocol="parquet", output_old_value=True))
    b = batch(t, Op.UPDATE, [(1, "new1"), (2, "new2")], before=[(1, "old1"), (2, "old2")], seq=3)
    got = pq.read_table(io.BytesIO(enc.assemble([enc.encode(b)]))).to_pylist()
    assert [(r["_op"], r["_seq"], r["_is_update"], r["v"]) for r in got] == [
        ("D", 3, True, "old1"), ("I", 3, True, "new1"), ("D", 4, True, "old2"), ("I", 4, True, "new2")]


def test_update_without_old_value_and_pk_change() -> None:
    t = table("t", col("id", "INT", is_pk=True))
    enc = ParquetEncoder(t, SinkOptions(protocol="parquet"))
    b = batch(t, Op.UPDATE, [(1,), (3,)], before=[(1,), (2,)], pk_changed=[False, True])
    got = pq.read_table(io.BytesIO(enc.assemble([enc.encode(b)]))).to_pylist()
    assert [(r["_op"], r["_seq"], r["id"]) for r in got] == [("U", 0, 1), ("D", 1, 2), ("I", 1, 3)]


def test_zero_dates_become_null() -> None:
    t = table("t", col("d", "DATE"), col("dt", "DATETIME"), col("ts", "TIMESTAMP"))
    enc = ParquetEncoder(t, SinkOptions(protocol="parquet"))
    b = batch(t, Op.INSERT, [("0000-00-00", "0000-00-00 00:00:00", "0000-00-00 00:00:00"),
                             (dt.date(2000, 1, 1), None, None)])
    got = pq.read_table(io.BytesIO(enc.assemble([enc.encode(b)])))
    assert got.column("d").to_pylist() == [None, dt.date(2000, 1, 1)]
    assert got.column("dt").to_pylist() == [None, None]


@pytest.mark.parametrize(("compression", "codec"), [("zstd", "ZSTD"), ("snappy", "SNAPPY"),
                                                    ("none", "UNCOMPRESSED")])
def test_compression(compression: str, codec: str) -> None:
    data = _file(SinkOptions(protocol="parquet", compression=compression),
                 batch(WIDE, Op.INSERT, [wide_row(1)]))
    meta = pq.read_metadata(io.BytesIO(data))
    assert meta.row_group(0).column(0).compression == codec


def test_bytes_are_deterministic() -> None:
    opts = SinkOptions(protocol="parquet")
    first = _file(opts, batch(WIDE, Op.INSERT, [wide_row(i) for i in range(50)], ts=COMMIT_TS))
    second = _file(opts, batch(WIDE, Op.INSERT, [wide_row(i) for i in range(50)], ts=COMMIT_TS))
    assert first == second


def test_dictionary_encoding_only_where_values_repeat() -> None:
    rows = [wide_row(i) for i in range(3000)]  # e, txt repeat; id, i, v are all distinct
    meta = pq.read_metadata(io.BytesIO(_file(SinkOptions(protocol="parquet"), batch(WIDE, Op.INSERT, rows))))
    group = meta.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    for repeated in ("_op", "_commit_ts", "_commit_time", "e", "txt", "s", "j"):
        assert "RLE_DICTIONARY" in encodings[repeated], repeated
    for distinct in ("_seq", "id", "i", "v"):
        assert "RLE_DICTIONARY" not in encodings[distinct], distinct
    nulls = pa.array([None] * 4, pa.int32())
    assert dictionary_columns(pa.table({"a": [1, 1, 1, 2], "b": [1, 2, 3, 3], "n": nulls})) == ["a", "n"]


def test_file_bytes_do_not_depend_on_the_chunking() -> None:
    """Row groups of exactly ROW_GROUP_ROWS rows, dictionary columns chosen from the file's first rows."""
    enc = ParquetEncoder(WIDE, SinkOptions(protocol="parquet"))
    whole = enc.encode(batch(WIDE, Op.INSERT, [wide_row(i % 5000) for i in range(ROW_GROUP_ROWS + 300)]))
    files = []
    for size in (ROW_GROUP_ROWS + 300, 50_000, 777):
        builder = enc.file_builder()
        for start in range(0, whole.rows, size):
            part = whole.data.slice(start, size)
            builder.add(Chunk(part, part.num_rows, part.nbytes))
        files.append(builder.finish())
    assert files[0] == files[1] == files[2] == enc.assemble([whole])
    meta = pq.read_metadata(io.BytesIO(files[0]))
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [ROW_GROUP_ROWS, 300]
    assert pq.read_table(io.BytesIO(files[0])).equals(whole.data)


def test_absent_and_bad_values_name_the_table() -> None:
    t = table("t", col("id", "INT"))
    enc = ParquetEncoder(t, SinkOptions(protocol="parquet"))
    with pytest.raises(SinkError, match="row image"):
        enc.encode(batch(t, Op.DELETE, [(ABSENT,)]))
    with pytest.raises(SinkError, match=r"test\.t: column id"):
        enc.encode(batch(t, Op.INSERT, [("not a number",)]))
