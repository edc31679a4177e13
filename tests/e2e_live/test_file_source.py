"""Scenario 5: the source server's binlog files, replicated by a file-source ``storagecdc run`` with the same
split tables and syncpoints, replay to the same state as the live run and as the server."""

from __future__ import annotations

import pytest

from tests.e2e_live.conftest import LiveRun, Replayed
from tests.e2e_live.harness import differences

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


def test_file_source_run_exits_zero(live: LiveRun) -> None:
    code, log = live.files_run
    assert code == 0, log[-3000:]
    assert "syncpoints" in log


def test_file_source_replay_equals_live_replay_and_server(
    live: LiveRun, files_replayed: Replayed, csv_replayed: Replayed
) -> None:
    assert differences(files_replayed.state, csv_replayed.state) == []
    assert differences(files_replayed.state, live.state) == []
