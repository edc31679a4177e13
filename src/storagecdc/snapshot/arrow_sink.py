"""The snapshot's writers for tables whose chunks come from the readers as Arrow record batches.

A Parquet sink takes a table's snapshot chunks without per-row work: each record batch (already in the
table's Parquet schema, ``snapshot.columnar``) becomes an encoded chunk of a ``StorageTableWriter`` of the
snapshot's own (``append_chunk``), in the table's data directory. The table's first chunk is preceded by an
empty batch handed to the changefeed, which creates the table's dispatcher (and its schema file, before any
data file); the dispatcher's own writer gets no snapshot rows, and its first file after the snapshot
continues the directory's file indexes (it resumes there as after a restart). ``flush`` makes a table's rows
durable (the snapshot calls it before it records the table done); the changefeed's counters count the rows
as if they had passed through it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from storagecdc.model import Op, TableInfo, TableName
from storagecdc.runtime.changefeed import Changefeed
from storagecdc.sink.formats.parquet import METADATA_COLUMNS, arrow_schema, batch_chunk
from storagecdc.sink.writer import StorageTableWriter

_SEQ = METADATA_COLUMNS.index("_seq")


class ArrowTables:
    """One writer per table being read; not thread-safe."""

    def __init__(self, feed: Changefeed) -> None:
        self._feed = feed
        self._writers: dict[TableName, tuple[StorageTableWriter, pa.Schema]] = {}

    def started(self, name: TableName) -> bool:
        """Whether ``name`` has its writer (and so its dispatcher) already."""
        return name in self._writers

    def append(self, info: TableInfo, batch: pa.RecordBatch, commit_ts: int, seq: int) -> None:
        """Append a chunk whose rows are the table's ``seq``-th and following of the snapshot transaction
        (its ``_seq`` column, which the reader numbered from 0, is numbered from there)."""
        if seq:
            numbers = pa.array(np.arange(seq, seq + batch.num_rows, dtype=np.int64))
            batch = batch.set_column(_SEQ, batch.schema.field(_SEQ), numbers)
        entry = self._writers.get(info.name)
        if entry is None:
            schema = arrow_schema(info, self._feed.config.sink.output_old_value)
            entry = self._writers[info.name] = (self._feed.sink.table_writer(info), schema)
        writer, schema = entry
        writer.append_chunk(batch_chunk(batch, schema), commit_ts)
        counters = self._feed.counters
        counters.rows += batch.num_rows
        key = (str(info.name), Op.INSERT.value)
        counters.rows_by_table[key] = counters.rows_by_table.get(key, 0) + batch.num_rows

    def flush(self, names: set[TableName]) -> None:
        """Make every row of ``names`` appended so far durable and drop their writers."""
        for name in sorted(names & self._writers.keys()):
            writer, _ = self._writers.pop(name)
            writer.flush()
            writer.close()
