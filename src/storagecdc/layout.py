"""A read-only model of a sink's layout, built from one listing of the store plus the small JSON objects.

``read_layout(store)`` lists every object once, parses every key with ``storage.paths`` (so names are the
real, decoded names) and reads the schema files, the ``metadata`` checkpoint, the syncpoint markers, the
owner record and the resume record. With ``rows`` set it also counts the records of every data file:

- CSV: records, split on the terminator outside quoted fields (a quoted field may hold the terminator),
  less the ``output-field-header`` line;
- canal-json: one JSON object per terminator-ended line (JSON strings never hold a raw CR or LF);
- Parquet: ``num_rows`` from the footer (a local file is opened in place so only its footer is read; an
  object on S3 is fetched whole, since the store seam has no ranged read).

The model::

    Layout -> Database (real name, database-level DDL) -> Table (real name)
           -> TableVersion (schema file: query, DDL type, columns)
           -> DataDirectory (partition, date) -> Dispatcher ("" when unsplit; index file)
           -> DataFile (key, name, index, size, rows)

plus the checkpoint, syncpoints, owner record, a resume summary, keys that belong to no part of the layout
and ``problems`` (objects that exist but cannot be parsed: listed, never fatal). ``to_json_obj`` gives the
stable JSON document that ``storagecdc ls --json`` prints (its shape is in ``storagecdc.cli.ls``).
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from storagecdc.errors import StorageCdcError
from storagecdc.model import ts_physical_ms
from storagecdc.runtime.resume import RESUME_KEY, read_resume
from storagecdc.storage import (
    METADATA_KEY,
    OWNER_KEY,
    SYNCPOINT_PREFIX,
    DataDir,
    DataFileKey,
    DateSeparator,
    LocalStore,
    ObjectInfo,
    ObjectStore,
    OwnerRecord,
    SchemaFile,
    SyncpointMarker,
    parse_data_file_key,
    parse_index_file_key,
    parse_owner,
    parse_schema_file,
    parse_schema_file_key,
    parse_syncpoint,
    parse_syncpoint_key,
    read_checkpoint,
    redact_uri,
)

T = TypeVar("T")

JSON_FORMAT = 1
"""Version of the document ``Layout.to_json_obj`` returns; bumped only when a field changes meaning."""
_READERS = 8
"""Parallel object reads (row counting, schema files, markers): hides S3 latency, bounded memory."""


def ts_time(commit_ts: int) -> str:
    """The UTC wall time of a TSO-layout commit-ts, ``2026-11-27 05:46:22.000 UTC``."""
    ms = ts_physical_ms(commit_ts)
    when = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d} UTC"


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """What row counting must know about CSV files (the sink options of the same names)."""

    quote: str = '"'
    terminator: str = "\r\n"
    header: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """An object that exists but could not be read or parsed."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class DataFile:
    key: str
    name: str
    index: int
    size: int
    rows: int | None
    """None when rows were not counted (``--no-rows``) or the file could not be read."""


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """The files one span wrote into one data directory; ``id`` is "" for an unsplit table."""

    id: str
    index_key: str | None
    files: tuple[DataFile, ...]


@dataclass(frozen=True, slots=True)
class DataDirectory:
    prefix: str
    partition: int | None
    date: str
    dispatchers: tuple[Dispatcher, ...]


@dataclass(frozen=True, slots=True)
class TableVersion:
    version: int
    schema_key: str | None
    """None when data exists for a version that has no schema file (a damaged layout)."""
    schema: SchemaFile | None
    directories: tuple[DataDirectory, ...]

    def files(self) -> Iterator[DataFile]:
        for d in self.directories:
            for disp in d.dispatchers:
                yield from disp.files


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    versions: tuple[TableVersion, ...]

    @property
    def dispatcher_ids(self) -> tuple[str, ...]:
        """Every span id that wrote data files (sorted; ``("",)`` for an unsplit table)."""
        return tuple(sorted({disp.id for v in self.versions for d in v.directories for disp in d.dispatchers}))

    @property
    def split(self) -> bool:
        return any(self.dispatcher_ids)


@dataclass(frozen=True, slots=True)
class DatabaseDDL:
    version: int
    key: str
    schema: SchemaFile | None


@dataclass(frozen=True, slots=True)
class Database:
    name: str
    ddl: tuple[DatabaseDDL, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True, slots=True)
class ResumeSummary:
    changefeed_id: str
    checkpoint_ts: int
    source: str
    """Redacted."""
    file: str
    offset: int
    gtid_set: str


