"""The upload pool on its own: lanes keep order, lanes run side by side, memory is bounded, failures stop it."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from storagecdc.errors import StorageError
from storagecdc.sink.uploads import Uploads
from tests.sink.gates import WAIT, returns_only_after


def test_a_lane_runs_its_jobs_one_at_a_time_in_order() -> None:
    uploads = Uploads(4, 1 << 30)
    lane = uploads.lane()
    log: list[tuple[str, int]] = []

    def job(n: int) -> int:
        log.append(("start", n))
        time.sleep(0.002)
        log.append(("end", n))
        return n * 10

    futures = [lane.submit(functools.partial(job, n), 1) for n in range(20)]
    lane.wait()
    assert [f.result() for f in futures] == [n * 10 for n in range(20)]
    assert log == [(what, n) for n in range(20) for what in ("start", "end")]
    uploads.close()


def test_lanes_run_at_the_same_time() -> None:
    uploads = Uploads(2, 1 << 30)
    both = threading.Barrier(2, timeout=WAIT)  # passes only if the two jobs run at once
    a, b = uploads.lane(), uploads.lane()
    fa, fb = a.submit(both.wait, 1), b.submit(both.wait, 1)
    assert {fa.result(WAIT), fb.result(WAIT)} == {0, 1}
    uploads.close()


def test_submit_blocks_while_the_pool_is_full() -> None:
    uploads = Uploads(1, 100)  # at most 2 jobs and 100 bytes in flight
    release = threading.Event()
    lanes = [uploads.lane() for _ in range(3)]
    lanes[0].submit(lambda: release.wait(WAIT), 10)
    lanes[1].submit(lambda: None, 10)
    returns_only_after(release, lambda: lanes[2].submit(lambda: None, 10),
                       "a third job was admitted while two were in flight")
    uploads.close()


def test_the_byte_bound_admits_one_job_of_any_size() -> None:
    uploads = Uploads(4, 100)
    release = threading.Event()
    lane, other = uploads.lane(), uploads.lane()
    lane.submit(lambda: release.wait(WAIT), 1000)  # larger than the bound: admitted, nothing in flight
    returns_only_after(release, lambda: other.submit(lambda: None, 1),
                       "a job was admitted beside one that holds more than the bound")
    uploads.close()


def test_the_first_failure_stops_everything_and_surfaces_on_every_call() -> None:
    uploads = Uploads(2, 1 << 30)
    lane = uploads.lane()
    ran: list[int] = []
    boom = StorageError("write: S3 answered SlowDown: key 'a/b'")
    release = threading.Event()

    def fail() -> None:
        release.wait(WAIT)
        raise boom

    first = lane.submit(fail, 1)
    later = lane.submit(lambda: ran.append(1), 1)
    release.set()
    with pytest.raises(StorageError) as info:
        lane.wait()
    assert info.value is boom
    assert first.exception() is boom and later.exception() is boom
    assert ran == [], "a job queued after a failed one ran"
    with pytest.raises(StorageError):
        uploads.lane().submit(lambda: ran.append(2), 1)
    with pytest.raises(StorageError):
        uploads.check()
    with pytest.raises(StorageError):
        uploads.close()
    assert ran == []


def test_idle_waits_without_raising() -> None:
    uploads = Uploads(1, 1 << 30)
    lane = uploads.lane()
    lane.submit(lambda: 1 / 0, 1)
    lane.idle()
    with pytest.raises(ZeroDivisionError):
        uploads.check()
    with pytest.raises(ZeroDivisionError):
        uploads.close()


def test_no_workers_runs_inline() -> None:
    uploads = Uploads(0, 0)
    lane = uploads.lane()
    caller = threading.get_ident()
    assert lane.submit(threading.get_ident, 10**9).result() == caller
    with pytest.raises(ZeroDivisionError):
        lane.submit(lambda: 1 / 0, 1)
    lane.wait()
    uploads.close()


def test_deferred_does_the_waits_of_its_lanes_at_its_end() -> None:
    uploads = Uploads(2, 1 << 30)
    done: list[int] = []

    def slow(n: int) -> None:
        time.sleep(0.05)
        done.append(n)

    with uploads.deferred():
        inside = (uploads.deferring, uploads.lane().deferring)
        for n in range(3):
            lane = uploads.lane()
            lane.submit(functools.partial(slow, n), 1)
            lane.wait()
        assert not done
    assert sorted(done) == [0, 1, 2]
    assert inside == (True, True) and not uploads.deferring
    uploads.close()


def test_deferred_does_not_wait_for_lanes_that_did_not_wait_in_it() -> None:
    uploads = Uploads(2, 1 << 30)
    release = threading.Event()
    cut = uploads.lane().submit(lambda: release.wait(WAIT), 1)  # a file cut by size, still uploading
    flushed = uploads.lane()
    with uploads.deferred(), uploads.deferred():  # nested: only the outermost block waits
        flushed.submit(lambda: None, 1)
        flushed.wait()
    assert not cut.done()
    release.set()
    assert cut.result(WAIT) is True
    uploads.close()


def test_a_closed_pool_starts_again_on_the_next_submit() -> None:
    uploads = Uploads(1, 1 << 30)
    lane = uploads.lane()
    assert lane.submit(lambda: 1, 1).result(WAIT) == 1
    uploads.close()
    assert lane.submit(lambda: 2, 1).result(WAIT) == 2
    uploads.close()
