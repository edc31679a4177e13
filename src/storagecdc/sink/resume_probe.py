"""Where a writer's file indexes continue in a data directory: probe storage only where earlier files can be.

A writer's first file in a directory needs the last index used there, so that an existing data file is
never overwritten: the index file (``meta/CDC.index``) is read, then the following data files are probed
until one is free (a GET and a HEAD at least). For a table that had no data directory when this process
started writing, that is wasted: nothing can be there but what this process wrote itself.

``TableCensus`` (one per sink: ``StorageSink`` hands it to its writers) lists the store once, at the first
resume of any of its writers (the process owns the sink prefix by then, so no other process adds files
afterwards), and keeps the tables (``<schema>/<table>/``)
that have data directories. A directory of any other table is fresh (index 0, no request) unless a writer
of this process has resumed in it before (with the same dispatcher id: file names of other ids never
collide); then it is probed as usual. A store with more than ``CENSUS_MAX_KEYS`` objects is not listed to
the end: every directory is probed. The data file write itself stays create-only, so a file that appeared
anyway (e.g. a request of a previous owner that landed late) is skipped, not overwritten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from storagecdc.errors import ObjectNotFoundError
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import DataDir, build_index_file_key, parse_index_content

CENSUS_MAX_KEYS = 100_000
"""Objects listed at most (100 requests on S3) before the census gives up and every directory is probed."""


def _table_prefix(key: str) -> str | None:
    """``<schema>/<table>/`` of a key inside a data directory (``<schema>/<table>/<version>/...``)."""
    parts = key.split("/", 3)
    if len(parts) == 4 and parts[2].isdigit():
        return f"{parts[0]}/{parts[1]}/"
    return None


class TableCensus:
    """The tables with data directories in one store when it was first listed, and the directories this
    process's writers have resumed in since. Thread-safe."""

    def __init__(self, store: ObjectStore, max_keys: int = CENSUS_MAX_KEYS) -> None:
        self._store = store
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._listed: set[str] | None = None
        self._complete = True
        self._used: set[tuple[str, str | None]] = set()

    def _take(self) -> set[str]:
        tables: set[str] = set()
        for n, info in enumerate(self._store.list("")):
            if n >= self._max_keys:
                self._complete = False
                break
            prefix = _table_prefix(info.key)
            if prefix is not None:
                tables.add(prefix)
        return tables

    def claim(self, data_dir: DataDir, dispatcher_id: str | None) -> bool:
        """True when the directory cannot hold files of ``dispatcher_id`` (no probe needed); either way the
        directory counts as used from now on."""
        prefix = data_dir.key_prefix()
        with self._lock:
            listed = self._listed
            if listed is None:
                listed = self._listed = self._take()
            slot = (prefix, dispatcher_id)
            fresh = (self._complete and slot not in self._used
                     and prefix[:prefix.find("/", prefix.find("/") + 1) + 1] not in listed)
            self._used.add(slot)
            return fresh


def last_index(store: ObjectStore, census: TableCensus | None, data_dir: DataDir, dispatcher_id: str | None,
               data_key: Callable[[DataDir, int], str]) -> int:
    """The last index used in ``data_dir`` by ``dispatcher_id``'s files: 0 for a directory ``census`` knows
    to be fresh, otherwise the index file's, then probed past existing data files (``data_key`` builds a data
    file's key). Without a census every directory is probed."""
    if census is not None and census.claim(data_dir, dispatcher_id):
        return 0
    index_key = build_index_file_key(data_dir, dispatcher_id=dispatcher_id)
    try:
        _, last = parse_index_content(store.get(index_key), index_key)
    except ObjectNotFoundError:
        last = 0
    while store.exists(data_key(data_dir, last + 1)):
        last += 1
    return last
