"""Encoders: CSV, canal-json and Parquet. ``encoder_for`` picks one by the ``protocol`` option."""

from __future__ import annotations

from storagecdc.model import TableInfo
from storagecdc.sink.formats.base import Chunk, TableEncoder
from storagecdc.sink.formats.canal_json import CanalJsonEncoder
from storagecdc.sink.formats.csv import CsvEncoder
from storagecdc.sink.formats.parquet import ParquetEncoder
from storagecdc.sink.options import SinkOptions

__all__ = ["CanalJsonEncoder", "Chunk", "CsvEncoder", "ParquetEncoder", "TableEncoder", "encoder_for"]


def encoder_for(table: TableInfo, options: SinkOptions) -> TableEncoder:
    """The encoder of ``options.protocol`` for one table version (Parquet checks column names here)."""
    if options.protocol == "csv":
        return CsvEncoder(table, options)
    if options.protocol == "canal-json":
        return CanalJsonEncoder(table, options)
    return ParquetEncoder(table, options)
