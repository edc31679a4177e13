"""Concurrent uploads: data files go to storage on a bounded pool of threads while the caller goes on.

One ``Uploads`` per sink (``worker-count`` threads); one ``Lane`` per table writer. A lane runs its jobs one
at a time in the order they were submitted, so a writer's files are claimed, written and named in its index
file exactly as a synchronous writer would (the data file, then its index file; file N before file N+1);
different lanes, i.e. different tables and spans, upload at the same time, and every lane uploads while its
writer encodes the next file.

- Bounded memory: ``submit`` blocks while ``2 * workers`` jobs or ``max_bytes`` of files are in flight (one
  job is always admitted, however large).
- Errors: the first failed job fails the whole ``Uploads``: queued jobs do not run (nothing after a failed
  file becomes visible), and every later ``submit``, ``wait`` and ``close`` raises that same exception, so it
  surfaces on the caller's thread as one error, exactly as a synchronous write's would.
- ``workers == 0``: every job runs inline, in ``submit`` (the simulator's deterministic mode).
- ``deferred()``: a ``Lane.wait`` inside the block returns at once and the block's end waits for it (for the
  lane's jobs up to then), so many tables' flushes upload at once and wait once. The changefeed flushes
  that way (the interval flush, the final flush) and reads no dispatcher state before the block has ended.
  Jobs of lanes that did not wait in the block (files cut by size) go on uploading.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "Future[Any]", int]


class Uploads:
    """The pool that every lane of one sink shares. Thread-safe."""

    def __init__(self, workers: int, max_bytes: int) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.workers = workers
        self._max_jobs = 2 * workers
        self._max_bytes = max_bytes
        self._cond = threading.Condition()
        self._jobs = 0
        self._bytes = 0
        self._failure: BaseException | None = None
        self._deferring = 0
        self._deferred: list[Future[Any]] = []
        self._pool: ThreadPoolExecutor | None = None

    @property
    def inline(self) -> bool:
        return self.workers == 0

    @property
    def deferring(self) -> bool:
        """True inside ``deferred()``: a flush need not wait, the block's end does."""
        return self._deferring > 0

    def lane(self) -> Lane:
        return Lane(self)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Lane waits inside the block return at once; the (outermost) block's end does them, then raises the
        first failure, if any. Not thread-safe: the thread that flushes uses it."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring:
            waits, self._deferred = self._deferred, []
            for future in waits:
                future.exception()
            self.check()

    def check(self) -> None:
        """Raise the first failure of any job, if there was one."""
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        """Wait for the jobs in flight, stop the threads, and raise the first failure, if any."""
        try:
            with self._cond:
                while self._jobs:
                    self._cond.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self.check()

    # -- lanes' side -----------------------------------------------------------------------------------

    def _admit(self, size: int) -> None:
        with self._cond:
            while (self._failure is None and self._jobs
                   and (self._jobs >= self._max_jobs or self._bytes + size > self._max_bytes)):
                self._cond.wait()
            self.check()
            self._jobs += 1
            self._bytes += size

    def _done(self, size: int, failure: BaseException | None) -> None:
        with self._cond:
            self._jobs -= 1
            self._bytes -= size
            if failure is not None and self._failure is None:
                self._failure = failure
            self._cond.notify_all()

    def _start(self, drain: Callable[[], None]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="storagecdc-upload")
        self._pool.submit(drain)


class Lane:
    """The jobs of one writer, run one at a time in submission order (inline when the pool has no threads)."""

    def __init__(self, uploads: Uploads) -> None:
        self._uploads = uploads
        self._queue: deque[_Job] = deque()
        self._running = False
        self._last: Future[Any] | None = None
        self._lock = threading.Lock()

    @property
    def deferring(self) -> bool:
        """True inside the pool's ``deferred()``: a flush need not wait, the block's end does."""
        return self._uploads.deferring

    def submit(self, job: Callable[[], T], size: int) -> Future[T]:
        """Queue ``job`` (``size``: the bytes it holds, for the memory bound); its future has its result."""
        uploads = self._uploads
        future: Future[T] = Future()
        if uploads.inline:
            uploads.check()
            future.set_result(job())
            return future
        uploads._admit(size)
        with self._lock:
            self._queue.append((job, future, size))
            self._last = future
            start = not self._running
            self._running = True
        if start:
            uploads._start(self._drain)
        return future

    def wait(self) -> None:
        """Block until every job submitted so far has finished; raise the first failure, if any. Inside
        ``Uploads.deferred()`` the wait is left to the block's end."""
        last = self._last
        if self._uploads.deferring:
            if last is not None and not last.done():
                self._uploads._deferred.append(last)
            return
        if last is not None:
            last.exception()
        self._uploads.check()

    def idle(self) -> None:
        """Block until every job submitted so far has finished, without raising (the failure stays for the
        next ``submit``/``wait``)."""
        last = self._last
        if last is not None:
            last.exception()

    def _drain(self) -> None:
        uploads = self._uploads
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    return
                job, future, size = self._queue.popleft()
            failure = uploads._failure
            if failure is None:
                try:
                    future.set_result(job())
                except BaseException as exc:  # handed to the caller's thread through the future
                    failure = exc
            if failure is not None:
                future.set_exception(failure)
            uploads._done(size, failure)
