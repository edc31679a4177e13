"""Picks the reader of a data file by its extension: ``.csv``, ``.json`` (canal-json), ``.parquet``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from storagecdc.consumer.changes import Change
from storagecdc.consumer.decode_canal import CanalJsonReader
from storagecdc.consumer.decode_csv import CsvReader
from storagecdc.consumer.decode_parquet import ParquetReader
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo


class FileReader(Protocol):
    """Reads the data files of one table version."""

    def changes(self, data: bytes, key: str) -> Iterator[Change]:
        """The changes of one file, in file order (``key`` names the file in errors)."""
        ...


_READERS: dict[str, type[CsvReader] | type[CanalJsonReader] | type[ParquetReader]] = {
    "csv": CsvReader, "json": CanalJsonReader, "parquet": ParquetReader,
}


def reader_for(table: TableInfo, ext: str, options: ConsumerOptions) -> FileReader:
    cls = _READERS.get(ext)
    if cls is None:
        raise ConsumerError(f"table {table.name}: no reader for data files ending in .{ext}")
    return cls(table, options)


def carries_commit_ts(ext: str, options: ConsumerOptions) -> bool:
    """Whether every record of such a file has its commit-ts (needed for dedup and split-table merging)."""
    if ext == "parquet":
        return True
    if ext == "csv":
        return options.include_commit_ts
    return options.enable_tidb_extension
