"""The shared ``object_store`` and ``store_uri_factory`` fixtures other suites build on."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import pytest

from storagecdc.devtools.s3servers import MotoServer
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.uri import open_store


def test_object_store_is_fresh_and_works(object_store: ObjectStore) -> None:
    assert list(object_store.list()) == []
    object_store.put("db/t/1/CDC000001.csv", b"a,b\r\n", create_only=True)
    assert object_store.get("db/t/1/CDC000001.csv") == b"a,b\r\n"


@pytest.mark.s3
def test_store_uri_factory_reopens_the_same_objects(store_uri_factory: Callable[[str], str],
                                                    moto_server: MotoServer) -> None:
    uri = store_uri_factory("moto")
    open_store(uri).put("k", b"v")
    assert open_store(uri).get("k") == b"v"
    assert moto_server.endpoint in unquote(uri)


@pytest.mark.s3
def test_moto_server_outside_pytest() -> None:
    with MotoServer() as server:
        server.create_bucket("demo-bucket")
        store = open_store(server.store_uri("demo-bucket", "p"))
        store.put("x", b"1", create_only=True)
        assert [o.key for o in store.list()] == ["x"]
