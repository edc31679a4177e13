"""S3 errors and faults: clear, credential-free errors; retries through a fault-injecting proxy that prove
create-only writes land exactly once."""

from __future__ import annotations

import os
import threading
import time

import pytest

from storagecdc.devtools.s3servers import (
    ACCESS_KEY,
    READONLY_ACCESS_KEY,
    READONLY_SECRET_KEY,
    SECRET_KEY,
    free_port,
)
from storagecdc.errors import ObjectExistsError, StorageError
from storagecdc.storage.uri import open_store
from tests.faults.proxy import Fault, FaultProxy, random_plan
from tests.plugins.s3_servers import TEST_BUCKET
from tests.storage.conftest import S3_KINDS, s3_server, s3_uri

pytestmark = pytest.mark.s3


def _assert_clean(exc: BaseException) -> None:
    text = str(exc) + repr(exc)
    assert SECRET_KEY not in text
    assert ACCESS_KEY not in text


@pytest.mark.parametrize("kind", ["moto", "seaweedfs"])
def test_missing_bucket_is_one_clear_error(request: pytest.FixtureRequest, kind: str) -> None:
    server = s3_server(request, kind)
    store = open_store(server.store_uri("missing-bucket-for-read", "p", **{"retry-deadline": "20"}))
    operations = [lambda: store.get("metadata"), lambda: list(store.list("db/"))]
    if kind == "moto":  # SeaweedFS creates a bucket on the first write into it
        operations.append(lambda: store.put("db/t/meta/CDC.index", b"x"))
    for operation in operations:
        started = time.monotonic()
        with pytest.raises(StorageError) as info:
            operation()
        assert time.monotonic() - started < 5, "a missing bucket must not be retried"
        assert not info.value.retryable
        assert "bucket 'missing-bucket-for-read' does not exist" in str(info.value)
        _assert_clean(info.value)


def test_bad_credentials_are_one_clear_error(seaweedfs: object, request: pytest.FixtureRequest) -> None:
    server = s3_server(request, "seaweedfs")
    uri = server.store_uri(TEST_BUCKET, "p", **{"secret-access-key": "wrong-" + SECRET_KEY})
    store = open_store(uri)
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.put("db/t/1/CDC000001.csv", b"x")
    assert time.monotonic() - started < 5
    assert not info.value.retryable
    assert "credentials were rejected" in str(info.value)
    assert "db/t/1/CDC000001.csv" in str(info.value)
    _assert_clean(info.value)
    assert "wrong-" not in str(info.value)


def test_access_denied_is_one_clear_error(request: pytest.FixtureRequest) -> None:
    server = s3_server(request, "seaweedfs")
    writer = open_store(server.store_uri(TEST_BUCKET, "acl"))
    writer.put("db/t/meta/CDC.index", b"CDC000001.csv\n")
    reader = open_store(server.store_uri(TEST_BUCKET, "acl", **{
        "access-key": READONLY_ACCESS_KEY, "secret-access-key": READONLY_SECRET_KEY, "retry-deadline": "20"}))
    assert reader.get("db/t/meta/CDC.index") == b"CDC000001.csv\n"
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        reader.put("db/t/1/CDC000002.csv", b"x")
    assert time.monotonic() - started < 5
    assert not info.value.retryable
    assert "access denied" in str(info.value)
    assert "db/t/1/CDC000002.csv" in str(info.value)
    assert READONLY_SECRET_KEY not in str(info.value)
    assert READONLY_ACCESS_KEY not in str(info.value)


def test_unknown_access_key_is_rejected(request: pytest.FixtureRequest) -> None:
    server = s3_server(request, "seaweedfs")
    store = open_store(server.store_uri(TEST_BUCKET, "p", **{"access-key": "NOSUCHKEYID"}))
    with pytest.raises(StorageError) as info:
        store.get("metadata")
    assert "credentials were rejected (InvalidAccessKeyId)" in str(info.value)
    assert "NOSUCHKEYID" not in str(info.value)


def test_unreachable_endpoint_gives_up_at_the_deadline() -> None:
    port = free_port()
    store = open_store(f"s3://bucket/p?endpoint=http://127.0.0.1:{port}&force-path-style=true"
                       f"&access-key={ACCESS_KEY}&secret-access-key={SECRET_KEY}&retry-deadline=1.5")
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.get("metadata")
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 6
    assert f"cannot reach the S3 endpoint http://127.0.0.1:{port}" in str(info.value)
    assert "gave up after" in str(info.value)
    _assert_clean(info.value)


def _proxied(request: pytest.FixtureRequest, kind: str, plan: object) -> tuple[FaultProxy, str]:
    server = s3_server(request, kind)
    proxy = FaultProxy(server.endpoint, plan)  # type: ignore[arg-type]
    return proxy, s3_uri(request, kind, endpoint=proxy.endpoint)


