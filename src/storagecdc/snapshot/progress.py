"""Progress of the snapshot phase: tables and rows done of the estimated totals, rate and ETA, logged at INFO
every few seconds (and once at the end)."""

from __future__ import annotations

import logging
import time
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

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.rows / elapsed
        total = max(self.rows_estimate, self.rows)
        eta = (total - self.rows) / rate if rate > 0 else 0.0
        pct = 100.0 * self.rows / total if total else 100.0
        return (f"snapshot: {self.tables_done}/{self.tables_total} tables, {self.rows}/~{total} rows ({pct:.0f}%), "
                f"{rate:,.0f} rows/s, ETA {eta:.0f} s")

    def finished(self) -> None:
        log.info("%s; finished in %.1f s", self.line(), self.clock() - self.started)
