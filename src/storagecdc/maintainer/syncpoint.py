"""Syncpoint scheduling: an all-table barrier at every ``interval`` boundary of commit-ts.

Boundaries are physical-time multiples of the interval, as TSO-layout commit-ts with logical 0, so the same
binlog and interval always give the same syncpoints. The source emits a ``SyncPointEvent`` for every boundary
it crosses, before the first change at or after it.
"""

from __future__ import annotations

from storagecdc.model import make_ts, ts_physical_ms


def syncpoints_between(prev_ts: int, next_ts: int, interval_ms: int) -> list[int]:
    """Commit-ts of every syncpoint boundary ``b`` with ``prev_ts < b <= next_ts``, in order."""
    if interval_ms <= 0:
        raise ValueError(f"sync-point interval must be positive, got {interval_ms} ms")
    first = ts_physical_ms(prev_ts) // interval_ms + 1
    out: list[int] = []
    ms = first * interval_ms
    while (ts := make_ts(ms)) <= next_ts:
        if ts > prev_ts:
            out.append(ts)
        ms += interval_ms
    return out
