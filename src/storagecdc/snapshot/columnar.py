"""Snapshot chunks as Arrow record batches in the sink's Parquet schema, built by the readers.

For a Parquet sink the readers (``snapshot.workers``) hand the changefeed finished Arrow data (the rows as inserts
at the snapshot's commit-ts, with the Parquet format's metadata columns: ``sink.formats.parquet.insert_batch``),
so that the changefeed's own thread does no per-row work. There are two ways to read a chunk:

- **text** (keyed tables whose every column has an exact text form below): the server formats each row as
  one value, ``CONCAT_WS(0x1F, '', <column expressions>, '')``, ``snapshot.wire`` makes the result one line
  per row in place, and pyarrow's CSV reader parses the chunk (0x1F separated, no quoting) into typed
  columns. The chunk is checked: the parser must find exactly one line per row and exactly the expected
  fields on every line (a value holding the separator, a line break or a carriage return fails the check);
  a chunk that fails it, or whose last key is not a plain value, is read again the row way, in the same
  transaction (the same rows).
- **rows** (tables with a column type below "rows", tables without a primary key, and rechecked chunks):
  pymysql's rows (``snapshot.reader``), made Arrow data by the Parquet encoder, in the reader.

Column expressions of the text way, by the value kind of ``sink.formats.values``; each gives exactly the
value the row way (and the binlog) gives:

==========================  =====================================================================
INT family, DECIMAL, YEAR   the column (the server's text is exact)
DOUBLE                      the column (the server prints the shortest text that reads back exactly)
FLOAT                       ``(c + 0E0)`` (the exact 32-bit value), narrowed to float32
BIT                         ``CAST(c AS UNSIGNED)``
TIME                        ``CAST(TIME_TO_SEC(c) * 1000000 AS SIGNED)``: microseconds (MariaDB; MySQL: rows)
DATE, DATETIME, TIMESTAMP   the column (TIMESTAMP in the session's UTC); zero and partly zero dates null
text, ENUM, SET             the column, ``CONVERT(c USING utf8mb4)`` unless it is utf8mb4 already
JSON                        the column, on MariaDB only (its JSON is text); MySQL: rows
binary strings, BLOB        ``HEX(c)``, decoded in Arrow
GEOMETRY, VECTOR, others    rows
==========================  =====================================================================

A nullable column also sends ``ISNULL(c)`` (text and binary kinds) or an empty value for NULL (the others),
since ``CONCAT_WS`` skips NULL arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pymysql

from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, ts_physical_ms
from storagecdc.sink.formats import values as V
from storagecdc.sink.formats.parquet import ParquetEncoder, arrow_type, insert_batch
from storagecdc.sink.options import SinkOptions
from storagecdc.snapshot.reader import Row, TablePlan, fetch_rows, streamed_chunks
from storagecdc.snapshot.wire import LineReader, Lines

log = logging.getLogger(__name__)

SEPARATOR = "\x1f"
Finish = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class _Column:
    """How one column travels as text: its expression, the type the CSV reader parses, the step to the sink's
    Arrow type, and whether a null indicator field follows it."""

    sql: str
    parsed: pa.DataType
    finish: Finish | None
    indicator: bool


def _identity(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


_UTF8 = frozenset({"utf8mb4"})
_HEX = np.full(256, 0, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i


def _unhex(arr: pa.Array) -> pa.Array:
    """Upper-case hex text to the bytes it spells (whole array at once)."""
    arr = arr.cast(pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    nibbles = _HEX[data]
    raw = (nibbles[0::2] << 4) | nibbles[1::2]
    new_offsets = ((offsets - offsets[0]) // 2).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), len(arr), [None, pa.py_buffer(new_offsets), pa.py_buffer(raw)])


def _nulled(arr: pa.Array, mask: pa.Array) -> pa.Array:
    """``arr`` with null where ``mask`` is true."""
    return pc.if_else(mask, pa.scalar(None, arr.type), arr) if pc.any(mask).as_py() else arr


def _dates(typ: pa.DataType) -> Finish:
    """Date text to ``typ``; zero and partly zero dates (and the empty text of NULL) to null."""
    naive = pa.timestamp("us") if pa.types.is_timestamp(typ) else typ

    def finish(arr: pa.Array) -> pa.Array:
        zero = pc.or_(pc.or_(pc.equal(arr, ""), pc.starts_with(arr, "0000")), pc.match_substring(arr, "-00"))
        out = pc.cast(_nulled(arr, zero), naive)
        return out if naive == typ else out.cast(typ)

    return finish


def _column(col: ColumnInfo, mariadb: bool) -> _Column | None:
    """The text form of a column (None: this column needs the row way)."""
    q = _identity(col.name)
    typ = arrow_type(col)
    kind = V.column_kind(col)
    if kind is V.Kind.DECIMAL and pa.types.is_decimal256(typ):  # the CSV reader has no decimal256
        return _Column(q, pa.string(), lambda a: _nulled(a, pc.equal(a, "")).cast(typ), False)
    if kind in (V.Kind.INT, V.Kind.DECIMAL, V.Kind.DOUBLE, V.Kind.YEAR):
        return _Column(q, typ, None, False)
    if kind is V.Kind.FLOAT:
        return _Column(f"({q} + 0E0)", pa.float64(), lambda a: a.cast(pa.float32(), safe=False), False)
    if kind is V.Kind.BIT:
        return _Column(f"CAST({q} AS UNSIGNED)", pa.uint64(), None, False)
    if kind is V.Kind.TIME and mariadb:  # MariaDB's TIME_TO_SEC keeps the fraction
        return _Column(f"CAST(TIME_TO_SEC({q}) * 1000000 AS SIGNED)", pa.int64(),
                       lambda a: a.view(pa.duration("us")), False)
    if kind in (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP):
        return _Column(q, pa.string(), _dates(typ), False)
    name = col.type_name
    if (kind in (V.Kind.TEXT, V.Kind.ENUM, V.Kind.SET) and name in _TEXT_TYPES) or (name == "JSON" and mariadb):
        sql = q if col.charset in _UTF8 else f"CONVERT({q} USING utf8mb4)"
        return _Column(sql, pa.string(), None, True)
    if kind is V.Kind.BINARY and name in _BINARY_TYPES:
        return _Column(f"HEX({q})", pa.string(), _unhex, True)
    return None


_TEXT_TYPES = frozenset({"CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET"})
_BINARY_TYPES = frozenset({"CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT",
                           "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB"})


class TextChunks:
    """The text way for one table: its row expression and the parser of a chunk's values."""

    def __init__(self, info: TableInfo, columns: list[_Column]) -> None:
        self._info = info
        self._columns = columns
        fields: list[str] = []
        names: list[str] = []
        types: dict[str, pa.DataType] = {}
        for i, (col, c) in enumerate(zip(info.columns, columns, strict=True)):
            nullable = col.nullable and not col.is_pk
            fields.append(f"IFNULL({c.sql}, '')" if nullable else c.sql)
            names.append(f"v{i}")
            types[f"v{i}"] = c.parsed
            if nullable and c.indicator:
                fields.append(f"ISNULL({_identity(col.name)})")
                names.append(f"n{i}")
                types[f"n{i}"] = pa.bool_()
        self._names = names
        self.row_sql = "CONCAT_WS(0x1F, '', " + ", ".join([*fields, "''"]) + ")"
        self._parse = pcsv.ParseOptions(delimiter=SEPARATOR, quote_char=False, double_quote=False, escape_char=False,
                                        newlines_in_values=False, ignore_empty_lines=False)
        self._convert = pcsv.ConvertOptions(column_types=types, null_values=[""], true_values=["1"],
                                            false_values=["0"], strings_can_be_null=False,
                                            quoted_strings_can_be_null=False, include_columns=names)

    def parse(self, lines: Lines) -> list[pa.Array] | str:
        """The data columns of a chunk in the sink's Arrow types, or why the chunk fails the check."""
        block = len(lines.data) + 1  # one block: the columns come as one chunk each, not combined by copying
        read = pcsv.ReadOptions(column_names=["_head", *self._names, "_end"], use_threads=False, block_size=block)
        try:
            table = pcsv.read_csv(pa.py_buffer(lines.data), read_options=read, parse_options=self._parse,
                                  convert_options=self._convert)
            if table.num_rows != lines.rows:
                return f"{table.num_rows} lines parsed for {lines.rows} rows"
            out = []
            for i, c in enumerate(self._columns):
                arr = table.column(f"v{i}").combine_chunks()
                if c.finish is not None:
                    arr = c.finish(arr)
                if f"n{i}" in table.column_names:
                    arr = _nulled(arr, table.column(f"n{i}").combine_chunks())
                out.append(arr)
            return out
        except pa.ArrowInvalid as exc:  # a line of other fields, a value its column's type cannot take
            return f"{exc}"[:200]