@dataclass(frozen=True, slots=True)
class Layout:
    uri: str
    """The store's URI without secrets."""
    object_count: int
    checkpoint_ts: int | None
    databases: tuple[Database, ...]
    syncpoints: tuple[SyncpointMarker, ...]
    owner: OwnerRecord | None
    resume: ResumeSummary | None
    other_keys: tuple[str, ...]
    problems: tuple[Problem, ...]
    rows_counted: bool

    @property
    def empty(self) -> bool:
        return self.object_count == 0

    def tables(self) -> Iterator[tuple[Database, Table]]:
        for db in self.databases:
            for table in db.tables:
                yield db, table

    def totals(self) -> dict[str, int | None]:
        files = [f for _, t in self.tables() for v in t.versions for f in v.files()]
        rows = sum(f.rows or 0 for f in files) if self.rows_counted else None
        return {"databases": len(self.databases), "tables": sum(1 for _ in self.tables()),
                "versions": sum(len(t.versions) for _, t in self.tables()), "files": len(files),
                "bytes": sum(f.size for f in files), "rows": rows}

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "format": JSON_FORMAT,
            "uri": self.uri,
            "checkpoint": _ts_obj(self.checkpoint_ts),
            "databases": [_database_obj(db) for db in self.databases],
            "syncpoints": [_syncpoint_obj(sp) for sp in self.syncpoints],
            "owner": None if self.owner is None else {
                "changefeed": self.owner.changefeed, "epoch": self.owner.epoch, "holder": self.owner.holder,
                "lease-expires-ms": self.owner.lease_expires_ms},
            "resume": None if self.resume is None else {
                "changefeed-id": self.resume.changefeed_id, "checkpoint-ts": self.resume.checkpoint_ts,
                "source": self.resume.source, "file": self.resume.file, "offset": self.resume.offset,
                "gtid-set": self.resume.gtid_set},
            "totals": self.totals(),
            "other-keys": list(self.other_keys),
            "problems": [{"key": p.key, "message": p.message} for p in self.problems],
        }


def _ts_obj(ts: int | None) -> dict[str, Any] | None:
    return None if ts is None else {"commit-ts": ts, "time": ts_time(ts)}


def _schema_obj(schema: SchemaFile | None) -> dict[str, Any]:
    if schema is None:
        return {"query": None, "type": None, "columns": None}
    columns = None if schema.columns is None else [
        {"name": c.name, "type": c.type, "pk": c.is_pk == "true", "nullable": c.nullable != "false"}
        for c in schema.columns]
    return {"query": schema.query, "type": schema.ddl_type, "columns": columns}


def _database_obj(db: Database) -> dict[str, Any]:
    return {
        "name": db.name,
        "ddl": [{"version": d.version, "time": ts_time(d.version), "schema-file": d.key, **_schema_obj(d.schema)}
                for d in db.ddl],
        "tables": [{
            "name": t.name,
            "split": t.split,
            "dispatchers": [d for d in t.dispatcher_ids if d],
            "versions": [{
                "version": v.version,
                "time": ts_time(v.version) if v.version else None,
                "schema-file": v.schema_key,
                **_schema_obj(v.schema),
                "directories": [{
                    "prefix": d.prefix,
                    "partition": d.partition,
                    "date": d.date,
                    "dispatchers": [{
                        "id": disp.id,
                        "index-file": disp.index_key,
                        "files": [{"key": f.key, "name": f.name, "index": f.index, "size": f.size, "rows": f.rows}
                                  for f in disp.files],
                    } for disp in d.dispatchers],
                } for d in v.directories],
            } for v in t.versions],
        } for t in db.tables],
    }


def _syncpoint_obj(sp: SyncpointMarker) -> dict[str, Any]:
    return {
        "commit-ts": sp.commit_ts,
        "time": ts_time(sp.commit_ts),
        "key": sp.key,
        "tables": [{
            "schema": t.name.schema,
            "table": t.name.table,
            "version": t.version,
            "spans": [{"dispatcher": span, "files": list(files)} for span, files in sorted(t.spans.items())],
        } for t in sorted(sp.tables, key=lambda t: (t.name.schema, t.name.table))],
    }


def count_csv_records(data: bytes, dialect: CsvDialect) -> int:
    """CSV records in ``data``: terminators outside quoted fields (a doubled quote toggles twice, so the
    even-numbered pieces between quote characters are exactly the unquoted text), less the header line."""
    if not data:
        return 0
    term = dialect.terminator.encode("utf-8")
    quote = dialect.quote.encode("utf-8")
    unquoted = data.split(quote)[::2] if quote and quote in data else [data]
    count = sum(piece.count(term) for piece in unquoted)
    if not data.endswith(term):
        count += 1
    return max(count - 1, 0) if dialect.header else count


