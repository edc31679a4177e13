"""Progress of the snapshot phase: tables and rows done of the estimated totals, rate and ETA, logged at INFO
every few seconds (and once at the end).

The snapshot registers its progress under the changefeed it feeds (``watch``), so that the run's Prometheus
metrics (``runtime.metrics``) can read it at scrape time (``progress_of``) without the changefeed knowing it.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("storagecdc.snapshot")


@dataclass
class SnapshotProgress:
    tables_total: int
    rows_estimate: int
    """information_schema's estimate of the rows to read (InnoDB's is approximate)."""
    interval_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    tables_done: int = 0
    rows: int = 0
    started: float = field(default=0.0)
    done: bool = False
    """The phase is over: every table was read (``finished()``)."""
    _next_log: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._next_log = self.started + self.interval_s

    def add_rows(self, count: int) -> None:
        self.rows += count
        now = self.clock()
        if now >= self._next_log:
            self._next_log = now + self.interval_s
            log.info("%s", self.line(now))

    def table_done(self) -> None:
        self.tables_done += 1

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.rows / elapsed if elapsed > 0 else 0.0

    @property
    def total(self) -> int:
        """The rows to read: the estimate, or the rows read when the estimate was low."""
        return max(self.rows_estimate, self.rows)

    def eta(self, now: float | None = None) -> float:
        """Seconds left at the average rate so far (0 before the first row)."""
        now = self.clock() if now is None else now
        rate = self.rows / max(now - self.started, 1e-9)
        return (self.total - self.rows) / rate if rate > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        rate = self.rows / max(now - self.started, 1e-9)
        total = self.total
        pct = 100.0 * self.rows / total if total else 100.0
        return (f"snapshot: {self.tables_done}/{self.tables_total} tables, {self.rows}/~{total} rows ({pct:.0f}%), "
                f"{rate:,.0f} rows/s, ETA {self.eta(now):.0f} s")

    def finished(self) -> None:
        self.done = True
        log.info("%s; finished in %.1f s", self.line(), self.clock() - self.started)


_WATCHED: weakref.WeakKeyDictionary[object, SnapshotProgress] = weakref.WeakKeyDictionary()


def watch(feed: object, progress: SnapshotProgress) -> None:
    """Make ``progress`` the snapshot progress of changefeed ``feed`` (for as long as ``feed`` lives)."""
    _WATCHED[feed] = progress


def progress_of(feed: object) -> SnapshotProgress | None:
    """The progress of the snapshot that feeds ``feed``, if one does (or did) in this run."""
    return _WATCHED.get(feed)
