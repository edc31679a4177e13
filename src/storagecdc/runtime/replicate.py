"""``replicate(config)``: one changefeed run from its resume point to the end of its source (or a stop).

With ``[source] snapshot`` (``initial``, or ``when-needed``: no resume record and no ``--start``) a new
changefeed first reads every selected table at one consistent point (``storagecdc.snapshot``) and then
streams from that point; a snapshot left unfinished by an earlier run is continued first, whatever the mode.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from types import FrameType

from storagecdc.config import ChangefeedConfig
from storagecdc.model import ChangeEvent, SourcePosition
from storagecdc.runtime.changefeed import Changefeed, Counters
from storagecdc.runtime.resume import ResumeRecord, read_resume
from storagecdc.runtime.source import open_source
from storagecdc.snapshot.gap import drop_before
from storagecdc.snapshot.run import InitialSnapshot, SnapshotStopped, plan_snapshot, wants_snapshot
from storagecdc.snapshot.state import SnapshotRecord, read_snapshot_record
from storagecdc.source.replication_uri import redact
from storagecdc.source.txn import AssemblerState
from storagecdc.storage import open_store
from storagecdc.storage.base import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    checkpoint_ts: int
    counters: Counters
    position: SourcePosition
    source: str
    resumed_from: int | None


def replicate(config: ChangefeedConfig, *, until: str | None = None, handle_signals: bool = False) -> RunResult:
    """Run the changefeed ``config`` describes; with ``handle_signals`` SIGINT/SIGTERM stop it cleanly."""
    store = open_store(config.sink_uri, config.store_options)
    try:
        resume = read_resume(store)
        record = read_snapshot_record(store) if config.source.is_live else None
        snapshot = _snapshot(config, store, resume, record)
        state: AssemblerState | None
        start_ts: int | None
        if snapshot is not None:
            state, start_ts, record = snapshot.start_state, snapshot.record.start_ts, snapshot.record
        elif resume is not None:
            log.info("resuming from checkpoint %d at %s:%d", resume.checkpoint_ts, resume.state.position.file,
                     resume.state.position.offset)
            state, start_ts = resume.state, resume.checkpoint_ts
        elif record is not None:  # the snapshot finished, its checkpoint did not make it
            state = AssemblerState(record.rows_ts, record.position, record.schema_json)
            start_ts = record.start_ts
        else:
            state, start_ts = None, None
        try:
            source = open_source(config, state, until=until)
        except BaseException:
            if snapshot is not None:
                snapshot.close()
            raise
        splits = resume.auto_splits if resume is not None and snapshot is None else ()
        feed = Changefeed(config, store, source.assembler, source_name=source.name, start_ts=start_ts,
                          auto_splits=splits, snapshot_ts=record.rows_ts if record is not None else 0)
        changes: Iterator[ChangeEvent] = source.changes
        if record is not None and state is not None and record.reread_until():
            changes = drop_before(changes, state.position, record.reread_until())
        if snapshot is not None:
            changes = chain(snapshot.changes(feed, source.assembler), changes)
        try:
            with _signals(feed) if handle_signals else contextlib.nullcontext():
                checkpoint = feed.run(changes, source.until)
        except SnapshotStopped as stopped:
            log.warning("%s", stopped)
            checkpoint = start_ts or 0
        finally:
            source.close()
            if snapshot is not None:
                snapshot.close()
        return RunResult(
            checkpoint, feed.counters, source.assembler.position, source.name,
            resume.checkpoint_ts if resume is not None else None,
        )
    finally:
        store.close()


def _snapshot(config: ChangefeedConfig, store: ObjectStore, resume: ResumeRecord | None,
              record: SnapshotRecord | None) -> InitialSnapshot | None:
    """The snapshot attempt this run makes: a new one, the rest of an unfinished one, or none."""
    if record is not None:
        if record.complete:
            return None
        return plan_snapshot(config, store, record, redact(config.source.uri))
    if not wants_snapshot(config, resume is not None):
        return None
    return plan_snapshot(config, store, None, redact(config.source.uri))


@contextlib.contextmanager
def _signals(feed: Changefeed) -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        log.warning("received %s: flushing and writing the checkpoint", signal.Signals(signum).name)
        feed.stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
