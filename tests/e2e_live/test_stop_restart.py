"""Scenario 3: the CSV changefeed is stopped with SIGTERM in the middle of the live workload (exit 0, checkpoint
and resume record written), started again with the same command while the workload goes on, stopped again and
finished with ``--until now``. No object written by an earlier run is overwritten, the replay equals the
server, and the consumer applies every change exactly once: as many as a single file-source run of the same
binlog gives."""

from __future__ import annotations

import re

import pytest

from tests.e2e_live.conftest import LiveRun, Replayed
from tests.e2e_live.harness import differences, immutable

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


def test_sigterm_mid_stream_exits_zero_with_a_checkpoint(live: LiveRun) -> None:
    assert live.workload_running_at_stop, "the first stop must come while sysbench still runs"
    assert live.restarted_while_running, "the restarted run must stream while sysbench still runs"
    (how1, rc1, log1), (how2, rc2, log2), (how3, rc3, log3) = live.csv.runs
    assert (how1, rc1, how2, rc2, how3, rc3) == ("SIGTERM", 0, "SIGTERM", 0, "--until now", 0)
    assert "received SIGTERM" in log1 and "checkpoint" in log1
    assert "resumed from" in log2 and "resumed from" in log3
    rows = re.search(r"replicated (\d+) rows", log2)
    assert rows and int(rows[1]) > 0, log2[-2000:]
    first = live.snapshots[0]
    assert "metadata" in first and "_storagecdc/resume.json" in first
    assert any("/sbtest1/" in key and key.endswith(".csv") for key in first), "the first run wrote data files"


def test_no_object_is_overwritten_by_a_later_run(live: LiveRun) -> None:
    for earlier, later in zip(live.snapshots, live.snapshots[1:], strict=False):
        kept = immutable(earlier)
        changed = sorted(k for k, digest in kept.items() if later.get(k) != digest)
        assert changed == [], f"{len(changed)} objects rewritten or deleted, first {changed[:3]}"
    # The restart made while the workload runs writes new files; the final --until now run may find
    # nothing left if the second run caught up before its SIGTERM.
    assert len(immutable(live.snapshots[1])) > len(immutable(live.snapshots[0])), "the restart wrote new files"


def test_replay_after_restarts_equals_server(live: LiveRun, csv_replayed: Replayed) -> None:
    assert differences(csv_replayed.state, live.state) == []


def test_every_change_applied_exactly_once(csv_replayed: Replayed, files_replayed: Replayed) -> None:
    assert csv_replayed.consumed.rows == files_replayed.consumed.rows
    # the file source also replays CREATE DATABASE, which came before the live changefeeds started
    assert csv_replayed.consumed.ddl + 1 == files_replayed.consumed.ddl
