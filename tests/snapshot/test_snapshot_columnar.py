"""Snapshot chunks as Arrow record batches (``snapshot.columnar``): the text way gives exactly the record batches
the Parquet encoder makes of the row way's rows, for every column type, NULLs, long values and values that
break the line format (those chunks are read again as rows); tables without a text form and without a key
take the row way; key ranges let two readers share a table. Without a server: ``insert_batch`` equals the
encoder's output and ``append_chunk`` cuts files like ``append``."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, TableName
from storagecdc.sink.formats.parquet import ParquetEncoder, batch_chunk, insert_batch
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.snapshot.columnar import BatchReader, from_ipc, text_chunks, to_ipc
from storagecdc.snapshot.point import take_point
from storagecdc.snapshot.reader import ArrowTarget, TablePlan, key_ranges, read_table
from storagecdc.snapshot.workers import open_reader, read_tables
from storagecdc.source.live import LiveSource
from storagecdc.source.stream import SchemaOptions
from storagecdc.storage import open_store

TS = (1_700_000_000_000 << 18) + 1

TYPES = """
CREATE TABLE types (
  id INT PRIMARY KEY, ti TINYINT, u BIGINT UNSIGNED, d DECIMAL(12,3), big DECIMAL(40,10), f FLOAT, g DOUBLE,
  b BIT(10), b64 BIT(64), y YEAR, dt DATE, dtm DATETIME(3), ts TIMESTAMP(6) NULL, tm TIME(2), tm0 TIME,
  c CHAR(5), v VARCHAR(400) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1, bn BINARY(4),
  vb VARBINARY(16), bl BLOB, tx MEDIUMTEXT, e ENUM('a','b','c'), s SET('x','y','z'), j JSON,
  nn VARCHAR(10) NOT NULL DEFAULT ''
)
"""
_INSERT = "INSERT INTO types VALUES (" + ", ".join(["%s"] * 26) + ")"


def _rows() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [(1, *([None] * 24), "")]  # every nullable column NULL
    texts = ["", "plain", "日本語 ✓", 'say "hi", ok', "back\\slash", "\\N", "tab\there", "x" * 300]
    for i in range(2, 40):
        rows.append((
            i, -128 + i, [0, 2**64 - 1, 12345678901234567890][i % 3], Decimal(f"{-i * 1000}.5{i % 10}5"),
            Decimal("123456789012345678901234567890.0123456789"), [1.1, -3.5e10, 0.1, 16777217.0][i % 4],
            [0.1 + 0.2, 1e300, -2.2250738585072014e-308, 1 / 3][i % 4], i % 1024, 2**64 - 1 - i,
            [1901, 2155, 0][i % 3], ["2024-02-29", "1000-01-01", "0000-00-00", "2020-00-05"][i % 4],
            ["2023-05-06 07:08:09.123", "0000-00-00 00:00:00", "9999-12-31 23:59:59.999"][i % 3],
            ["2021-03-04 05:06:07.654321", "0000-00-00 00:00:00", "1970-01-01 00:00:01"][i % 3],
            ["-838:59:59.99", "12:34:56.78", "00:00:00", "-00:00:01.50"][i % 4], ["838:59:59", "-01:00:00"][i % 2],
            "ab", texts[i % len(texts)], "café", b"\x00\x01", bytes([i] * (i % 17)), bytes(range(i % 256)) * 3,
            "t" * (i * 2000), ["a", "c", ""][i % 3], ["x,z", "", "y"][i % 3], '{"k": [1, 2, "三"]}', f"n{i}",
        ))
    return rows


@pytest.fixture()
def conn(mariadb: MariaDBServer, mariadb_db: str) -> Any:
    mariadb.execute_script(TYPES, database=mariadb_db)
    writer = mariadb.connect(mariadb_db)
    with writer.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00', sql_mode = ''")  # zero and partly zero dates
        cur.executemany(_INSERT, _rows())
    writer.close()
    connection = open_reader(LiveSource(mariadb.uri(), None, blocking=False))
    yield connection
    connection.close()


def _info(conn: pymysql.Connection[Any], db: str, table: str) -> TableInfo:
    tracker = SchemaOptions().tracker_factory(1, "mariadb")
    tracker.load_from_server(conn, [db])
    info = tracker.table(TableName(db, table))
    assert info is not None
    return info


def _expected(conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int, old_value: bool) -> list[pa.Table]:
    """The row way through the Parquet encoder, chunk by chunk (what the changefeed's process encoded before)."""
    encoder = ParquetEncoder(plan.info, SinkOptions(protocol="parquet", output_old_value=old_value))
    return [encoder.encode(RowChanges(plan.info, Op.INSERT, TS, rows)).data
            for rows in read_table(conn, plan, chunk_rows)]


def _batches(conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int) -> tuple[list[pa.Table], int]:
    reader = BatchReader(conn, plan, chunk_rows, mariadb=True)
    tables = [pa.Table.from_batches([from_ipc(to_ipc(b).to_pybytes())]) for b in reader.batches()]
    return tables, reader.rechecked


@pytest.mark.mariadb
@pytest.mark.parametrize("old_value", [False, True])
def test_text_way_equals_the_encoded_row_way_for_every_type(conn: Any, mariadb_db: str, old_value: bool) -> None:
    info = _info(conn, mariadb_db, "types")
    assert text_chunks(info, mariadb=True) is not None
    plan = TablePlan(info, 0, arrow=ArrowTarget(TS, old_value))
    got, rechecked = _batches(conn, plan, 7)
    want = _expected(conn, TablePlan(info, 0), 7, old_value)
    assert rechecked == 0
    assert [t.num_rows for t in got] == [7] * 5 + [4]
    for g, w in zip(got, want, strict=True):
        assert g.equals(w), (g.to_pylist()[:2], w.to_pylist()[:2])
    row = got[0].to_pylist()[1]  # id 2: spot checks against the model's conventions
    assert row["f"] == 0.10000000149011612 and row["dt"] is None and row["tm"] == dt.timedelta(0)
    assert row["tm0"] == dt.timedelta(hours=838, minutes=59, seconds=59)
    assert row["u"] == 12345678901234567890 and row["b64"] == 2**64 - 3


@pytest.mark.mariadb
def test_continued_reads_start_after_the_key(conn: Any, mariadb_db: str) -> None:
    info = _info(conn, mariadb_db, "types")
    plan = TablePlan(info, 0, after=(30,), arrow=ArrowTarget(TS, False))
    got, _ = _batches(conn, plan, 100)
    assert [r["id"] for t in got for r in t.to_pylist()] == list(range(31, 40))


@pytest.mark.mariadb
@pytest.mark.parametrize("value", ["a\x1fb", "line\nbreak", "cr\r", "\r\nx", "\n"], ids=repr)
def test_values_that_break_lines_are_read_again_as_rows(mariadb: MariaDBServer, mariadb_db: str, conn: Any,
                                                         value: str, caplog: pytest.LogCaptureFixture) -> None:
    mariadb.execute(f"UPDATE `{mariadb_db}`.types SET v = %s WHERE id = 9", [value])
    info = _info(conn, mariadb_db, "types")
    with caplog.at_level(logging.INFO, logger="storagecdc.snapshot.columnar"):
        got, rechecked = _batches(conn, TablePlan(info, 0, arrow=ArrowTarget(TS, False)), 7)
    assert rechecked == 1
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(said) == 1 and f"table {info.name}: a chunk is read again as rows (" in said[0], said
    want = _expected(conn, TablePlan(info, 0), 7, False)
    assert all(g.equals(w) for g, w in zip(got, want, strict=True))
    assert got[1].to_pylist()[1]["v"] == value


@pytest.mark.mariadb
def test_tables_without_a_text_form_or_a_key_take_the_row_way(mariadb: MariaDBServer, mariadb_db: str,
                                                              conn: Any) -> None:
    mariadb.execute_script(
        "CREATE TABLE ip (id INT PRIMARY KEY, a INET6); INSERT INTO ip VALUES (1, '::1'), (2, NULL);"
        "CREATE TABLE nokey (a INT, b VARCHAR(5)); INSERT INTO nokey VALUES (1, 'x'), (NULL, NULL), (3, 'z');"
        "CREATE TABLE empty (id INT PRIMARY KEY, v TEXT)", database=mariadb_db)
    for table, rows in (("ip", [2]), ("nokey", [2, 1]), ("empty", [])):
        info = _info(conn, mariadb_db, table)
        got, _ = _batches(conn, TablePlan(info, 0, arrow=ArrowTarget(TS, False)), 2)
        want = _expected(conn, TablePlan(info, 0), 2, False)
        assert [t.num_rows for t in got] == rows
        assert all(g.equals(w) for g, w in zip(got, want, strict=True)), table
    assert text_chunks(_info(conn, mariadb_db, "ip"), mariadb=True) is None
    assert text_chunks(_info(conn, mariadb_db, "nokey"), mariadb=True) is None


_SMALL = TableInfo(TableName("db", "t"), (ColumnInfo("id", "INT", is_pk=True), ColumnInfo("v", "VARCHAR")), 5)


@pytest.mark.parametrize("old_value", [False, True])
def test_insert_batch_is_what_the_encoder_makes_of_the_rows(old_value: bool) -> None:
    rows = [(i, f"v{i}" if i % 3 else None) for i in range(10)]
    encoder = ParquetEncoder(_SMALL, SinkOptions(protocol="parquet", output_old_value=old_value))
    want = encoder.encode(RowChanges(_SMALL, Op.INSERT, TS, rows, commit_time_ms=1234)).data
    data = [pa.array([r[0] for r in rows], pa.int32()), pa.array([r[1] for r in rows], pa.string())]
    got = pa.Table.from_batches([insert_batch(encoder.schema, data, TS, 1234)])
    assert got.equals(want)


def test_append_chunk_cuts_files_at_the_file_size(tmp_path: Path) -> None:
    options = SinkOptions(protocol="parquet", file_size=3000)
    encoder = ParquetEncoder(_SMALL, options)
    store = open_store(f"file://{tmp_path}", {})
    try:
        writer = StorageTableWriter(store, _SMALL, options, encoder)
        for start in range(0, 1000, 100):
            data = [pa.array(range(start, start + 100), pa.int32()), pa.array([f"v{i}" for i in range(100)])]
            writer.append_chunk(batch_chunk(insert_batch(encoder.schema, data, TS), encoder.schema), TS)
            assert writer.buffered_bytes == 0  # not held until the cut: already in the lane's file builder
        writer.flush()
        writer.close()
    finally:
        store.close()
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) > 1
    ids = [i for f in files for i in pq.read_table(f).column("id").to_pylist()]
    assert ids == list(range(1000))
    with pytest.raises(Exception, match="schema"):
        batch_chunk(insert_batch(encoder.schema, data, TS).select([0, 1, 2, 3, 4]), encoder.schema)


