"""The sink seam between dispatchers and storage.

A dispatcher owns one ``TableWriter`` per table it serves; the table-trigger dispatcher and the barrier writer
use the ``Sink`` itself for schema files, syncpoint markers and the checkpoint. The storage sink
(``sink.storage_sink.StorageSink``) is the implementation; the simulator runs the same class over an
in-memory store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from storagecdc.model import DDLEvent, RowChanges, TableInfo, TableName


@dataclass(frozen=True, slots=True)
class FileRef:
    """A data file that is durable in storage (data file written, then its index file)."""

    key: str
    index: int
    rows: int
    min_commit_ts: int
    max_commit_ts: int


class TableCut(NamedTuple):
    """What the spans of one table report at a syncpoint, so the marker's writer need not list storage for it.

    ``version``: the table's version at the syncpoint. ``spans``: the span ids of the cut (``""`` for an
    unsplit table; spans that ended earlier in the version included). ``files``: span id -> key
    of the span's last durable data file in every data directory its current writer wrote. ``writers``: the
    instance token of every span that reported (a token is never reused, so it names its span too); when
    the same instances reported at this sink's previous marker, every file of the table written since is in
    ``files`` (any other writer would have ended a span and started a new instance). A tuple: one is made
    per table per syncpoint.
    """

    name: TableName
    version: int
    spans: tuple[str, ...]
    files: Mapping[str, tuple[str, ...]]
    writers: tuple[int, ...]


class TableWriter(Protocol):
    """Buffers one table span's DML and writes it as data files. Not thread-safe; one owner."""

    @property
    def table(self) -> TableName: ...

    @property
    def dispatcher_id(self) -> str | None:
        """Set for a split table's span (file names ``CDC_<id>_<idx>``), None for an unsplit table."""
        ...

    def append(self, changes: RowChanges) -> None:
        """Buffer a batch. May write files when the buffer reaches ``file-size``."""
        ...

    def flush_due(self, now_ms: int) -> bool:
        """True when one of its buffers must be written by age (``sink/flush_policy.py``, ``buffer_due``): its
        oldest change is ``flush-interval`` old and it holds at least ``min-file-size`` (estimated, encoded),
        or its oldest change is ``max-flush-interval`` old, however small it is."""
        ...

    def flush(self) -> list[FileRef]:
        """Make everything appended so far durable (data file, then index file); returns the new files."""
        ...

    def last_file_index(self) -> int:
        """Index of the last durable data file of the current version (0 when none)."""
        ...

    def last_file_keys(self) -> tuple[str, ...]:
        """Key of the last durable data file in every data directory this writer wrote (empty when none)."""
        ...

    def close(self) -> None:
        """Drop buffers without writing (the caller flushes first when it must)."""
        ...


class Sink(Protocol):
    """What dispatchers and the barrier writer need from storage."""

    def table_writer(self, table: TableInfo, dispatcher_id: str | None = None) -> TableWriter:
        """A writer for one span of ``table`` at ``table.version``; resumes file indexes from storage."""
        ...

    def write_table_schema(self, table: TableInfo, query: str = "", ddl_type: int = 0) -> str:
        """Write the schema file of a table version (create-only, idempotent); returns its key."""
        ...

    def write_ddl(self, ddl: DDLEvent) -> list[str]:
        """Write the schema file(s) a DDL produces (create-only, idempotent); returns their keys."""
        ...

    def write_syncpoint(self, commit_ts: int, cut: dict[TableName, dict[str, int]]) -> str:
        """Write the syncpoint marker: for every table, each span's last data-file index in the cut."""
        ...

    def write_syncpoint_cut(self, commit_ts: int, cut: Sequence[TableCut]) -> str:
        """Write the syncpoint marker of the tables of ``cut`` from what their spans reported, listing storage
        only for what the reports cannot vouch for (same marker as ``write_syncpoint``)."""
        ...

    def write_checkpoint(self, checkpoint_ts: int) -> None:
        """Advance the root ``metadata`` checkpoint (never backwards)."""
        ...