def text_chunks(info: TableInfo, mariadb: bool) -> TextChunks | None:
    """The text way for a keyed table whose every column has a text form; None: the row way."""
    if not info.pk_indexes:
        return None
    columns = [_column(c, mariadb) for c in info.columns]
    if any(c is None for c in columns):
        return None
    return TextChunks(info, [c for c in columns if c is not None])


class BatchReader:
    """Reads one table's chunks as record batches in the sink's Parquet schema (see the module docstring)."""

    def __init__(self, conn: pymysql.Connection[Any], plan: TablePlan, chunk_rows: int, mariadb: bool) -> None:
        target = plan.arrow
        if target is None:
            raise ValueError(f"table {plan.info.name}: no Arrow target in its plan")
        self._conn = conn
        self._plan = plan
        self._chunk_rows = chunk_rows
        self._target = target
        self._encoder = ParquetEncoder(plan.info, SinkOptions(protocol="parquet",
                                                              output_old_value=target.output_old_value))
        self._commit_ms = ts_physical_ms(target.commit_ts)
        self._convert = plan.converter()
        self.text = text_chunks(plan.info, mariadb)
        self._lines = LineReader(conn)
        self.rechecked = 0
        """Chunks that failed the text way's check and were read as rows."""

    def batches(self) -> Iterator[pa.RecordBatch]:
        if not self._plan.keyed:
            for rows in streamed_chunks(self._conn, self._plan, self._chunk_rows):
                yield self._rows_batch(rows)
            return
        plan, pk = self._plan, self._plan.info.pk_indexes
        limit = f" LIMIT {self._chunk_rows}"
        text_select = self.text.row_sql if self.text is not None else None
        args: list[Any] | None = None if plan.after is None else plan.next_chunk_args(plan.after)
        while True:
            first = args is None
            key: Row | None = None
            batch: pa.RecordBatch | None = None
            if text_select is not None:
                sql = (plan.first_chunk_sql(text_select) if first else plan.next_chunk_sql(text_select)) + limit
                lines = self._lines.query(self._bind(sql, args))
                if lines is not None and not lines.rows:
                    return
                made = self._text_batch(lines, pk) if lines is not None else "a value longer than one packet"
                if isinstance(made, str):
                    self._recheck(made)
                else:
                    batch, key = made
            if batch is None or key is None:
                sql = (plan.first_chunk_sql() if first else plan.next_chunk_sql()) + limit
                rows = fetch_rows(self._conn, sql, args)
                if not rows:
                    return
                key = tuple(rows[-1][i] for i in pk)
                batch = self._rows_batch(rows)
            yield batch
            if batch.num_rows < self._chunk_rows:
                return
            args = plan.next_chunk_args(key)

    def _text_batch(self, lines: Lines, pk: tuple[int, ...]) -> tuple[pa.RecordBatch, Row] | str:
        """The chunk's record batch and last key, or why the chunk must be read as rows."""
        assert self.text is not None
        arrays = self.text.parse(lines)
        if isinstance(arrays, str):
            return arrays
        key = tuple(_plain(arrays[i][-1].as_py()) for i in pk)
        if any(v is None for v in key):
            return "a NULL key value"
        return insert_batch(self._encoder.schema, arrays, self._target.commit_ts, self._commit_ms), key

    def _recheck(self, reason: str) -> None:
        """A chunk failed the text way's check and is read again as rows (same transaction, same result,
        slower): said once per table at INFO, then at DEBUG, so that a slow snapshot can be explained."""
        level = logging.DEBUG if self.rechecked else logging.INFO
        log.log(level, "snapshot: table %s: a chunk is read again as rows (%s)", self._plan.info.name, reason)
        self.rechecked += 1

    def _rows_batch(self, rows: list[Row]) -> pa.RecordBatch:
        if self._convert is not None:
            rows = self._convert(rows)
        batch = RowChanges(self._plan.info, Op.INSERT, self._target.commit_ts, rows, commit_time_ms=self._commit_ms)
        table: pa.Table = self._encoder.encode_many([batch]).data
        return table.combine_chunks().to_batches()[0]

    def _bind(self, sql: str, args: list[Any] | None) -> str:
        if args is None:
            return sql
        return sql % tuple(self._conn.escape(a) for a in args)


def _plain(value: Any) -> Any:
    """A key value as pymysql would give it (TIMESTAMP keys without their UTC zone)."""
    tz = getattr(value, "tzinfo", None)
    return value.replace(tzinfo=None) if tz is not None else value


def to_ipc(batch: pa.RecordBatch) -> pa.Buffer:
    """A record batch as Arrow IPC stream bytes (schema included)."""
    out = pa.BufferOutputStream()
    with pa.ipc.new_stream(out, batch.schema) as writer:
        writer.write_batch(batch)
    return out.getvalue()


def from_ipc(data: bytes | bytearray) -> pa.RecordBatch:
    """The record batch of ``to_ipc``'s bytes (no copy)."""
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()