@pytest.mark.mariadb
@pytest.mark.parametrize("arrow", [False, True], ids=["rows", "arrow"])
def test_key_ranges_let_two_readers_share_a_table_in_key_order(mariadb: MariaDBServer, mariadb_db: str,
                                                               conn: Any, arrow: bool) -> None:
    mariadb.execute_script("CREATE TABLE r (id BIGINT PRIMARY KEY, v INT);"
                           "INSERT INTO r SELECT CAST(seq AS SIGNED) * 3 - 1000, seq FROM seq_1_to_5000",
                           database=mariadb_db)
    info = _info(conn, mariadb_db, "r")
    target = ArrowTarget(TS, False) if arrow else None
    for after, first in ((None, -997), ((6000,), 6002)):
        plan = TablePlan(info, 2000, after=after, arrow=target)  # the estimate is off: ranges still cover all
        pieces = key_ranges(conn, [plan], 100)
        assert len(pieces) == 20 and pieces[0].after == after and pieces[-1].upto is None
        point = take_point(LiveSource(mariadb.uri(), None, blocking=False), mariadb.uri(), 2)
        try:
            got = list(read_tables(point.workers, pieces, 100))
        finally:
            point.close()
        assert got[-1] == (info.name, None)
        chunks = [chunk for _, chunk in got[:-1] if chunk is not None]
        assert len(chunks) == len(got) - 1
        ids = [row[0] if isinstance(row, tuple) else row["id"] for chunk in chunks
               for row in (chunk if isinstance(chunk, list) else chunk.to_pylist())]
        assert ids == list(range(first, 14001, 3))