def count_lines(data: bytes, terminator: str) -> int:
    """canal-json records: terminator-ended lines (a last line without one counts too)."""
    if not data:
        return 0
    term = terminator.encode("utf-8")
    return data.count(term) + (0 if data.endswith(term) else 1)


def count_rows(store: ObjectStore, key: str, ext: str, dialect: CsvDialect) -> int | None:
    """Records in one data file by its extension; None for an extension this project does not write."""
    if ext == "parquet":
        if isinstance(store, LocalStore):
            return int(pq.ParquetFile(store.root.joinpath(*key.split("/"))).metadata.num_rows)
        return int(pq.ParquetFile(io.BytesIO(store.get(key))).metadata.num_rows)
    if ext == "csv":
        return count_csv_records(store.get(key), dialect)
    if ext == "json":
        return count_lines(store.get(key), dialect.terminator)
    return None


@dataclass(slots=True)
class _Builder:
    """Collects parsed keys from the listing, grouped the way the model nests them."""

    date_separator: DateSeparator
    schema_keys: dict[tuple[str, str], dict[int, str]] = field(default_factory=dict)
    data: dict[DataDir, dict[str, list[tuple[DataFileKey, int]]]] = field(default_factory=dict)
    index: dict[DataDir, dict[str, str]] = field(default_factory=dict)
    syncpoint_keys: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    count: int = 0
    special: set[str] = field(default_factory=set)

    def add(self, info: ObjectInfo) -> None:
        self.count += 1
        key = info.key
        if key in (METADATA_KEY, OWNER_KEY, RESUME_KEY):
            self.special.add(key)
            return
        if key.startswith(SYNCPOINT_PREFIX):
            if parse_syncpoint_key(key) is not None:
                self.syncpoint_keys.append(key)
            else:
                self.other.append(key)
            return
        try:
            self._add_layout_key(key, info.size)
        except StorageCdcError:  # a segment that is not a canonical encoded name
            self.other.append(key)

    def _add_layout_key(self, key: str, size: int) -> None:
        schema_key = parse_schema_file_key(key)
        if schema_key is not None:
            self.schema_keys.setdefault((schema_key.schema, schema_key.table), {})[schema_key.version] = key
            return
        data_key = parse_data_file_key(key, self.date_separator)
        if data_key is not None:
            spans = self.data.setdefault(data_key.dir, {})
            spans.setdefault(data_key.dispatcher_id or "", []).append((data_key, size))
            return
        index_key = parse_index_file_key(key, self.date_separator)
        if index_key is not None:
            self.index.setdefault(index_key.dir, {})[index_key.dispatcher_id or ""] = key
            return
        self.other.append(key)


