"""Replays the layout into a target, round after round (TiCDC's storage-consumer semantics, reference §7).

A round reads the checkpoint (every change with a commit-ts at or below it is durable), asks the scanner for
the new steps up to it and applies them in order:

- a ``DdlStep`` becomes one ``DdlChange`` (``consumer.ddl``), applied and committed with the progress;
- a ``DataStep`` (the new files of one table version) is skipped when a later DDL of the table is applied
  already (stale directory); otherwise the table is given the step's columns if it lacks them, and the
  files are read stream by stream (a stream is one partition and span, its files in date and index order).
  Streams of a split table are merged by commit-ts.

Which rows are applied, when the files carry commit-ts (Parquet always; CSV with include-commit-ts;
canal-json with enable-tidb-extension):

- rows above the checkpoint wait for a later round (their file is read again then);
- rows below the table version's ``done`` mark (everything below it is applied) are dropped: delivery is
  at-least-once, and a restarted changefeed writes the changes after its checkpoint again;
- within a stream, a row older than the newest row applied from that stream is a duplicate; a row of the
  same commit-ts is one too when it starts a new file and the previous file held other transactions (a
  transaction continues into the next file only when it alone filled the previous one).

In ``follow`` mode a round that fails with a retryable error (the store or the target briefly unreachable)
is rolled back and tried again at the next poll; any other error ends the run.

The target commits with the progress (``consumer.progress``) at every DDL, at the end of every data step
and, with commit-ts, every ``batch_rows`` rows at a transaction boundary, so a restarted consume continues
without applying anything twice. Without commit-ts in the files the unit of progress is the file: rows are
not deduplicated (upserts by primary key make a redelivered file harmless; tables without a primary key may
get duplicate rows) and a split table cannot be replayed (its spans cannot be merged): that is an error
that names the option to turn on.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from storagecdc.consumer.applier import Applier
from storagecdc.consumer.changes import Change
from storagecdc.consumer.ddl import ensure_change, plan_ddl
from storagecdc.consumer.decoders import FileReader, carries_commit_ts, reader_for
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.progress import Progress, TableState, span_key
from storagecdc.consumer.scanner import DataStep, DdlStep, Scanner
from storagecdc.errors import ConsumerError, StorageCdcError
from storagecdc.model import TableInfo, TableName
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.checkpoint import read_checkpoint
from storagecdc.storage.paths import DataFileKey

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000


@dataclass(slots=True)
class ConsumeStats:
    """What a ``Replayer.run`` did."""

    rounds: int = 0
    ddl: int = 0
    files: int = 0
    rows: int = 0
    """Changes applied."""
    skipped_rows: int = 0
    """Duplicates dropped (below the done mark, or repeated within a stream)."""
    stale_files: int = 0
    checkpoint: int | None = None
    """The checkpoint the target is consistent with (None: the output has no checkpoint yet)."""


class _Stopped(Exception):
    """A stop was requested; the last commit stands."""


@dataclass(slots=True)
class _StreamFile:
    key: DataFileKey
    complete: bool = True
    """False when the file holds rows above the checkpoint (read again next round)."""


class Replayer:
    """Applies the output in ``store`` to ``applier``; ``run`` does one round or follows the checkpoint."""

    def __init__(self, store: ObjectStore, applier: Applier, options: ConsumerOptions | None = None, *,
                 batch_rows: int = BATCH_ROWS) -> None:
        self._store = store
        self._applier = applier
        self._options = options or ConsumerOptions()
        self._batch_rows = batch_rows
        self._scanner = Scanner(store, self._options)
        self.progress = Progress.from_rows(applier.load_progress())
        self.stats = ConsumeStats(checkpoint=self.progress.checkpoint or None)
        self._stop = threading.Event()
        self._until: int | None = None

    def stop(self) -> None:
        """Ask ``run`` to stop at the next commit point (safe from a signal handler or another thread)."""
        self._stop.set()

    def run(self, *, follow: bool = False, poll_interval_s: float = 1.0, until_ts: int | None = None) -> ConsumeStats:
        """One round up to the current checkpoint; with ``follow``, again whenever it advances, until
        ``stop``. ``until_ts`` stops at that commit-ts (changes at or below it; the consistent state of a
        syncpoint at T is ``until_ts=T - 1``): ``follow`` then ends once it is reached. Cutting inside the
        checkpoint needs the commit-ts of every row."""
        self._until = until_ts
        try:
            while not self._stop.is_set():
                try:
                    checkpoint = read_checkpoint(self._store)
                    if checkpoint is not None and until_ts is not None:
                        checkpoint = min(checkpoint, until_ts)
                    if checkpoint is not None and checkpoint > self.progress.checkpoint:
                        self.run_round(checkpoint)
                except StorageCdcError as exc:
                    if not (follow and exc.retryable):
                        raise
                    log.warning("round failed, retrying after %.1fs: %s", poll_interval_s, exc)
                    self._restart_from_target()
                reached = until_ts is not None and self.progress.checkpoint >= until_ts
                if not follow or reached or self._stop.wait(poll_interval_s):
                    break
        except _Stopped:
            self._applier.rollback()
            log.info("stopped at checkpoint %s", self.progress.checkpoint)
        return self.stats

    def _restart_from_target(self) -> None:
        """Drop the open target transaction and the in-memory progress it had moved; reload the committed."""
        self._applier.rollback()
        self.progress = Progress.from_rows(self._applier.load_progress())

    def run_round(self, checkpoint: int) -> None:
        """Apply every step that is new up to ``checkpoint``."""
        for step in self._scanner.scan(checkpoint, self.progress):
            if self._stop.is_set():
                raise _Stopped
            if isinstance(step, DdlStep):
                self._ddl(step)
            else:
                self._data(step, checkpoint)
        self.progress.set_checkpoint(checkpoint)
        self._commit()
        self.stats.rounds += 1
        self.stats.checkpoint = checkpoint
        log.info("consumed up to checkpoint %d (%d rows so far)", checkpoint, self.stats.rows)

    def _commit(self) -> None:
        self._applier.commit(self.progress.changed_rows())

    # -- DDL ------------------------------------------------------------------------------------------------

    def _ddl(self, step: DdlStep) -> None:
        files = tuple(f for f in step.files if self.progress.table(TableName(f.schema, f.table)).ddl < step.version)
        if not files:
            return
        change = plan_ddl(DdlStep(step.version, files), self.progress)
        self._applier.apply_ddl(change)
        self._commit()
        self.stats.ddl += 1

    # -- data -----------------------------------------------------------------------------------------------

    def _data(self, step: DataStep, checkpoint: int) -> None:
        state = self.progress.table(step.table)
        if step.version < state.ddl:
            self._skip_stale(step)
            return
        info = step.schema.to_table_info()
        if state.schema is None or state.schema.columns != step.schema.columns:
            self._applier.apply_ddl(ensure_change(step.version, state.info, info))
            self.progress.touch(step.table).schema = step.schema
        exts = {f.ext for s in step.streams for f in s.files}
        has_ts = all(carries_commit_ts(ext, self._options) for ext in exts)
        if not has_ts and self._until is not None:
            raise ConsumerError(f"table {step.table}: stopping at commit-ts {self._until} needs the commit-ts of "
                                "every row: write CSV with include-commit-ts=true or canal-json with "
                                "enable-tidb-extension=true")
        if not has_ts and len({s.dispatcher for s in step.streams}) > 1:
            raise ConsumerError(
                f"table {step.table}: version {step.version} is split across spans "
                f"({', '.join(sorted(s.dispatcher or '-' for s in step.streams))}); replaying it needs the commit-ts "
                "of every row: write CSV with include-commit-ts=true or canal-json with enable-tidb-extension=true"
            )
        readers = {ext: reader_for(info, ext, self._options) for ext in exts}
        files = [[_StreamFile(k) for k in s.files] for s in step.streams]
        streams = [self._stream(fs, readers, has_ts) for fs in files]
        merged = heapq.merge(*streams, key=_ts) if has_ts and len(streams) > 1 else itertools.chain(*streams)
        self._apply(step, info, state, merged, checkpoint if has_ts else None)
        for stream, stream_files in zip(step.streams, files, strict=True):
            for f in stream_files:
                if not f.complete:
                    break
                self.progress.set_span(span_key(f.key.dir.key_prefix(), stream.dispatcher), f.key.index)
        self._commit()
        self.stats.files += sum(len(s.files) for s in step.streams)

    def _apply(self, step: DataStep, info: TableInfo, state: TableState,
               changes: Iterator[tuple[Change, _StreamFile]], checkpoint: int | None) -> None:
        done = state.done.get(step.version, 0)
        batch: list[Change] = []
        last_ts: int | None = None
        applied = skipped = 0
        for change, file in changes:
            ts = change.commit_ts
            if checkpoint is not None and ts is not None:
                if ts < done:
                    skipped += 1
                    continue
                if ts > checkpoint:
                    file.complete = False
                    continue
                if ts != last_ts and len(batch) >= self._batch_rows:
                    self._applier.apply_changes(info, batch)
                    applied += len(batch)
                    batch.clear()
                    self.progress.touch(step.table).done[step.version] = ts
                    self._commit()
                    if self._stop.is_set():
                        raise _Stopped
                last_ts = ts
            batch.append(change)
        if batch:
            self._applier.apply_changes(info, batch)
            applied += len(batch)
        if checkpoint is not None:
            self.progress.touch(step.table).done[step.version] = max(done, checkpoint + 1)
        self.stats.rows += applied
        self.stats.skipped_rows += skipped

    def _stream(self, files: list[_StreamFile], readers: dict[str, FileReader],
                has_ts: bool) -> Iterator[tuple[Change, _StreamFile]]:
        """The changes of one stream, file after file, without the stream's own duplicates.

        A file that starts with the newest transaction's first change again is that transaction written
        again after a restart (a continuation starts where the previous file stopped): as many of its rows
        as were already taken are skipped, across files, and the rest are new.
        """
        newest: int | None = None
        newest_first: Change | None = None
        newest_taken = 0
        to_skip = 0
        previous_single = False
        for file in files:
            key = file.key
            full_key = key.dir.key_prefix() + key.name
            reader = readers[key.ext]
            data = self._store.get(full_key)
            first_ts: int | None = None
            single = True
            at_start = True
            for change in reader.changes(data, full_key):
                ts = change.commit_ts
                if has_ts and ts is not None:
                    starts_file = first_ts is None
                    if first_ts is None:
                        first_ts = ts
                    elif ts != first_ts:
                        single = False
                    if newest is not None and (ts < newest or (ts == newest and at_start and not previous_single)):
                        self.stats.skipped_rows += 1
                        continue
                    if starts_file and ts == newest and change == newest_first:
                        to_skip = newest_taken
                    if to_skip and ts == newest:
                        to_skip -= 1
                        self.stats.skipped_rows += 1
                        continue
                    at_start = False
                    if ts != newest:
                        newest, newest_first, newest_taken, to_skip = ts, change, 0, 0
                    newest_taken += 1
                yield change, file
            previous_single = single and first_ts is not None

    def _skip_stale(self, step: DataStep) -> None:
        log.info("skipping stale data of %s version %d (a later DDL is applied)", step.table, step.version)
        for stream in step.streams:
            for key in stream.files:
                self.progress.set_span(span_key(key.dir.key_prefix(), stream.dispatcher), key.index)
                self.stats.stale_files += 1
        self._commit()


def _ts(item: tuple[Change, _StreamFile]) -> int:
    return item[0].commit_ts or 0


