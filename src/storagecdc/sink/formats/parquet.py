"""Parquet, this project's typed format (docs/output-format.md, "Formats").

Columns: ``_op`` (string ``I``/``U``/``D``), ``_commit_ts`` (int64), ``_commit_time`` (timestamp ms UTC),
``_seq`` (int64, the change's position in its transaction), ``_is_update`` (bool, only with
``output-old-value``), then the table's columns with exact Arrow types. The schema is a pure function of
the table version, so every file of a version has the same schema. Zero dates (strings in the model) are
written as null. One Arrow table per file, written with ``pq.write_table``; the bytes depend only on the
rows (no timestamps in the footer).

Rows that arrive already columnar (an initial snapshot's, made Arrow data by its readers):
``insert_batch`` builds the record batch the encoder would build for the same rows as one INSERT batch
(``_seq`` from 0), and ``batch_chunk`` makes such a batch a ``Chunk`` for ``StorageTableWriter.append_chunk``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storagecdc.arrow_memory import use_system_allocator
from storagecdc.errors import ConfigError, SinkError
from storagecdc.model import ColumnInfo, RowChanges, TableInfo, ts_physical_ms
from storagecdc.sink.formats import values as V
from storagecdc.sink.formats.base import Chunk, Part, expand, transpose
from storagecdc.sink.options import SinkOptions

use_system_allocator()  # for every process that encodes or parses Arrow data (arrow_memory)

METADATA_COLUMNS = ("_op", "_commit_ts", "_commit_time", "_seq", "_is_update")

_INTS = {
    "TINYINT": (pa.int8(), pa.uint8()),
    "BOOL": (pa.int8(), pa.uint8()),
    "BOOLEAN": (pa.int8(), pa.uint8()),
    "SMALLINT": (pa.int16(), pa.uint16()),
    "MEDIUMINT": (pa.int32(), pa.uint32()),
    "INT": (pa.int32(), pa.uint32()),
    "INTEGER": (pa.int32(), pa.uint32()),
    "BIGINT": (pa.int64(), pa.uint64()),
}
_SIMPLE = {
    V.Kind.FLOAT: pa.float32(),
    V.Kind.DOUBLE: pa.float64(),
    V.Kind.DATE: pa.date32(),
    V.Kind.DATETIME: pa.timestamp("us"),
    V.Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    V.Kind.TIME: pa.duration("us"),
    V.Kind.YEAR: pa.int16(),
    V.Kind.BIT: pa.uint64(),
    V.Kind.TEXT: pa.string(),
    V.Kind.ENUM: pa.string(),
    V.Kind.SET: pa.string(),
    V.Kind.JSON: pa.string(),
    V.Kind.BINARY: pa.binary(),
    V.Kind.VECTOR: pa.binary(),
}
_ZERO_DATE_KINDS = (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP)


def arrow_type(col: ColumnInfo) -> pa.DataType:
    """The Arrow type of a column (see the module docstring and docs/output-format.md)."""
    kind = V.column_kind(col)
    if kind is V.Kind.INT:
        signed, unsigned = _INTS[col.type_name]
        return unsigned if col.unsigned else signed
    if kind is V.Kind.DECIMAL:
        precision = col.length or 10
        scale = col.scale or 0
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    return _SIMPLE[kind]


def arrow_schema(table: TableInfo, output_old_value: bool) -> pa.Schema:
    """The Parquet schema of a table version; a column named like a metadata column is a ``ConfigError``."""
    clash = [c.name for c in table.columns if c.name in METADATA_COLUMNS]
    if clash:
        raise ConfigError(
            f"table {table.name}: column(s) {', '.join(clash)} collide with the Parquet metadata columns "
            f"{', '.join(METADATA_COLUMNS)}; use another protocol for this table"
        )
    fields = [
        pa.field("_op", pa.string(), nullable=False),
        pa.field("_commit_ts", pa.int64(), nullable=False),
        pa.field("_commit_time", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("_seq", pa.int64(), nullable=False),
    ]
    if output_old_value:
        fields.append(pa.field("_is_update", pa.bool_(), nullable=False))
    fields.extend(pa.field(c.name, arrow_type(c)) for c in table.columns)
    return pa.schema(fields)


def _column_builder(col: ColumnInfo, typ: pa.DataType) -> Any:
    kind = V.column_kind(col)
    zero_dates = kind in _ZERO_DATE_KINDS

    def build(values: V.Column) -> pa.Array:
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            if not zero_dates:
                raise
        return pa.array([None if v.__class__ is str else v for v in values], type=typ)

    return build


@dataclass(slots=True)
class _Run:
    """Unpaired parts of several batches, gathered column by column."""

    ops: list[str] = field(default_factory=list)
    commit_ts: list[int] = field(default_factory=list)
    commit_ms: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    is_update: list[bool] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, part: Part, batch: RowChanges) -> None:
        n = len(part.rows)
        self.ops += [part.op.value] * n
        self.commit_ts += [batch.commit_ts] * n
        self.commit_ms += [batch.commit_time_ms or ts_physical_ms(batch.commit_ts)] * n
        self.seqs += range(part.start_seq, part.start_seq + n)
        self.is_update += [part.is_update] * n
        self.rows += part.rows


class ParquetEncoder:
    """Encodes the batches of one table version as Arrow tables and a file's tables as Parquet bytes."""

    extension = ".parquet"

    def __init__(self, table: TableInfo, options: SinkOptions) -> None:
        self._table = table
        self._old_value = options.output_old_value
        self.schema = arrow_schema(table, options.output_old_value)
        self._meta_width = 5 if options.output_old_value else 4
        self._builders = [
            _column_builder(c, self.schema.field(i + self._meta_width).type) for i, c in enumerate(table.columns)
        ]
        self._width = len(table.columns)
        self._compression = None if options.compression == "none" else options.compression

    def _data_arrays(self, rows: list[tuple[Any, ...]]) -> list[pa.Array]:
        columns = transpose(rows, self._width)
        arrays = []
        for build, column, col in zip(self._builders, columns, self._table.columns, strict=True):
            if V.has_absent(column):
                raise SinkError(
                    f"table {self._table.name}: column {col.name} is missing from a row image "
                    "(binlog_row_image=MINIMAL/NOBLOB); Parquet needs full row images"
                )
            try:
                arrays.append(build(column))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
                raise SinkError(f"table {self._table.name}: column {col.name}: {exc}") from exc
        return arrays

    def _part_table(self, part: Part, batch: RowChanges) -> pa.Table:
        n = len(part.rows)
        seqs = list(range(part.start_seq, part.start_seq + n))
        if part.paired:
            assert part.before is not None
            old = self._data_arrays(part.before)
            new = self._data_arrays(part.rows)
            order = pa.array([i // 2 + (n if i % 2 else 0) for i in range(2 * n)], pa.int64())
            data = [pa.concat_arrays([o, w]).take(order) for o, w in zip(old, new, strict=True)]
            ops = ["D", "I"] * n
            seqs = [s for s in seqs for _ in (0, 1)]
        else:
            data = self._data_arrays(part.rows)
            ops = [part.op.value] * n
        count = len(ops)
        meta = [
            pa.array(ops, pa.string()),
            pa.array([batch.commit_ts] * count, pa.int64()),
            pa.array([batch.commit_time_ms or ts_physical_ms(batch.commit_ts)] * count,
                     pa.timestamp("ms", tz="UTC")),
            pa.array(seqs, pa.int64()),
        ]
        if self._old_value:
            meta.append(pa.array([part.is_update] * count, pa.bool_()))
        return pa.Table.from_arrays(meta + data, schema=self.schema)

    def encode(self, batch: RowChanges) -> Chunk:
        return self.encode_many([batch])

    def encode_many(self, batches: list[RowChanges]) -> Chunk:
        """One Arrow table for many batches: runs of unpaired parts share one set of column arrays, since
        building arrays costs about the same for 40 rows as for 4,000."""
        tables: list[pa.Table] = []
        run = _Run()
        for batch in batches:
            for part in expand(batch, self._old_value):
                if part.paired:
                    if run.rows:
                        tables.append(self._run_table(run))
                        run = _Run()
                    tables.append(self._part_table(part, batch))
                else:
                    run.add(part, batch)
        if run.rows:
            tables.append(self._run_table(run))
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return Chunk(table, table.num_rows, table.nbytes)

    def _run_table(self, run: _Run) -> pa.Table:
        meta = [
            pa.array(run.ops, pa.string()),
            pa.array(run.commit_ts, pa.int64()),
            pa.array(run.commit_ms, pa.timestamp("ms", tz="UTC")),
            pa.array(run.seqs, pa.int64()),
        ]
        if self._old_value:
            meta.append(pa.array(run.is_update, pa.bool_()))
        return pa.Table.from_arrays(meta + self._data_arrays(run.rows), schema=self.schema)

    def assemble(self, chunks: list[Chunk]) -> bytes:
        builder = self.file_builder()
        for chunk in chunks:
            builder.add(chunk)
        return builder.finish()

    def file_builder(self) -> ParquetFileBuilder:
        return ParquetFileBuilder(self.schema, self._compression or "none")


ROW_GROUP_ROWS = 128 * 1024
"""Rows per row group of a data file (the last one holds the rest)."""


class ParquetFileBuilder:
    """One data file, encoded a row group at a time as its chunks come (``FileBuilder``): the Arrow data
    waiting is at most a row group's, plus the file's encoded bytes so far. Row groups hold exactly
    ``ROW_GROUP_ROWS`` rows and which columns are dictionary-encoded is decided from the file's first rows
    (``dictionary_columns``), so the bytes depend on the file's rows only, not on how they were chunked."""

    def __init__(self, schema: pa.Schema, compression: str) -> None:
        self._schema = schema
        self._compression = compression
        self._out = pa.BufferOutputStream()
        self._writer: pq.ParquetWriter | None = None
        self._waiting: list[pa.Table] = []
        self._waiting_rows = 0

    def add(self, chunk: Chunk) -> None:
        table: pa.Table = chunk.data
        self._waiting.append(table)
        self._waiting_rows += table.num_rows
        if self._waiting_rows >= ROW_GROUP_ROWS:
            rows = pa.concat_tables(self._waiting)
            done = rows.num_rows - rows.num_rows % ROW_GROUP_ROWS
            for start in range(0, done, ROW_GROUP_ROWS):
                self._write(rows.slice(start, ROW_GROUP_ROWS))
            rest = rows.slice(done)
            self._waiting = [rest] if rest.num_rows else []
            self._waiting_rows = rest.num_rows

    def finish(self) -> bytes:
        if self._waiting or self._writer is None:
            rows = pa.concat_tables(self._waiting) if self._waiting else self._schema.empty_table()
            self._write(rows)
        assert self._writer is not None
        self._writer.close()
        data: bytes = self._out.getvalue().to_pybytes()
        return data

    def _write(self, rows: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._out, self._schema, compression=self._compression,
                                            use_dictionary=dictionary_columns(rows))
        self._writer.write_table(rows, row_group_size=ROW_GROUP_ROWS)


DICTIONARY_SAMPLE = 1024
"""Leading values of a column that ``dictionary_columns`` looks at."""


def dictionary_columns(table: pa.Table) -> list[str]:
    """The columns worth dictionary encoding: those with at most half as many distinct values as values among
    their first ``DICTIONARY_SAMPLE`` (the metadata columns of one transaction, a status or a country column).
    For the others (keys, timestamps, free text) the writer would build a dictionary only to drop it once it
    outgrows its page: about a fifth of the encoding time of a sysbench table, and larger files
    (docs/performance.md, "Snapshot"). Decided from the data alone, so the same rows give the same bytes."""
    out = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        sample = column.slice(0, DICTIONARY_SAMPLE)
        if len(sample) and pc.count_distinct(sample, mode="all").as_py() <= len(sample) // 2:
            out.append(name)
    return out



def insert_batch(schema: pa.Schema, data: Sequence[pa.Array], commit_ts: int,
                 commit_time_ms: int = 0) -> pa.RecordBatch:
    """The record batch of ``schema`` (``arrow_schema``) for the rows of ``data`` (the table's columns, in its
    Arrow types) as one INSERT batch of the transaction ``commit_ts``: what ``encode`` makes of the same rows."""
    n = len(data[0]) if data else 0
    meta: list[pa.Array] = [
        pa.repeat(pa.scalar("I", pa.string()), n),
        pa.repeat(pa.scalar(commit_ts, pa.int64()), n),
        pa.repeat(pa.scalar(commit_time_ms or ts_physical_ms(commit_ts), pa.timestamp("ms", tz="UTC")), n),
        pa.array(np.arange(n, dtype=np.int64)),
    ]
    if schema.field(4).name == "_is_update":
        meta.append(pa.repeat(pa.scalar(False, pa.bool_()), n))
    return pa.RecordBatch.from_arrays([*meta, *data], schema=schema)


def batch_chunk(batch: pa.RecordBatch, schema: pa.Schema) -> Chunk:
    """A record batch of ``schema`` as an encoded chunk; a batch of another schema is a ``SinkError``."""
    if not batch.schema.equals(schema):
        raise SinkError(f"a record batch of schema {batch.schema} where {schema} was expected")
    table = pa.Table.from_batches([batch])
    return Chunk(table, table.num_rows, table.nbytes)
