"""The syncpoint marker's cut: every table's version and each span's last data file per data directory.

``SyncpointCuts.marker`` builds the marker one barrier writer writes while every dispatcher waits at its
commit-ts, so storage holds exactly the cut. Two ways to know the files:

- Listing (``listed``): storage is listed once for all tables; a table's version is the newest of its
  schema files and data files at or below the commit-ts.
- Reports (``reported``): each span reported its version and the last key per directory its current writer
  wrote. That misses only files of writers that are gone (a span moved, split, merged or crashed, or an
  earlier process). So the sink remembers, per table, the last file of every (span, directory) of its
  current and newer versions, and the writer instances that reported at its previous marker. A table is
  listed again only when it has no entry yet or its instances changed (a new instance means an old one
  ended, maybe after writing files nobody reports); the first marker of a sink lists everything once (files
  of earlier processes), and when many tables need it one listing of the store replaces many small ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storagecdc.errors import ConsumerError
from storagecdc.model import TableName
from storagecdc.sink.base import TableCut
from storagecdc.sink.options import SinkOptions
from storagecdc.storage import gojson
from storagecdc.storage.base import ObjectInfo, ObjectStore
from storagecdc.storage.names import decode_segment, encode_segment
from storagecdc.storage.paths import (
    META_DIR,
    DataDir,
    DataFileKey,
    DateSeparator,
    parse_data_file_key,
    parse_schema_file_key,
)
from storagecdc.storage.syncpoint import SyncpointMarker, SyncpointTable

RELIST_ONE_BY_ONE = 32
"""Up to this many tables to list again are listed one prefix each; more, and the whole store is listed."""

_META = f"/{META_DIR}/"
_SCHEMA_FILE_MARK = f"/{META_DIR}/schema_"

Slot = tuple[str, str]
"""(span id, data directory key prefix) of a data file."""
Key = tuple[str, str]
"""A table as (schema, table): a tuple of strings hashes in C, and containers of only such tuples, strings and
ints are left alone by the garbage collector (the cache of 10,000 tables is then no work for it)."""
Files = dict[int, dict[Slot, str]]
"""version -> slot -> key of the slot's last data file."""


class SyncpointCuts:
    """Builds syncpoint markers for one sink; remembers what it learnt for the next marker."""

    def __init__(self, store: ObjectStore, options: SinkOptions) -> None:
        self._store = store
        self._separator = DateSeparator(options.date_separator)
        self._files: dict[Key, Files] | None = None
        """Per table, the last file of every (span, directory) of its current and newer versions; None until
        the first marker with reports lists the store."""
        self._writers: dict[Key, tuple[int, ...]] = {}
        """The span instances that reported at the last marker built here."""
        self._parts: dict[Key, tuple[int, tuple[str, ...], bytes]] = {}
        """Version, span ids and the table's part of the last marker; dropped when its files change."""
        self.listings = 0
        """Listings made so far (whole store or one table each): what the reports saved is visible in tests."""

    def listed(self, commit_ts: int, cut: dict[TableName, dict[str, int]]) -> bytes:
        """The marker (``SyncpointMarker.to_json``) of the cut at ``commit_ts`` for the tables of ``cut``
        (span ids as its keys), from one listing of the store."""
        return self._listed_marker(commit_ts, cut).to_json()

    def reported(self, commit_ts: int, cut: Sequence[TableCut]) -> bytes:
        """The same marker from what the spans of each table reported (one ``TableCut`` per table)."""
        items = sorted(((k.name.schema, k.name.table), k.name, k) for k in cut)
        if any(items[i][0] == items[i - 1][0] for i in range(1, len(items))):
            raise ValueError(f"syncpoint {commit_ts}: a table appears twice in the cut")
        writers, parts = self._writers, self._parts
        files = self._files
        if files is None:
            files = self._files = self._list_all()
        else:
            stale = [(key, name) for key, name, k in items if writers.get(key) != k.writers]
            if len(stale) > RELIST_ONE_BY_ONE:
                files = self._files = self._list_all()
            else:
                for key, name in stale:
                    files[key] = self._list_table(name)
        out = []
        for key, name, k in items:
            writers[key] = k.writers
            versions = files.get(key)
            if versions is None:
                versions = files[key] = {}
            slots = versions.get(k.version)
            if slots is None:
                slots = versions[k.version] = {}
            for span, last_keys in k.files.items():
                for last in last_keys:
                    # The reporting writer is the only live writer of its span, and it resumed past every
                    # existing file of each directory it wrote: its key is that slot's last.
                    slot = (span, last[:last.rfind("/") + 1])
                    if slots.get(slot) != last:
                        slots[slot] = last
                        parts.pop(key, None)
            if len(versions) > 1:
                files[key] = {v: s for v, s in versions.items() if v >= k.version}
            part = parts.get(key)
            if part is None or part[0] != k.version or part[1] != k.spans:
                table = SyncpointTable(name, k.version, _by_span(k.spans, slots.items()))
                part = parts[key] = (k.version, k.spans, table_json(table))
            out.append(part[2])
        if len(files) != len(items) or len(writers) != len(items):
            self._forget_gone(commit_ts, {key for key, _, _ in items})
        return b'{"commit-ts":%d,"tables":[%s]}' % (commit_ts, b",".join(out))

    # -- what reports cannot tell: listings ----------------------------------------------------------

    def _list_all(self) -> dict[Key, Files]:
        self.listings += 1
        self._parts.clear()
        return self._collect(self._store.list(""))

    def _list_table(self, name: TableName) -> Files:
        self.listings += 1
        key = (name.schema, name.table)
        self._parts.pop(key, None)
        prefix = f"{encode_segment(name.schema)}/{encode_segment(name.table)}/"
        return self._collect(self._store.list(prefix)).get(key) or {}

    def _collect(self, infos: Iterable[ObjectInfo]) -> dict[Key, Files]:
        """The last data file of every (table, version, span, directory) among the listed objects."""
        out: dict[Key, Files] = {}
        indexes: dict[tuple[Key, int, Slot], int] = {}
        for info in infos:
            key = info.key
            if _META in key:
                continue  # schema and index files
            f = _data_file(key, self._separator)
            if f is None:
                continue
            table = (f.dir.schema, f.dir.table)
            slot = (f.dispatcher_id or "", key[:key.rfind("/") + 1])
            at = (table, f.dir.version, slot)
            if indexes.get(at, 0) < f.index:
                indexes[at] = f.index
                out.setdefault(table, {}).setdefault(f.dir.version, {})[slot] = key
        return out

    def _forget_gone(self, commit_ts: int, cut: set[Key]) -> None:
        """Tables not in this cut (dropped) need none of their versions up to ``commit_ts`` again, and their
        next report must be checked against storage."""
        files = self._files
        assert files is not None
        for key in [k for k in files if k not in cut]:
            newer = {v: s for v, s in files[key].items() if v > commit_ts}
            if newer:
                files[key] = newer
            else:
                del files[key]
        for key in [k for k in self._writers if k not in cut]:
            del self._writers[key]
            self._parts.pop(key, None)

    # -- the listing-only marker -------------------------------------------------------------------------

    def _listed_marker(self, commit_ts: int, cut: dict[TableName, dict[str, int]]) -> SyncpointMarker:
        """Storage is listed once for all tables (not once per table: 10,000 tables would be 10,000
        listings); objects are keyed by their tables' key prefixes (``<schema>/<table>/``): comparing and
        hashing strings, not TableNames, keeps the pass over every key cheap."""
        self.listings += 1
        wanted = {(name.schema, name.table) for name in cut}
        prefix_of: dict[tuple[str, str], str] = {}
        seen: dict[str, bool] = {}
        versions: dict[str, int] = {}
        files: dict[str, list[DataFileKey]] = {}
        for info in self._store.list(""):
            key = info.key
            prefix = key[:key.find("/", key.find("/") + 1) + 1]
            in_cut = seen.get(prefix)
            if in_cut is None:
                table = _table_of(prefix)
                in_cut = seen[prefix] = table in wanted
                if table is not None and in_cut:
                    prefix_of[table] = prefix
            if not in_cut:
                continue
            if _SCHEMA_FILE_MARK in key:
                schema_key = parse_schema_file_key(key)
                if schema_key is not None:
                    if schema_key.table and versions.get(prefix, 0) < schema_key.version <= commit_ts:
                        versions[prefix] = schema_key.version
                    continue
            data_key = parse_data_file_key(key, self._separator)
            if data_key is not None and data_key.dir.version <= commit_ts:
                files.setdefault(prefix, []).append(data_key)
        tables = []
        for name, spans in sorted(cut.items(), key=lambda item: (item[0].schema, item[0].table)):
            prefix = prefix_of.get((name.schema, name.table), "")
            tables.append(_cut_of(name, versions.get(prefix, 0), files.get(prefix, []), spans))
        return SyncpointMarker(commit_ts, tuple(tables))


