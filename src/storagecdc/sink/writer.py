"""The file writer: buffers one table span's changes and writes them as data files plus the index file.

One ``StorageTableWriter`` serves one (dispatcher, table, version). Small batches (a rows event carries a
few dozen rows) wait raw until ``ENCODE_SLICE_ROWS`` rows, or about a file's worth, have gathered, and are
then encoded together, since encoding costs about the same for 40 rows as for 4,000; everything else in the
buffer is encoded chunks, so a 1M-row transaction costs about one file's worth of memory:

- A file is cut when the buffered encoded size reaches ``file-size``. The cut ends at the last transaction
  boundary in the buffer; only a transaction that alone exceeds ``file-size`` is split across files.
- ``flush_due`` is true when a buffer of this table is due by its own age and size (``flush_policy``:
  ``flush-interval``, ``min-file-size``, ``max-flush-interval``; never one sweep of all tables).
- Writing a file: the data file first (create-only), then ``meta/CDC.index`` naming it (the only
  overwritten object besides the checkpoint). ``flush`` writes everything buffered; callers call it between
  transactions (on a barrier, or when ``flush_due``).
- Uploads: a file is assembled (Parquet: compressed) and written by the writer's ``uploads.Lane``, on the
  sink's upload threads, one file after the other in order, while the writer goes on buffering and encoding.
  Rows that arrive already encoded (``append_chunk``: a snapshot's) are not buffered: the lane builds their
  file as they come (``TableEncoder.file_builder``) and finishes it at the cut.
  A file cut by size is not waited for; ``flush`` returns when every file of the writer is durable (inside
  ``Uploads.deferred()``, when that block ends), ``close`` when none is in flight any more.
- Directories: ``<schema>/<table>/<version>[/<partition>][/<date>]``. The date is the UTC date of the file's
  first change (``date-source=commit-ts``, deterministic) or of the wall clock at the write; a new date
  directory starts at index 1.
- Resume: the first time a directory is used, the writer reads its index file and probes the following
  indexes until one is free, so an existing data file is never overwritten; a table that had no data
  directory when the process started needs no probe (``resume_probe``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from storagecdc.errors import ObjectExistsError, SinkError
from storagecdc.model import RowChanges, TableInfo, TableName
from storagecdc.sink.base import FileRef
from storagecdc.sink.flush_policy import buffer_due
from storagecdc.sink.formats.base import Chunk, FileBuilder, TableEncoder
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.resume_probe import TableCensus, last_index
from storagecdc.sink.uploads import Lane, Uploads
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import (
    DataDir,
    DateSeparator,
    build_data_file_key,
    build_index_content,
    build_index_file_key,
    data_file_name,
)

log = logging.getLogger(__name__)

ENCODE_SLICE_ROWS = 4096
"""Largest number of rows encoded as one chunk (the granularity of file cuts)."""
MAX_CLAIM_ATTEMPTS = 1000
"""How many taken indexes a write skips before giving up."""

Clock = Callable[[], int]
"""Milliseconds since the epoch; ``flush_due(now_ms)`` must be given the same clock."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class _Buffer:
    """One data directory stream (one partition), oldest first: encoded chunks, then raw pending batches.

    Each chunk has the commit-ts of its first and last change: it holds whole transactions, or part of one
    transaction only (see ``_encode_pending``), so a chunk's end is a transaction boundary unless its first
    and last commit-ts are the same transaction's.
    """

    chunks: list[Chunk] = field(default_factory=list)
    stamps: list[tuple[int, int]] = field(default_factory=list)
    size: int = 0
    first_buffered_ms: int | None = None
    pending: list[RowChanges] = field(default_factory=list)
    pending_rows: int = 0

    def add(self, chunk: Chunk, first_ts: int, last_ts: int) -> None:
        self.chunks.append(chunk)
        self.stamps.append((first_ts, last_ts))
        self.size += chunk.size

    def take(self, count: int, now_ms: int) -> tuple[list[Chunk], list[tuple[int, int]]]:
        """Remove and return the first ``count`` chunks; the rest count as buffered from ``now_ms``."""
        chunks, stamps = self.chunks[:count], self.stamps[:count]
        del self.chunks[:count]
        del self.stamps[:count]
        self.size = sum(c.size for c in self.chunks)
        self.first_buffered_ms = now_ms if self.chunks or self.pending else None
        return chunks, stamps

    def txn_boundary(self) -> int:
        """Chunks that end before the last (possibly still open) transaction starts."""
        last = self.stamps[-1][1]
        i = len(self.stamps)
        while i > 0 and self.stamps[i - 1][1] == last:
            i -= 1
        return i


