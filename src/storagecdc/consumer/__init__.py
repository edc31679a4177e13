"""Reads the layout back in order and replays it into a database (TiCDC storage-consumer semantics).

- ``options``: ``ConsumerOptions`` (how the files were written) from the sink URI's query.
- ``scanner``: one round's ordered steps below the checkpoint; ``ddl``: a DDL's schema files -> ``DdlChange``.
- ``decode_csv``, ``decode_canal``, ``decode_parquet`` (via ``decoders.reader_for``): files -> typed ``Change``.
- ``replayer``: ``Replayer`` (one-shot or follow, dedup by commit-ts, progress in the target).
- ``applier``: the ``Applier`` protocol; ``sqlite_applier``, ``mysql_applier``; ``targets.open_applier``.
"""

from __future__ import annotations

from storagecdc.consumer.applier import Applier, DdlChange, TableChange
from storagecdc.consumer.changes import Change, ChangeKind
from storagecdc.consumer.decoders import FileReader, carries_commit_ts, reader_for
from storagecdc.consumer.mysql_applier import MySqlApplier
from storagecdc.consumer.options import ConsumerOptions, consumer_options, options_from_uri
from storagecdc.consumer.progress import PROGRESS_TABLE, Progress
from storagecdc.consumer.replayer import ConsumeStats, Replayer
from storagecdc.consumer.scanner import DataStep, DdlStep, Scanner, Step, Stream
from storagecdc.consumer.sqlite_applier import SqliteApplier, sqlite_table_name
from storagecdc.consumer.targets import open_applier

__all__ = [
    "PROGRESS_TABLE",
    "Applier",
    "Change",
    "ChangeKind",
    "ConsumeStats",
    "ConsumerOptions",
    "DataStep",
    "DdlChange",
    "DdlStep",
    "FileReader",
    "MySqlApplier",
    "Progress",
    "Replayer",
    "Scanner",
    "SqliteApplier",
    "Step",
    "Stream",
    "TableChange",
    "carries_commit_ts",
    "consumer_options",
    "open_applier",
    "options_from_uri",
    "reader_for",
    "sqlite_table_name",
]
