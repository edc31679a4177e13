"""Shared test configuration. Server fixtures live in plugins, one per real component."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.plugins.s3_servers",
    "tests.plugins.mariadb_server",
]

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "binlog"


@pytest.fixture(scope="session")
def binlog_fixtures() -> Path:
    """The real binlog files in ../shared/fixtures/binlog (read in place, never copied)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"binlog fixtures not found at {FIXTURES}")
    return FIXTURES