def test_a_key_range_bounds_the_chunk_queries() -> None:
    plan = TablePlan(_SMALL, 0, after=(10,), upto=20)
    assert plan.integer_key
    assert plan.first_chunk_sql() == "SELECT `id`, `v` FROM `db`.`t` WHERE `id` <= 20 ORDER BY `id`"
    assert plan.next_chunk_sql() == "SELECT `id`, `v` FROM `db`.`t` WHERE ((`id` > %s)) AND `id` <= 20 ORDER BY `id`"


def test_mysql_reads_time_and_json_as_rows() -> None:
    for col in (ColumnInfo("t", "TIME", scale=2), ColumnInfo("j", "JSON")):
        info = TableInfo(TableName("db", "t"), (ColumnInfo("id", "INT", is_pk=True), col), 5)
        assert text_chunks(info, mariadb=True) is not None
        assert text_chunks(info, mariadb=False) is None


@pytest.mark.mariadb
def test_a_row_of_more_than_16_mib_is_read_as_rows(mariadb: MariaDBServer, mariadb_db: str, conn: Any) -> None:
    mariadb.execute_script("CREATE TABLE huge (id INT PRIMARY KEY, t LONGTEXT NOT NULL);"
                           "INSERT INTO huge VALUES (1, 'a'), (2, REPEAT('b', 17000000)), (3, 'c')",
                           database=mariadb_db)
    info = _info(conn, mariadb_db, "huge")
    got, rechecked = _batches(conn, TablePlan(info, 0, arrow=ArrowTarget(TS, False)), 2)
    assert rechecked == 1  # the split packet: that chunk again as rows; the connection stays usable
    assert [len(r["t"]) for t in got for r in t.to_pylist()] == [1, 17000000, 1]