@pytest.mark.parametrize("kind", S3_KINDS)
def test_create_only_lands_exactly_once_under_random_faults(request: pytest.FixtureRequest, kind: str) -> None:
    proxy, uri = _proxied(request, kind, random_plan(0.3, seed=11))
    with proxy:
        store = open_store(uri)
        payloads = {f"db/t/1/CDC{i:06d}.csv": os.urandom(100 + i) for i in range(25)}
        for key, data in payloads.items():
            store.put(key, data, create_only=True)
        for key, data in payloads.items():
            assert proxy.landed("PUT", key) == 1, key
            assert store.get(key) == data
        assert [o.key for o in store.list("db/")] == sorted(payloads)
        with pytest.raises(ObjectExistsError):
            store.put(next(iter(payloads)), b"different", create_only=True)
    assert sum(f is not Fault.PASS for f in proxy.faults) >= 10


@pytest.mark.parametrize("kind", S3_KINDS)
def test_lost_answer_of_a_landed_put_is_success(request: pytest.FixtureRequest, kind: str) -> None:
    state = {"armed": True}
    lock = threading.Lock()

    def plan(method: str, path: str) -> Fault:
        with lock:
            if method == "PUT" and "CDC000007" in path and state["armed"]:
                state["armed"] = False
                return Fault.RESET_AFTER
        return Fault.PASS

    proxy, uri = _proxied(request, kind, plan)
    with proxy:
        store = open_store(uri)
        store.put("db/t/1/CDC000007.csv", b"payload", create_only=True)
        assert proxy.landed("PUT", "CDC000007") == 1
        assert store.get("db/t/1/CDC000007.csv") == b"payload"


@pytest.mark.parametrize("kind", ["moto", "seaweedfs"])
def test_sustained_slowdown_is_retried_until_it_clears(request: pytest.FixtureRequest, kind: str) -> None:
    count = {"n": 0}
    lock = threading.Lock()

    def plan(method: str, path: str) -> Fault:
        with lock:
            count["n"] += 1
            n = count["n"]
        if n <= 3:
            return Fault.PASS  # the probe
        return Fault.SLOWDOWN if n <= 9 else Fault.PASS

    proxy, uri = _proxied(request, kind, plan)
    with proxy:
        store = open_store(uri)
        store.put("k", b"v", create_only=True)
        assert store.get("k") == b"v"
    assert proxy.faults.count(Fault.SLOWDOWN) == 6


def test_faults_outlasting_the_deadline_fail_with_one_error(request: pytest.FixtureRequest) -> None:
    server = s3_server(request, "moto")
    with FaultProxy(server.endpoint, lambda method, path: Fault.UNAVAILABLE) as proxy:
        store = open_store(s3_uri(request, "moto", endpoint=proxy.endpoint, **{"retry-deadline": "1"},
                                  **{"conditional-writes": "true"}))
        started = time.monotonic()
        with pytest.raises(StorageError) as info:
            store.put("db/t/1/CDC000001.csv", b"x", create_only=True)
        assert time.monotonic() - started < 3
    assert info.value.retryable
    assert "ServiceUnavailable" in str(info.value)
    assert "gave up after" in str(info.value)
    assert "db/t/1/CDC000001.csv" in str(info.value)
    _assert_clean(info.value)


@pytest.mark.parametrize("kind", ["moto", "seaweedfs"])
def test_owner_record_write_survives_a_lost_answer(request: pytest.FixtureRequest, kind: str) -> None:
    armed = {"on": False}

    def plan(method: str, path: str) -> Fault:
        if method == "PUT" and path.split("?", maxsplit=1)[0].endswith("/owner.json") and armed["on"]:
            armed["on"] = False
            return Fault.RESET_AFTER
        return Fault.PASS

    proxy, uri = _proxied(request, kind, plan)
    with proxy:
        store = open_store(uri)
        v1 = store.put_if_version("_storagecdc/owner.json", b"epoch 1", None)
        armed["on"] = True
        v2 = store.put_if_version("_storagecdc/owner.json", b"epoch 2", v1)
        assert store.get_versioned("_storagecdc/owner.json") == (b"epoch 2", v2)
        with pytest.raises(ObjectExistsError):
            store.put_if_version("_storagecdc/owner.json", b"epoch 3", v1)


@pytest.mark.parametrize("kind", ["moto", "seaweedfs"])
def test_multipart_upload_under_faults(request: pytest.FixtureRequest, kind: str) -> None:
    proxy, uri = _proxied(request, kind, random_plan(0.25, seed=5))
    data = os.urandom(12 * 1024 * 1024)
    with proxy:
        store = open_store(uri)
        store.put("big.parquet", data, create_only=True)
        assert store.get("big.parquet") == data
        store.put("big.parquet", data, create_only=True)
