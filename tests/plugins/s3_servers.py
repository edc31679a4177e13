"""pytest plugin: S3 servers on loopback and a fresh object store per test.

- ``moto_server``: moto's ThreadedMotoServer for the whole session, with bucket ``TEST_BUCKET``.
- ``seaweedfs``: a real S3-compatible server (``weed mini``) for the whole session, same bucket.
- ``object_store``: parametrised over a local directory, moto and SeaweedFS; each test gets a fresh prefix.
- ``store_uri_factory``: the same three, as URIs (for code that opens its own store).

Servers that cannot start make the tests that need them FAIL, never skip.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storagecdc.devtools.s3servers import MotoServer, SeaweedFS
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.uri import open_store

TEST_BUCKET = "storagecdc-test"
_prefixes = itertools.count(1)

STORE_KINDS = [
    pytest.param("local", id="local"),
    pytest.param("moto", id="moto", marks=pytest.mark.s3),
    pytest.param("seaweedfs", id="seaweedfs", marks=pytest.mark.s3),
]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    try:
        server.start()
        server.create_bucket(TEST_BUCKET)
    except Exception as exc:
        server.stop()
        pytest.fail(f"moto server could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        server.create_bucket(TEST_BUCKET)
    except Exception as exc:
        server.stop()
        pytest.fail(f"SeaweedFS could not start: {exc}")
    yield server
    server.stop()


def fresh_prefix(name: str) -> str:
    """A prefix no other test in this session uses."""
    cleaned = "".join(c if c.isalnum() else "-" for c in name)[:60]
    return f"t{next(_prefixes):05d}-{cleaned}"


@pytest.fixture
def store_uri_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """``factory(kind)`` -> a URI with a fresh prefix; kind is ``local``, ``moto`` or ``seaweedfs``."""

    def make(kind: str) -> str:
        prefix = fresh_prefix(request.node.name)
        if kind == "local":
            return (tmp_path / prefix).as_uri()
        server: MotoServer | SeaweedFS = request.getfixturevalue(
            "moto_server" if kind == "moto" else "seaweedfs")
        return server.store_uri(TEST_BUCKET, prefix, **{"retry-deadline": "20"})

    return make


@pytest.fixture(params=STORE_KINDS)
def object_store(request: pytest.FixtureRequest,
                 store_uri_factory: Callable[[str], str]) -> Iterator[ObjectStore]:
    """A fresh, empty store of each kind (local directory, moto, SeaweedFS)."""
    store = open_store(store_uri_factory(request.param))
    yield store
    store.close()