class _Reader:
    """Reads and parses objects, turning every failure into a ``Problem``."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.problems: list[Problem] = []

    def schema(self, key: str) -> SchemaFile | None:
        try:
            return parse_schema_file(self.store.get(key), key)
        except StorageCdcError as exc:
            self.problems.append(Problem(key, str(exc)))
            return None

    def syncpoint(self, key: str) -> SyncpointMarker | None:
        try:
            return parse_syncpoint(self.store.get(key), key)
        except StorageCdcError as exc:
            self.problems.append(Problem(key, str(exc)))
            return None

    def rows(self, item: tuple[DataFileKey, str], dialect: CsvDialect) -> int | None:
        key_obj, key = item
        try:
            return count_rows(self.store, key, key_obj.ext, dialect)
        except (StorageCdcError, OSError, pa.ArrowException) as exc:
            self.problems.append(Problem(key, f"cannot count rows: {exc}"))
            return None


def read_layout(store: ObjectStore, *, date_separator: DateSeparator = DateSeparator.DAY,
                rows: CsvDialect | None = None) -> Layout:
    """The layout under ``store``. ``date_separator`` is the writer's; ``rows`` (the CSV dialect) turns on
    row counting, which reads every data file (Parquet: only the footer of a local file)."""
    builder = _Builder(date_separator)
    for info in store.list(""):
        builder.add(info)
    reader = _Reader(store)
    with ThreadPoolExecutor(_READERS) as pool:
        schema_keys = sorted({k for versions in builder.schema_keys.values() for k in versions.values()})
        schemas = dict(zip(schema_keys, pool.map(reader.schema, schema_keys), strict=True))
        markers = [m for m in pool.map(reader.syncpoint, sorted(builder.syncpoint_keys)) if m is not None]
        counts: dict[str, int | None] = {}
        if rows is not None:
            items = [(k, d.key_prefix() + k.name) for d, spans in builder.data.items()
                     for files in spans.values() for k, _ in files]
            counts = dict(zip((key for _, key in items), pool.map(lambda i: reader.rows(i, rows), items),
                              strict=True))
    checkpoint = _special(reader, builder, METADATA_KEY, lambda: read_checkpoint(store))
    owner = _special(reader, builder, OWNER_KEY, lambda: parse_owner(store.get(OWNER_KEY)))
    resume = _special(reader, builder, RESUME_KEY, lambda: _resume_summary(store))
    return Layout(
        uri=redact_uri(store.display_uri),
        object_count=builder.count,
        checkpoint_ts=checkpoint,
        databases=_databases(builder, schemas, counts),
        syncpoints=tuple(markers),
        owner=owner,
        resume=resume,
        other_keys=tuple(sorted(builder.other)),
        problems=tuple(sorted(reader.problems, key=lambda p: p.key)),
        rows_counted=rows is not None,
    )


def _special(reader: _Reader, builder: _Builder, key: str, read: Callable[[], T | None]) -> T | None:
    if key not in builder.special:
        return None
    try:
        value = read()
    except StorageCdcError as exc:
        reader.problems.append(Problem(key, str(exc)))
        return None
    return value


def _resume_summary(store: ObjectStore) -> ResumeSummary | None:
    record = read_resume(store)
    if record is None:
        return None
    pos = record.state.position
    return ResumeSummary(record.changefeed_id, record.checkpoint_ts, redact_uri(record.source), pos.file,
                         pos.offset, pos.gtid_set)


def _directory(data_dir: DataDir, spans: dict[str, list[tuple[DataFileKey, int]]], index: dict[str, str],
               counts: dict[str, int | None]) -> DataDirectory:
    prefix = data_dir.key_prefix()
    dispatchers = []
    for span in sorted(set(spans) | set(index)):
        files = sorted(spans.get(span, []), key=lambda item: item[0].index)
        dispatchers.append(Dispatcher(span, index.get(span), tuple(
            DataFile(prefix + k.name, k.name, k.index, size, counts.get(prefix + k.name)) for k, size in files)))
    return DataDirectory(prefix, data_dir.partition, data_dir.date, tuple(dispatchers))


def _databases(builder: _Builder, schemas: dict[str, SchemaFile | None],
               counts: dict[str, int | None]) -> tuple[Database, ...]:
    dirs_by_version: dict[tuple[str, str, int], list[DataDir]] = {}
    data_versions: dict[tuple[str, str], set[int]] = {}
    for data_dir in set(builder.data) | set(builder.index):
        dirs_by_version.setdefault((data_dir.schema, data_dir.table, data_dir.version), []).append(data_dir)
        data_versions.setdefault((data_dir.schema, data_dir.table), set()).add(data_dir.version)
    names: dict[str, set[str]] = {}
    for schema, table in builder.schema_keys:
        names.setdefault(schema, set()).add(table)
    for schema, table, _ in dirs_by_version:
        names.setdefault(schema, set()).add(table)
    databases = []
    for schema in sorted(names):
        ddl = tuple(DatabaseDDL(v, k, schemas.get(k))
                    for v, k in sorted(builder.schema_keys.get((schema, ""), {}).items()))
        tables = []
        for table in sorted(names[schema] - {""}):
            schema_keys = builder.schema_keys.get((schema, table), {})
            versions = sorted(set(schema_keys) | data_versions.get((schema, table), set()))
            tables.append(Table(table, tuple(TableVersion(
                version,
                schema_keys.get(version),
                schemas.get(schema_keys[version]) if version in schema_keys else None,
                tuple(_directory(d, builder.data.get(d, {}), builder.index.get(d, {}), counts)
                      for d in sorted(dirs_by_version.get((schema, table, version), []),
                                      key=lambda d: (-1 if d.partition is None else d.partition, d.date))),
            ) for version in versions)))
        databases.append(Database(schema, ddl, tuple(tables)))
    return tuple(databases)


__all__ = [
    "JSON_FORMAT",
    "CsvDialect",
    "DataDirectory",
    "DataFile",
    "Database",
    "DatabaseDDL",
    "Dispatcher",
    "Layout",
    "Problem",
    "ResumeSummary",
    "Table",
    "TableVersion",
    "count_csv_records",
    "count_lines",
    "count_rows",
    "read_layout",
    "ts_time",
]
