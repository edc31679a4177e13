"""Automatic splitting of hot tables: rows per second over a sliding window of commit-ts time.

``[scheduler] split-rows-per-second = N`` turns it on: a table with a primary key whose rate of row changes
over the last ``WINDOW_MS`` of commit-ts time exceeds ``N`` is split into ``split-number`` spans at the next
transaction boundary (the runtime does the split; this module only measures and decides). Like TiCDC's
``write-key-threshold`` with ``enable-table-across-nodes``, but measured on the stream itself: time is the
commit-ts of the changes, never the wall clock, so the same binlog splits the same tables at the same
transactions on every run.

Counting is per row batch, not per row: ``observe`` adds a batch's row count to the bucket of its second.
"""

from __future__ import annotations

from storagecdc.model import TSO_LOGICAL_BITS, TableName, ts_physical_ms

WINDOW_MS = 10_000
"""The length of the sliding window the rate is measured over."""
BUCKET_MS = 1_000
"""The window's resolution (MariaDB's binlog timestamps have one-second resolution)."""


class RateWindow:
    """Rows per second over the last ``window_ms`` of (commit-ts) time, in buckets of ``bucket_ms``.

    A ring of per-bucket counts (a few hundred bytes per table). Time only moves forward: a batch older than
    the newest bucket is counted in the newest bucket. Before a whole window has passed the rate is still
    taken over the full window (a conservative start: a short burst at the beginning of a stream does not
    look like a sustained rate).
    """

    __slots__ = ("_bucket_ms", "_counts", "_newest", "_total", "_window_ms")

    def __init__(self, window_ms: int = WINDOW_MS, bucket_ms: int = BUCKET_MS) -> None:
        if bucket_ms < 1 or window_ms < bucket_ms or window_ms % bucket_ms:
            raise ValueError(f"window {window_ms} ms must be a positive multiple of the bucket {bucket_ms} ms")
        self._window_ms = window_ms
        self._bucket_ms = bucket_ms
        self._counts = [0] * (window_ms // bucket_ms)
        self._newest: int | None = None
        """The newest bucket number counted (buckets are ``time // bucket_ms``)."""
        self._total = 0

    def add(self, now_ms: int, rows: int) -> int:
        """Count ``rows`` at time ``now_ms``; the rows now in the window."""
        bucket = now_ms // self._bucket_ms
        if bucket != self._newest:
            self._advance(bucket)
        newest = self._newest
        assert newest is not None
        self._counts[newest % len(self._counts)] += rows
        self._total += rows
        return self._total

    def rate(self, now_ms: int) -> float:
        """Rows per second over the window that ends at ``now_ms``."""
        self._advance(now_ms // self._bucket_ms)
        return self._total * 1000 / self._window_ms

    def _advance(self, bucket: int) -> None:
        """Make ``bucket`` the newest, emptying the buckets that leave the window on the way."""
        newest = self._newest
        if newest is not None and bucket <= newest:
            return
        counts = self._counts
        if newest is None or bucket - newest >= len(counts):
            counts[:] = [0] * len(counts)
            self._total = 0
        else:
            for b in range(newest + 1, bucket + 1):
                slot = b % len(counts)
                self._total -= counts[slot]
                counts[slot] = 0
        self._newest = bucket


class AutoSplitPolicy:
    """Decides which tables to split: one ``RateWindow`` per watched table.

    The runtime ``watch``es a table while it is whole and splittable (it has a primary key and is not split by
    configuration), ``observe``s every row batch of a watched table, and asks ``due`` at each transaction
    boundary; a table that is due is split and no longer watched.
    """

    def __init__(self, rows_per_second: int, parts: int, window_ms: int = WINDOW_MS, *, quiet_until: int = 0) -> None:
        """Rows at or below the commit-ts ``quiet_until`` are not counted (an initial snapshot's rows: all at one
        commit-ts, they are the table's size, not its traffic)."""
        if rows_per_second < 1:
            raise ValueError(f"rows_per_second must be positive, got {rows_per_second}")
        if parts < 2:
            raise ValueError(f"a split needs at least 2 parts, got {parts}")
        self.rows_per_second = rows_per_second
        self.parts = parts
        self.window_ms = window_ms
        self._quiet_until = quiet_until
        self._windows: dict[TableName, RateWindow] = {}
        self._limit = rows_per_second * window_ms // 1000
        """The threshold as rows in a full window (above it, the rate is above ``rows_per_second``)."""
        self._hot: set[TableName] = set()
        """Tables whose window went above the limit since the last ``due`` (rows only raise it: time passing
        only lowers it, so a table can cross only when it is observed)."""

    def watch(self, table: TableName) -> None:
        if table not in self._windows:
            self._windows[table] = RateWindow(self.window_ms)

    def unwatch(self, table: TableName) -> None:
        self._windows.pop(table, None)
        self._hot.discard(table)

    def watching(self, table: TableName) -> bool:
        return table in self._windows

    def observe(self, table: TableName, commit_ts: int, rows: int) -> None:
        """Count a batch of ``rows`` row changes of a watched ``table`` at ``commit_ts``."""
        window = self._windows.get(table)
        if window is None or commit_ts <= self._quiet_until:
            return
        if window.add(commit_ts >> TSO_LOGICAL_BITS, rows) > self._limit:
            self._hot.add(table)

    def due(self, commit_ts: int) -> list[tuple[TableName, float]]:
        """The watched tables whose rate at ``commit_ts`` exceeds the threshold, with that rate, by name."""
        if not self._hot:
            return []
        now = ts_physical_ms(commit_ts)
        out = []
        for table in sorted(self._hot):
            rate = self._windows[table].rate(now)
            if rate > self.rows_per_second:
                out.append((table, rate))
        self._hot.clear()
        return out