def table_json(t: SyncpointTable) -> bytes:
    """One table's element of ``SyncpointMarker.to_json``'s ``tables`` list, byte for byte (a marker is
    ``{"commit-ts":T,"tables":[`` these joined by commas, in (schema, table) order, ``]}``), so an unchanged
    table's part is reused from the previous marker."""
    return gojson.marshal({
        "schema": t.name.schema,
        "table": t.name.table,
        "version": t.version,
        "spans": [{"dispatcher": span, "files": sorted(files)} for span, files in sorted(t.spans.items())],
    })


def _by_span(spans: Iterable[str], slots: Iterable[tuple[Slot, str]]) -> dict[str, tuple[str, ...]]:
    """Span id -> its last keys, every span of the cut included (with no keys when it wrote no file)."""
    by_span: dict[str, tuple[str, ...]] = dict.fromkeys(spans, ())
    for (span, _), key in slots:
        by_span[span] = (*by_span.get(span, ()), key)
    return by_span


def _data_file(key: str, separator: DateSeparator) -> DataFileKey | None:
    try:
        return parse_data_file_key(key, separator)
    except ConsumerError:
        return None  # an object that is not a data file of a table directory


def _table_of(prefix: str) -> tuple[str, str] | None:
    """(schema, table) of the objects under ``prefix`` (``<schema>/<table>/``); None when it names none."""
    schema, _, table = prefix[:-1].partition("/")
    try:
        return decode_segment(schema), decode_segment(table)
    except ConsumerError:
        return None  # not a table directory (no writer produces such a segment)


def _cut_of(name: TableName, version: int, files: list[DataFileKey], spans: dict[str, int]) -> SyncpointTable:
    """A table's part of a marker: its version at the cut (the newest of its schema files ``version`` and
    its data files) and each span's last data file per directory."""
    if not files:
        return SyncpointTable(name, version, dict.fromkeys(spans, ()))
    version = max(version, *(f.dir.version for f in files))
    last: dict[tuple[str, DataDir], DataFileKey] = {}
    for f in files:
        if f.dir.version == version:
            slot = (f.dispatcher_id or "", f.dir)
            if slot not in last or last[slot].index < f.index:
                last[slot] = f
    by_span: dict[str, list[str]] = {span: [] for span in spans}
    for (span, _), f in sorted(last.items(), key=lambda item: item[1].dir.key_prefix()):
        by_span.setdefault(span, []).append(f.dir.key_prefix() + f.name)
    return SyncpointTable(name, version, {k: tuple(v) for k, v in by_span.items()})
