"""Stores for the storage suite: every kind the project has, including S3 without conditional writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from storagecdc.devtools.s3servers import MotoServer, SeaweedFS
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.uri import open_store
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix

S3_KINDS = [
    pytest.param("moto", id="moto", marks=pytest.mark.s3),
    pytest.param("moto-headcheck", id="moto-headcheck", marks=pytest.mark.s3),
    pytest.param("seaweedfs", id="seaweedfs", marks=pytest.mark.s3),
]
ALL_KINDS = [pytest.param("memory", id="memory"), pytest.param("local", id="local"), *S3_KINDS]

SMALL_MULTIPART = {"multipart-threshold": str(5 * 1024 * 1024), "part-size": str(5 * 1024 * 1024)}


def s3_server(request: pytest.FixtureRequest, kind: str) -> MotoServer | SeaweedFS:
    server: MotoServer | SeaweedFS = request.getfixturevalue(
        "seaweedfs" if kind == "seaweedfs" else "moto_server")
    return server


def s3_uri(request: pytest.FixtureRequest, kind: str, *, endpoint: str | None = None, **extra: str) -> str:
    """A fresh-prefix URI on the server of ``kind``, optionally through another endpoint (a proxy)."""
    server = s3_server(request, kind)
    params = {"retry-deadline": "20", **SMALL_MULTIPART, **extra}
    if kind == "moto-headcheck":
        params["conditional-writes"] = "false"
    if endpoint is not None:
        params["endpoint"] = endpoint
    return server.store_uri(TEST_BUCKET, fresh_prefix(request.node.name), **params)


@pytest.fixture
def make_store(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ObjectStore]]:
    opened: list[ObjectStore] = []

    def make(kind: str) -> ObjectStore:
        store: ObjectStore
        if kind == "memory":
            store = MemoryStore("test")
        elif kind == "local":
            store = open_store(tmp_path_factory.mktemp("local").as_uri())
        else:
            store = open_store(s3_uri(request, kind))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=ALL_KINDS)
def store(request: pytest.FixtureRequest, make_store: Callable[[str], ObjectStore]) -> ObjectStore:
    store: ObjectStore = make_store(request.param)
    return store
