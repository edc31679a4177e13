"""Retrying a storage call: exponential backoff with full jitter, bounded by a deadline.

The loop is the project's own: boto3's built-in retry quota drains under sustained faults and then fails fast,
so the S3 store turns boto3's retries off and retries here, for as long as the deadline allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from storagecdc.errors import StorageError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to retry a retryable ``StorageError``."""

    deadline_s: float = 120.0
    """Retry for this many seconds from the first attempt: the last wait is cut short so that one attempt is
    made at the deadline, then the error is raised."""
    base_delay_s: float = 0.05
    max_delay_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * (2 ** min(attempt, 30))))


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, *,
                    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> T:
    """Call ``fn`` until it succeeds, raises a non-retryable error, or the deadline passes.

    ``fn`` raises ``StorageError`` (with ``retryable`` set) for failures; the last error is re-raised with
    the number of attempts appended when the deadline ends the loop.
    """
    rng = rng or random.Random()
    start = time.monotonic()
    attempt = 0
    while True:
        try:
            return fn()
        except StorageError as exc:
            if not exc.retryable:
                raise
            attempt += 1
            left = policy.deadline_s - (time.monotonic() - start)
            if left <= 0:
                raise StorageError(f"{exc} (gave up after {attempt} attempts in "
                                   f"{time.monotonic() - start:.1f}s)", retryable=True) from exc
            delay = min(policy.delay(attempt - 1, rng), left)
        sleep(delay)