@dataclass(slots=True)
class _Building:
    """A file built in the lane as ``append_chunk`` hands it chunks."""

    builder: FileBuilder
    first_ts: int
    last_ts: int = 0
    size: int = 0
    rows: int = 0


def slices(batch: RowChanges, rows: int = ENCODE_SLICE_ROWS) -> list[RowChanges]:
    """A batch cut into batches of at most ``rows`` rows (seq, before images and flags follow)."""
    n = len(batch.rows)
    if n <= rows:
        return [batch]
    out = []
    for start in range(0, n, rows):
        end = min(start + rows, n)
        out.append(RowChanges(
            table=batch.table, op=batch.op, commit_ts=batch.commit_ts, rows=batch.rows[start:end],
            before=batch.before[start:end] if batch.before is not None else None,
            pk_changed=batch.pk_changed[start:end] if batch.pk_changed is not None else None,
            seq=batch.seq + start, commit_time_ms=batch.commit_time_ms, partition_id=batch.partition_id,
        ))
    return out


class StorageTableWriter:
    """``sink.base.TableWriter`` over an ``ObjectStore``. Not thread-safe; one owner.

    ``lane``: where its files are uploaded (the sink's pool); without one, each file is written inline.
    ``census``: the sink's ``resume_probe.TableCensus``; without one, every directory is probed.
    """

    def __init__(self, store: ObjectStore, table: TableInfo, options: SinkOptions, encoder: TableEncoder,
                 *, dispatcher_id: str | None = None, clock: Clock = wall_clock_ms,
                 lane: Lane | None = None, census: TableCensus | None = None) -> None:
        self._store = store
        self._census = census
        self._info = table
        self._opts = options
        self._encoder = encoder
        self._dispatcher_id = dispatcher_id
        self._clock = clock
        self._date_separator = DateSeparator(options.date_separator)
        self._ext = encoder.extension.lstrip(".")
        self._buffers: dict[int | None, _Buffer] = {}
        self._building: _Building | None = None
        """The file ``append_chunk`` is building, if any."""
        self._lane = lane or Uploads(0, 0).lane()
        self._last_index: dict[DataDir, int] = {}
        """Last index written per directory; read and written by the lane's jobs only."""
        self._last_written = 0
        self._row_bytes = 0.0
        """Encoded bytes per row seen so far (0 until the first encode): how much raw rows may wait."""

    @property
    def table(self) -> TableName:
        return self._info.name

    @property
    def table_info(self) -> TableInfo:
        return self._info

    @property
    def dispatcher_id(self) -> str | None:
        return self._dispatcher_id

    @property
    def buffered_bytes(self) -> int:
        """Estimated encoded bytes waiting to be written."""
        return sum(b.size for b in self._buffers.values())

    def append(self, changes: RowChanges) -> None:
        if changes.table.version != self._info.version or changes.table.name != self._info.name:
            raise SinkError(
                f"table {self._info.name} version {self._info.version}: got a batch of "
                f"{changes.table.name} version {changes.table.version}"
            )
        if not changes.rows:
            return
        if self._building is not None:  # chunks appended before go first
            self._finish_building()
        partition = changes.partition_id if self._opts.enable_partition_separator else None
        buffer = self._buffers.get(partition)
        if buffer is None:
            buffer = self._buffers[partition] = _Buffer()
        if buffer.first_buffered_ms is None:
            buffer.first_buffered_ms = self._clock()
        for part in slices(changes):
            buffer.pending.append(part)
            buffer.pending_rows += len(part.rows)
            if (not self._row_bytes or buffer.pending_rows >= ENCODE_SLICE_ROWS
                    or buffer.size + buffer.pending_rows * self._row_bytes >= self._opts.file_size):
                self._encode_pending(buffer, complete_only=True)
                if buffer.size >= self._opts.file_size:
                    self._cut(partition, buffer)

    def append_chunk(self, chunk: Chunk, commit_ts: int) -> None:
        """Rows that arrive already encoded (an initial snapshot's Arrow chunks for Parquet), all of the
        transaction ``commit_ts`` and of no partition. They are not buffered: each goes to the lane at once,
        into the file being built (``TableEncoder.file_builder``: Parquet encodes a row group as soon as it has
        one), so memory holds what the lane has not taken yet rather than a file's worth; the file is cut when
        its chunks reach ``file-size``, as buffered ones are."""
        if not chunk.rows:
            return
        if any(b.chunks or b.pending for b in self._buffers.values()):  # rows appended before go first
            self._submit_everything()
        building = self._building
        if building is None:
            building = self._building = _Building(self._encoder.file_builder(), commit_ts)
        self._lane.submit(functools.partial(building.builder.add, chunk), chunk.size)
        building.size += chunk.size
        building.rows += chunk.rows
        building.last_ts = commit_ts
        if building.size >= self._opts.file_size:
            self._finish_building()

    def _finish_building(self) -> Future[FileRef] | None:
        """Hand the file being built (``append_chunk``) to the lane to be finished and written."""
        building, self._building = self._building, None
        if building is None:
            return None
        info = self._info
        data_dir = DataDir(info.name.schema, info.name.table, info.version, None, self._date(building.first_ts))
        return self._lane.submit(functools.partial(self._write, data_dir, building.builder.finish, building.rows,
                                                   [(building.first_ts, building.last_ts)]), 0)

    def _encode_pending(self, buffer: _Buffer, *, complete_only: bool) -> None:
        """Encode waiting batches into one chunk. With ``complete_only`` the batches of the last (maybe still
        open) transaction keep waiting unless they are all there is, so that every chunk either ends at a
        transaction boundary or holds part of one transaction only: file cuts rely on it."""
        pending = buffer.pending
        if not pending:
            return
        count = len(pending)
        if complete_only:
            last = pending[-1].commit_ts
            while count > 0 and pending[count - 1].commit_ts == last:
                count -= 1
            count = count or len(pending)
        batches = pending[:count]
        del pending[:count]
        chunk = self._encoder.encode_many(batches)
        buffer.add(chunk, batches[0].commit_ts, batches[-1].commit_ts)
        buffer.pending_rows = sum(len(b.rows) for b in pending)
        if chunk.rows:
            self._row_bytes = chunk.size / chunk.rows

    def _cut(self, partition: int | None, buffer: _Buffer) -> None:
        boundary = buffer.txn_boundary()
        count = boundary if boundary > 0 else len(buffer.chunks)
        chunks, stamps = buffer.take(count, self._clock())
        self._submit(partition, chunks, stamps)

    def flush_due(self, now_ms: int) -> bool:
        """A buffer is due by age and size: ``flush_policy.buffer_due`` (raw rows count at the bytes per row
        encoded so far)."""
        return any(
            b.first_buffered_ms is not None
            and buffer_due(self._opts, now_ms - b.first_buffered_ms, b.size + b.pending_rows * self._row_bytes)
            for b in self._buffers.values()
        )

    def flush(self) -> list[FileRef]:
        """Write everything buffered and wait until every file of this writer is durable; returns the files
        this call wrote. Inside ``Uploads.deferred()`` it does not wait and returns no files."""
        futures = self._submit_everything()
        self._lane.wait()
        if self._lane.deferring:
            return []
        return [f.result() for f in futures]

    def _submit_everything(self) -> list[Future[FileRef]]:
        """Hand the lane every row this writer holds, as files: the file being built, then each buffer's."""
        futures = []
        built = self._finish_building()
        if built is not None:
            futures.append(built)
        for partition, buffer in self._buffers.items():
            self._encode_pending(buffer, complete_only=False)
            if buffer.chunks:
                futures.append(self._submit(partition, *buffer.take(len(buffer.chunks), self._clock())))
        return futures

    def last_file_index(self) -> int:
        """Index of the last durable data file of this writer (0 before its first write)."""
        return self._last_written

    def last_file_keys(self) -> tuple[str, ...]:
        """Key of the last durable data file of this writer in each data directory it wrote (empty before its
        first write): the syncpoint marker's files for the span."""
        return tuple(self._data_key(data_dir, index) for data_dir, index in list(self._last_index.items()))

    def close(self) -> None:
        """Drop the buffers; return when no file of this writer is in flight any more (a failed upload is
        raised by the sink's next wait)."""
        self._buffers.clear()
        self._building = None
        self._lane.idle()

    # -- writing ---------------------------------------------------------------------------------------

    def _date(self, first_commit_ts: int) -> str:
        if self._opts.date_source == "wall-clock":
            now = dt.datetime.fromtimestamp(self._clock() / 1000, tz=dt.UTC)
            return self._date_separator.format(now)
        return self._date_separator.for_commit_ts(first_commit_ts)

    def _data_key(self, data_dir: DataDir, index: int) -> str:
        return build_data_file_key(data_dir, index, self._ext, dispatcher_id=self._dispatcher_id,
                                   digits=self._opts.file_index_digit)

    def _resume(self, data_dir: DataDir) -> int:
        """The last used index of a directory (``resume_probe.last_index``: no request for a fresh table)."""
        return last_index(self._store, self._census, data_dir, self._dispatcher_id, self._data_key)

    def _submit(self, partition: int | None, chunks: list[Chunk],
                stamps: list[tuple[int, int]]) -> Future[FileRef]:
        """Hand a file to the lane (its directory, and so its date, is fixed now)."""
        info = self._info
        data_dir = DataDir(info.name.schema, info.name.table, info.version, partition, self._date(stamps[0][0]))
        return self._lane.submit(functools.partial(self._write, data_dir,
                                                   functools.partial(self._encoder.assemble, chunks),
                                                   sum(c.rows for c in chunks), stamps),
                                 sum(c.size for c in chunks))

    def _write(self, data_dir: DataDir, assemble: Callable[[], bytes], rows: int,
               stamps: list[tuple[int, int]]) -> FileRef:
        """Assemble and write one file, then the index file naming it (a lane job)."""
        info = self._info
        last = self._last_index.get(data_dir)
        if last is None:
            last = self._resume(data_dir)
        data = assemble()
        for _ in range(MAX_CLAIM_ATTEMPTS):
            index = last + 1
            key = self._data_key(data_dir, index)
            try:
                self._store.put(key, data, create_only=True)
                break
            except ObjectExistsError:
                log.warning("data file %s already exists with other content; skipping its index", key)
                last = index
        else:
            raise SinkError(f"table {info.name}: no free data file index after {last} in {data_dir.key_prefix()}")
        name = data_file_name(index, self._ext, dispatcher_id=self._dispatcher_id,
                              digits=self._opts.file_index_digit)
        self._store.put(build_index_file_key(data_dir, dispatcher_id=self._dispatcher_id),
                        build_index_content(name))
        self._last_index[data_dir] = index
        self._last_written = index
        return FileRef(key, index, rows, stamps[0][0], stamps[-1][1])
