"""Checking that a call blocks until a gate opens (the upload pool's tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

WAIT = 5.0
"""Seconds a test waits for something that must happen."""


def returns_only_after(gate: threading.Event, call: Callable[[], object], what: str) -> None:
    """Run ``call`` on a thread: it must still be waiting 0.2 s later (``what`` says why it must not have
    returned), and return once ``gate`` is set."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    t = threading.Thread(target=run)
    t.start()
    assert not done.wait(0.2), what
    gate.set()
    assert done.wait(WAIT)
    t.join()
