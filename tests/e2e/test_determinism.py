"""Output is deterministic: the demo binlog (two seconds of a shop), with ``orders`` split over two spans
and syncpoints every second, replicated twice to two fresh prefixes of the same store gives the same object
keys and the same bytes, every object included (data, index and schema files, syncpoint markers,
``metadata``, the resume record), on a local directory and on moto's S3 server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import open_store, parse_data_file_key

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
CASES = [
    pytest.param("local", "protocol=csv&include-commit-ts=true", id="local-csv"),
    pytest.param("local", "protocol=parquet", id="local-parquet"),
    pytest.param("moto", "protocol=parquet", id="moto-parquet", marks=pytest.mark.s3),
    pytest.param("moto", "protocol=canal-json&enable-tidb-extension=true", id="moto-canal-json", marks=pytest.mark.s3),
]


def run_once(source: Path, uri: str) -> dict[str, bytes]:
    replicate(
        load_config(
            None,
            source=str(source),
            sink_uri=uri,
            overrides={"split_tables": ["shop.orders=2"], "sync_point": True, "sync_point_interval": "1s"},
        )
    )
    store = open_store(uri)
    try:
        return {info.key: store.get(info.key) for info in store.list()}
    finally:
        store.close()


@pytest.mark.parametrize(("kind", "query"), CASES)
def test_two_runs_write_identical_objects(
    kind: str, query: str, store_uri_factory: Callable[[str], str]
) -> None:
    source = DEMO
    first, second = (
        run_once(source, f"{uri}{'&' if '?' in uri else '?'}{query}")
        for uri in (store_uri_factory(kind), store_uri_factory(kind))
    )
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []
    keys = set(first)
    assert {"metadata", "_storagecdc/resume.json"} <= keys
    assert any(k.startswith("_storagecdc/syncpoint/") for k in keys)
    assert any(k.endswith(".index") for k in keys) and any("/meta/schema_" in k for k in keys)
    spans = {
        parsed.dispatcher_id
        for k in keys
        if (parsed := parse_data_file_key(k)) is not None and parsed.dir.table == "orders"
    }
    assert len(spans) == 2 and None not in spans  # the split table was written by two spans
