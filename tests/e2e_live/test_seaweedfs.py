"""Scenario 4: the same live workload replicated as canal-json (with the TiDB extension) to SeaweedFS, a real
S3-compatible server, replays into SQLite equal to the server."""

from __future__ import annotations

import pytest

from tests.e2e_live.conftest import LiveRun, replay_sqlite
from tests.e2e_live.harness import differences

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


def test_seaweedfs_canal_json_replays_equal_to_server(live: LiveRun) -> None:
    replayed = replay_sqlite(live.seaweed_uri, live.tmp / "seaweed.db")
    assert differences(replayed.state, live.state) == []
