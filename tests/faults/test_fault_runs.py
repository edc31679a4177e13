"""Whole runs through a fault-injecting proxy: with 10-30% of requests delayed, answered 500/503/SlowDown,
reset before forwarding or reset after forwarding (the write lands, the answer is lost), a full ``replicate``
of a real binlog (split ``shop.orders``, syncpoints every second) into moto and SeaweedFS completes, and its
objects are the fault-free run's objects: the same keys, the same bytes, ``metadata`` and the resume record
included."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.devtools.s3servers import MotoServer, SeaweedFS
from storagecdc.runtime.replicate import replicate
from tests.faults.harness import DEMO, RUN_OVERRIDES, TYPES, Evidence, objects, server_uri, with_query
from tests.faults.proxy import TRANSIENT, Fault, FaultProxy, random_plan
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix

pytestmark = pytest.mark.s3

CASES = [
    pytest.param(kind, source, protocol, id=f"{kind}-{source}-{protocol}")
    for kind in ("moto", "seaweedfs")
    for source in ("demo", "types")
    for protocol in ("csv", "parquet")
]


@pytest.mark.parametrize(("kind", "source", "protocol"), CASES)
def test_a_faulty_run_writes_the_fault_free_objects(
    kind: str,
    source: str,
    protocol: str,
    *,
    request: pytest.FixtureRequest,
    binlog_fixtures: Path,
    reference_objects: Callable[[Path, str], dict[str, bytes]],
    evidence: Evidence,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = DEMO if source == "demo" else binlog_fixtures / TYPES
    query = f"protocol={protocol}"
    server: MotoServer | SeaweedFS = request.getfixturevalue("seaweedfs" if kind == "seaweedfs" else "moto_server")
    prefix = fresh_prefix(request.node.name)
    caplog.set_level(logging.DEBUG)
    with FaultProxy(server.endpoint, random_plan(0.2, seed=len(prefix) + 17), latency_s=0.05) as proxy:
        uri = with_query(server_uri(server, TEST_BUCKET, prefix, endpoint=proxy.endpoint,
                                    **{"retry-deadline": "30"}), query)
        result = replicate(load_config(None, source=str(path), sink_uri=uri, overrides=dict(RUN_OVERRIDES)))
    written = objects(server_uri(server, TEST_BUCKET, prefix))
    expected = reference_objects(path, query)
    evidence.add(f"{request.node.name} log", caplog.text)
    evidence.add_objects(request.node.name, written)

    assert sorted(written) == sorted(expected)
    assert [key for key in expected if written[key] != expected[key]] == []
    assert result.checkpoint_ts > 0
    faulted = [f for f in proxy.faults if f is not Fault.PASS]
    assert 0.1 <= len(faulted) / len(proxy.faults) <= 0.3, (len(faulted), len(proxy.faults))
    assert set(faulted) <= set(TRANSIENT)
    assert Fault.RESET_AFTER in faulted and Fault.RESET_BEFORE in faulted
    assert evidence.leaks() == []
