"""``storagecdc run`` against a store that fails for good: a missing bucket, access denied, bad credentials, an
unreachable endpoint (at the start, and in the middle of a run through the fault proxy), a full disk. Each
ends with exit code 1 and one clear line, no traceback; afterwards a consumer sees nothing, or exactly what
the checkpoint covers: ``storagecdc consume`` of the failed prefix equals a fault-free run replayed up to
the failed run's checkpoint (the checkpoint never names data that is not durable)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storagecdc.devtools.s3servers import (
    READONLY_ACCESS_KEY,
    READONLY_SECRET_KEY,
    SECRET_KEY,
    MotoServer,
    SeaweedFS,
    free_port,
)
from storagecdc.errors import StorageError
from storagecdc.storage import open_store, read_checkpoint
from tests.faults.harness import (
    CONSUMABLE,
    DEMO,
    Evidence,
    cli,
    dump_sqlite,
    error_line,
    objects,
    replay,
    run_args,
    server_uri,
    with_query,
)
from tests.faults.proxy import Fault, FaultPlan, FaultProxy
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix
from tests.tmpfs import mounted_tmpfs

MISSING_BUCKET = "storagecdc-no-such-bucket"


def consume(uri: str, db: Path, evidence: Evidence, label: str) -> dict[str, list[tuple[object, ...]]]:
    """``storagecdc consume`` of ``uri`` into a fresh SQLite file; its rows by table."""
    result = cli("consume", "--sink-uri", uri, "--target", f"sqlite:///{db}")
    evidence.add_result(f"{label} consume", result)
    assert result.returncode == 0, result.stderr
    return dump_sqlite(db)


def assert_consumer_sees_the_checkpoint(uri: str, reference: str, tmp_path: Path, evidence: Evidence,
                                        label: str) -> tuple[int | None, dict[str, list[tuple[object, ...]]]]:
    """A consumer of the failed prefix sees exactly the reference's changes up to the prefix's checkpoint
    (nothing at all without one); every index file names data files that exist."""
    store = open_store(uri)
    try:
        checkpoint = read_checkpoint(store)
        keys = {info.key for info in store.list()}
        for key in (k for k in keys if k.endswith(".index")):
            named = store.get(key).decode().split()
            directory = key.rsplit("/", 2)[0]
            assert all(f"{directory}/{name}" in keys for name in named), (key, named)
    finally:
        store.close()
    seen = consume(uri, tmp_path / "failed.db", evidence, label)
    if checkpoint is None:
        assert seen == {}
    else:
        assert seen == replay(reference, tmp_path / "reference.db", until_ts=checkpoint)
    return checkpoint, seen


@pytest.mark.s3
@pytest.mark.parametrize("kind", ["moto", "seaweedfs"])
def test_missing_bucket(kind: str, request: pytest.FixtureRequest, evidence: Evidence) -> None:
    server: MotoServer | SeaweedFS = request.getfixturevalue("seaweedfs" if kind == "seaweedfs" else "moto_server")
    uri = with_query(server_uri(server, MISSING_BUCKET, "feed"), CONSUMABLE)
    result = cli(*run_args(DEMO, uri))
    evidence.add_result(request.node.name, result)
    assert f"bucket {MISSING_BUCKET!r} does not exist" in error_line(result)
    with pytest.raises(StorageError, match="does not exist"):
        objects(uri)  # and the run did not create it
    assert evidence.leaks() == []


@pytest.mark.s3
@pytest.mark.parametrize("identity", ["read-only", "wrong-secret"])
def test_rejected_identity(identity: str, seaweedfs: SeaweedFS, request: pytest.FixtureRequest,
                           tmp_path: Path, evidence: Evidence) -> None:
    prefix = fresh_prefix(request.node.name)
    admin = with_query(seaweedfs.store_uri(TEST_BUCKET, prefix), CONSUMABLE)
    reader = with_query(seaweedfs.store_uri(TEST_BUCKET, prefix, **{
        "access-key": READONLY_ACCESS_KEY, "secret-access-key": READONLY_SECRET_KEY}), CONSUMABLE)
    if identity == "read-only":
        uri, expected = reader, "access denied"
    else:
        uri = with_query(seaweedfs.store_uri(TEST_BUCKET, prefix, **{"secret-access-key": "x" + SECRET_KEY[1:]}),
                         CONSUMABLE)
        expected = "the S3 credentials were rejected (SignatureDoesNotMatch)"
    result = cli(*run_args(DEMO, uri))
    evidence.add_result(request.node.name, result)
    assert expected in error_line(result)
    assert objects(admin) == {}
    assert consume(reader, tmp_path / "seen.db", evidence, request.node.name) == {}  # a read-only consumer
    assert evidence.leaks() == []


def test_unreachable_endpoint(request: pytest.FixtureRequest, evidence: Evidence) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    uri = with_query(server_uri(MotoServer(), TEST_BUCKET, "feed", endpoint=endpoint, **{"retry-deadline": "2"}),
                     CONSUMABLE)
    result = cli(*run_args(DEMO, uri))
    evidence.add_result(request.node.name, result)
    line = error_line(result)
    assert f"cannot reach the S3 endpoint {endpoint}" in line and "gave up after" in line
    assert evidence.leaks() == []


MID_RUN_LATENCY_S = 0.05
"""Delay of every request before the trip: the demo run makes about 100 requests (uploads on 4 threads), so
at 0.05 s it lasts about 6.5 s and writes two interval checkpoints with some 50 requests after the first of
them; at 0.02 s it ended about 2 s after the start checkpoint, before any interval checkpoint (2 s)."""


def trip_after_checkpoint(fault: Fault, more: int) -> FaultPlan:
    """Delay every request (so the run outlasts the checkpoint interval); once ``metadata`` has been written
    a second time (the first write is the start checkpoint), pass ``more`` requests, then answer ``fault``."""
    state = {"checkpoints": 0, "left": more}
    lock = threading.Lock()

    def plan(method: str, path: str) -> Fault:
        with lock:
            if state["checkpoints"] >= 2:
                state["left"] -= 1
                if state["left"] < 0:
                    return fault
            if method == "PUT" and path.split("?", 1)[0].endswith("/metadata"):
                state["checkpoints"] += 1
        return Fault.LATENCY

    return plan


MID_RUN = [
    pytest.param(Fault.DENY, 5, "access denied", id="access-denied"),
    pytest.param(Fault.NO_BUCKET, 12, f"bucket {TEST_BUCKET!r} does not exist", id="bucket-deleted"),
    pytest.param(Fault.RESET_BEFORE, 3, "connection error", id="unreachable"),
    pytest.param(Fault.UNAVAILABLE, 6, "S3 answered ServiceUnavailable", id="unavailable"),
]


@pytest.mark.s3
@pytest.mark.parametrize(("fault", "after", "message"), MID_RUN)
def test_store_fails_in_the_middle_of_a_run(
    fault: Fault, after: int, message: str, *, moto_server: MotoServer, request: pytest.FixtureRequest,
    tmp_path: Path, reference_run: Callable[[Path, str], str], evidence: Evidence,
) -> None:
    prefix = fresh_prefix(request.node.name)
    with FaultProxy(moto_server.endpoint, trip_after_checkpoint(fault, after),
                    latency_s=MID_RUN_LATENCY_S) as proxy:
        uri = server_uri(moto_server, TEST_BUCKET, prefix, endpoint=proxy.endpoint, **{"retry-deadline": "2"})
        result = cli(*run_args(DEMO, with_query(uri, CONSUMABLE)))
    evidence.add_result(request.node.name, result)
    assert message in error_line(result, alone=False)  # see test_a_failed_run_prints_only_its_error
    direct = with_query(server_uri(moto_server, TEST_BUCKET, prefix), CONSUMABLE)
    written = objects(direct)
    evidence.add_objects(request.node.name, written)
    reference = reference_run(DEMO, CONSUMABLE)
    checkpoint, seen = assert_consumer_sees_the_checkpoint(direct, reference, tmp_path, evidence, request.node.name)
    assert checkpoint is not None and checkpoint < read_checkpoint_of(reference)
    assert sum(map(len, seen.values())) > 0, "the failure came before a checkpoint covered any change"
    assert evidence.leaks() == []


@pytest.mark.s3
def test_a_failed_run_prints_only_its_error(moto_server: MotoServer, request: pytest.FixtureRequest) -> None:
    with FaultProxy(moto_server.endpoint, trip_after_checkpoint(Fault.DENY, 0),
                    latency_s=MID_RUN_LATENCY_S) as proxy:
        uri = server_uri(moto_server, TEST_BUCKET, fresh_prefix(request.node.name), endpoint=proxy.endpoint)
        result = cli(*run_args(DEMO, with_query(uri, CONSUMABLE)))
    assert "access denied" in error_line(result)


def read_checkpoint_of(uri: str) -> int:
    store = open_store(uri)
    try:
        checkpoint = read_checkpoint(store)
    finally:
        store.close()
    assert checkpoint is not None
    return checkpoint


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 160 KiB tmpfs: room for part of the demo's output."""
    with mounted_tmpfs(tmp_path / "small", "160k") as mount_point:
        yield mount_point


def test_disk_full(small_disk: Path, tmp_path: Path, request: pytest.FixtureRequest,
                   reference_run: Callable[[Path, str], str], evidence: Evidence) -> None:
    uri = with_query((small_disk / "feed").as_uri(), CONSUMABLE)
    result = cli(*run_args(DEMO, uri))
    evidence.add_result(request.node.name, result)
    assert "disk full" in error_line(result)
    assert not [p for p in small_disk.rglob(".storagecdc-tmp-*")], "a temporary file was left behind"
    assert any(p.suffix == ".csv" for p in small_disk.rglob("*")), "the disk filled too early"
    assert_consumer_sees_the_checkpoint(uri, reference_run(DEMO, CONSUMABLE), tmp_path, evidence,
                                        request.node.name)
    assert evidence.leaks() == []
