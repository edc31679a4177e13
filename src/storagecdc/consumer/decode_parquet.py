"""This project's Parquet files back into typed changes.

Metadata columns ``_op``, ``_commit_ts``, ``_commit_time``, ``_seq`` and (with output-old-value)
``_is_update`` come first; the table's columns follow with exact Arrow types, which Arrow turns into the
model's Python values (decimal128/256 -> ``Decimal``, timestamp -> ``datetime``, duration -> ``timedelta``,
uint64 -> ``int``...). Zero dates were written as null and read back as NULL. Files are read in record
batches, so memory holds one batch of rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from storagecdc.consumer.changes import Change, pair_updates
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo

BATCH_ROWS = 4096


class ParquetReader:
    """Reads the Parquet data files of one table version."""

    def __init__(self, table: TableInfo, options: ConsumerOptions) -> None:
        self._table = table
        self._names = list(table.column_names)
        del options  # every Parquet option is in the file itself

    def _records(self, data: bytes, key: str) -> Iterator[tuple[str, int | None, bool, tuple[Any, ...]]]:
        try:
            file = pq.ParquetFile(io.BytesIO(data))
            names = set(file.schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            raise ConsumerError(f"data file {key!r} is not a readable Parquet file: {exc}") from exc
        missing = [n for n in ("_op", "_commit_ts", *self._names) if n not in names]
        if missing:
            raise ConsumerError(f"data file {key!r} lacks column(s) {', '.join(missing)} of table "
                                f"{self._table.name}")
        has_update = "_is_update" in names
        columns = ["_op", "_commit_ts", *(["_is_update"] if has_update else []), *self._names]
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            lists = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            ops, stamps = lists[0], lists[1]
            flags = lists[2] if has_update else [False] * batch.num_rows
            values = lists[3 if has_update else 2:]
            rows = zip(*values, strict=True) if values else iter([()] * batch.num_rows)
            yield from zip(ops, stamps, flags, rows, strict=True)

    def changes(self, data: bytes, key: str) -> Iterator[Change]:
        return pair_updates(self._records(data, key), f"data file {key!r}")
