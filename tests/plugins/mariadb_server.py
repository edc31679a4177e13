"""pytest plugin: the private MariaDB server the ``mariadb`` tests run against.

Fixtures:

- ``mariadb`` (session): one ``MariaDBServer`` for the whole run, started on first use. A test that needs it
  FAILS (never skips) when ``mariadbd`` is missing or will not start; the message names
  ``scripts/install-test-deps.sh``.
- ``mariadb_db`` (function): the name of a fresh, empty database on that server, dropped afterwards.
- ``mariadb_factory`` (function): ``mariadb_factory(**settings)`` starts an extra, independent server with
  other settings; each is stopped and deleted when the test ends. To run the shared server with other
  settings for a while instead, use ``with mariadb.restarted(binlog_row_metadata="NO_LOG"): ...``, which
  restores the session settings afterwards.

Tests using these fixtures should carry ``@pytest.mark.mariadb``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest

from storagecdc.devtools.mariadb import INSTALL_HINT, MariaDBError, MariaDBServer, Setting, mariadb_available


def _start(settings: dict[str, Setting] | None = None) -> MariaDBServer:
    problem = mariadb_available()
    if problem:
        pytest.fail(f"MariaDB is required for this test: {problem}", pytrace=False)
    server = MariaDBServer(settings=settings)
    try:
        server.start()
    except MariaDBError as e:
        server.close()
        pytest.fail(f"MariaDB would not start ({INSTALL_HINT} if it is missing): {e}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """The session's private MariaDB server (ROW binlog, FULL row image and metadata, CRC32)."""
    server = _start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mariadb_db(mariadb: MariaDBServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test (its name derives from the test id), dropped at teardown."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    name = f"t_{request.node.name[:40].strip('_').replace('[', '_').replace(']', '_')}_{digest}"
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)[:64]
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")
    mariadb.execute(f"CREATE DATABASE `{name}`")
    yield name
    if mariadb.running:
        mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def mariadb_factory() -> Iterator[Callable[..., MariaDBServer]]:
    """``mariadb_factory(**settings)``: a further private server with other settings, for this test only."""
    servers: list[MariaDBServer] = []

    def make(**settings: Setting) -> MariaDBServer:
        server = _start(dict(settings))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
