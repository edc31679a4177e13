"""``storage.retry``: retries until the deadline, with one last attempt at it, then the error."""

from __future__ import annotations

import itertools
import random

import pytest

from storagecdc.errors import StorageError
from storagecdc.storage import retry
from storagecdc.storage.retry import RetryPolicy, call_with_retry


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("seed", range(20))
def test_retries_until_the_deadline_then_raises(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    clock = _Clock()
    monkeypatch.setattr(retry.time, "monotonic", clock.monotonic)
    attempts: list[float] = []

    def failing() -> None:
        attempts.append(clock.now)
        raise StorageError("unreachable", retryable=True)

    with pytest.raises(StorageError, match=r"gave up after \d+ attempts in 1\.5s"):
        call_with_retry(failing, RetryPolicy(deadline_s=1.5), sleep=clock.sleep, rng=random.Random(seed))
    assert attempts[-1] == pytest.approx(1.5)  # the last wait is cut short: one attempt at the deadline
    assert len(attempts) >= 4
    assert all(b >= a for a, b in itertools.pairwise(attempts))


def test_a_success_before_the_deadline_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(retry.time, "monotonic", clock.monotonic)
    calls = iter([StorageError("busy", retryable=True), StorageError("busy", retryable=True), "ok"])

    def flaky() -> str:
        got = next(calls)
        if isinstance(got, StorageError):
            raise got
        return got

    assert call_with_retry(flaky, RetryPolicy(deadline_s=1.5), sleep=clock.sleep) == "ok"


def test_a_permanent_error_is_not_retried() -> None:
    calls = []

    def denied() -> None:
        calls.append(1)
        raise StorageError("access denied", retryable=False)

    with pytest.raises(StorageError, match="access denied"):
        call_with_retry(denied, RetryPolicy(deadline_s=1.5), sleep=lambda _: None)
    assert len(calls) == 1
