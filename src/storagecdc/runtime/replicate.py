"""``replicate(config)``: one changefeed run from its resume point to the end of its source (or a stop)."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from storagecdc.config import ChangefeedConfig
from storagecdc.model import SourcePosition
from storagecdc.runtime.changefeed import Changefeed, Counters
from storagecdc.runtime.resume import read_resume
from storagecdc.runtime.source import open_source
from storagecdc.storage import open_store

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
        if resume is not None:
            log.info("resuming from checkpoint %d at %s:%d", resume.checkpoint_ts, resume.state.position.file,
                     resume.state.position.offset)
        source = open_source(config, resume, until=until)
        feed = Changefeed(
            config,
            store,
            source.assembler,
            source_name=source.name,
            start_ts=resume.checkpoint_ts if resume is not None else None,
        )
        try:
            with _signals(feed) if handle_signals else contextlib.nullcontext():
                checkpoint = feed.run(source.changes, source.until)
        finally:
            source.close()
        return RunResult(
            checkpoint, feed.counters, source.assembler.position, source.name,
            resume.checkpoint_ts if resume is not None else None,
        )
    finally:
        store.close()


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
