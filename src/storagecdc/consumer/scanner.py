"""One round's ordered walk of the layout (reference §7): what is new up to the checkpoint, in replay order.

Each round lists the store once and then:

1. skips everything whose table version is above the checkpoint (``metadata``: every change with a commit-ts
   at or below it is durable, as TiCDC's checkpoint-ts and ``storagecdc run`` mean it);
2. collects the schema files above each name's DDL watermark, one ``DdlStep`` per version (one DDL may write
   several files: a RENAME writes the new name's and the old name's);
3. for every data directory and span (``CDC_<dispatcher>_<n>`` files of split tables have their own index
   ``CDC_<dispatcher>.index``), reads the index file only when the listing shows files past the span's
   position, and takes the files between the position and the index (data is written before its index, so
   those are complete); directories below the table's DDL watermark are stale and skipped;
4. groups the new files of one table version into one ``DataStep`` (streams per partition and span, files by
   date and index) and sorts all steps by (version, DDL before data, database, table).

The watermark is checked again by the replayer when it reaches a step, because DDL applied earlier in the
same round raises it: deciding staleness up front is what made TiCDC's consumer replay a RENAME chain out of
order (ticdc#4430).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.progress import Progress, span_key
from storagecdc.errors import ConsumerError, ObjectNotFoundError
from storagecdc.model import TableName
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import (
    DataDir,
    DataFileKey,
    build_index_file_key,
    parse_data_file_key,
    parse_index_content,
    parse_index_file_key,
    parse_schema_file_key,
)
from storagecdc.storage.schema_file import SchemaFile, parse_schema_file


@dataclass(frozen=True, slots=True)
class DdlStep:
    """The schema files of one DDL (one version), in key order."""

    version: int
    files: tuple[SchemaFile, ...]


@dataclass(frozen=True, slots=True)
class Stream:
    """The new files of one span (partition and dispatcher) of a table version, in (date, index) order."""

    partition: int | None
    dispatcher: str | None
    files: tuple[DataFileKey, ...]


@dataclass(frozen=True, slots=True)
class DataStep:
    """The new data files of one table version, with the schema file that types them."""

    table: TableName
    version: int
    schema: SchemaFile
    streams: tuple[Stream, ...]


Step = DdlStep | DataStep


def _step_order(step: Step) -> tuple[int, int, str, str]:
    if isinstance(step, DdlStep):
        return (step.version, 0, "", "")
    return (step.version, 1, step.table.schema, step.table.table)


class Scanner:
    """Finds each round's steps. Keeps parsed schema files (they never change) between rounds."""

    def __init__(self, store: ObjectStore, options: ConsumerOptions) -> None:
        self._store = store
        self._options = options
        self._schemas: dict[str, SchemaFile] = {}

    def schema_file(self, key: str) -> SchemaFile:
        cached = self._schemas.get(key)
        if cached is None:
            cached = self._schemas[key] = parse_schema_file(self._store.get(key), key)
        return cached

    def scan(self, checkpoint: int, progress: Progress) -> list[Step]:
        """The steps that are new up to ``checkpoint`` given ``progress``, in replay order."""
        separator = self._options.date_separator
        schema_keys: dict[tuple[TableName, int], list[str]] = defaultdict(list)
        spans: dict[tuple[DataDir, str | None], list[DataFileKey]] = defaultdict(list)
        for info in self._store.list(""):
            key = info.key
            if key.startswith("_storagecdc/") or "/" not in key:
                continue
            skey = parse_schema_file_key(key)
            if skey is not None:
                if skey.version <= checkpoint:
                    schema_keys[(TableName(skey.schema, skey.table), skey.version)].append(key)
                continue
            if parse_index_file_key(key, separator) is not None:
                continue
            dkey = parse_data_file_key(key, separator)
            if dkey is not None and dkey.dir.version <= checkpoint:
                spans[(dkey.dir, dkey.dispatcher_id)].append(dkey)
        steps: list[Step] = self._ddl_steps(schema_keys, progress)
        new_files: dict[tuple[TableName, int], list[DataFileKey]] = defaultdict(list)
        for (data_dir, dispatcher), files in spans.items():
            name = TableName(data_dir.schema, data_dir.table)
            state = progress.tables.get(name)
            if state is not None and data_dir.version < state.ddl:
                continue  # stale: a later DDL of this name is applied already
            position = progress.spans.get(span_key(data_dir.key_prefix(), dispatcher), 0)
            if max(f.index for f in files) <= position:
                continue
            last = self._indexed(data_dir, dispatcher)
            new_files[(name, data_dir.version)].extend(f for f in files if position < f.index <= last)
        for (name, version), files in sorted(new_files.items()):
            if files:
                steps.append(self._data_step(name, version, files, schema_keys))
        steps.sort(key=_step_order)
        return steps

    def _ddl_steps(self, schema_keys: dict[tuple[TableName, int], list[str]], progress: Progress) -> list[Step]:
        by_version: dict[int, list[str]] = defaultdict(list)
        for (name, version), keys in schema_keys.items():
            state = progress.tables.get(name)
            if state is None or version > state.ddl:
                by_version[version].extend(keys)
        return [DdlStep(version, tuple(self.schema_file(k) for k in sorted(keys)))
                for version, keys in by_version.items()]

    def _indexed(self, data_dir: DataDir, dispatcher: str | None) -> int:
        """The index the span's index file names (0 when there is no index file yet)."""
        key = build_index_file_key(data_dir, dispatcher_id=dispatcher)
        try:
            return parse_index_content(self._store.get(key), key)[1]
        except ObjectNotFoundError:
            return 0

    def _data_step(self, name: TableName, version: int, files: list[DataFileKey],
                   schema_keys: dict[tuple[TableName, int], list[str]]) -> DataStep:
        typed = [f for f in (self.schema_file(k) for k in sorted(schema_keys.get((name, version), ())))
                 if f.columns]
        if not typed:
            raise ConsumerError(f"table {name}: data files under version {version} "
                                f"({files[0].dir.key_prefix()}) but no schema file with columns for that version")
        streams: dict[tuple[int, str], list[DataFileKey]] = defaultdict(list)
        for f in files:
            streams[(-1 if f.dir.partition is None else f.dir.partition, f.dispatcher_id or "")].append(f)
        return DataStep(name, version, typed[-1], tuple(
            Stream(None if part < 0 else part, disp or None, tuple(sorted(fs, key=lambda f: (f.dir.date, f.index))))
            for (part, disp), fs in sorted(streams.items())
        ))
