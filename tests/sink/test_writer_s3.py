"""The writer against moto's S3 server: the same files and bytes as on local storage, resume by probing."""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow.parquet as pq
import pytest

from storagecdc.model import Op, make_ts
from storagecdc.sink.formats import encoder_for
from storagecdc.sink.options import KIB, SinkOptions
from storagecdc.sink.writer import StorageTableWriter
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.uri import open_store
from tests.sink.tables import WIDE, batch, wide_row

TS = make_ts(1_700_000_000_000)


def _write(store: ObjectStore, protocol: str) -> dict[str, bytes]:
    options = SinkOptions(protocol=protocol, file_size=8 * KIB)
    writer = StorageTableWriter(store, WIDE, options, encoder_for(WIDE, options), clock=lambda: 0)
    for k in range(6):
        writer.append(batch(WIDE, Op.INSERT, [wide_row(i) for i in range(k * 20, k * 20 + 20)], ts=TS + k))
    writer.flush()
    return {o.key: store.get(o.key) for o in store.list()}


@pytest.mark.s3
@pytest.mark.parametrize("protocol", ["csv", "canal-json", "parquet"])
def test_moto_gets_the_same_objects_as_local(store_uri_factory: Callable[[str], str], protocol: str) -> None:
    local = open_store(store_uri_factory("local"))
    moto = open_store(store_uri_factory("moto"))
    try:
        on_local, on_moto = _write(local, protocol), _write(moto, protocol)
    finally:
        local.close()
        moto.close()
    assert on_moto == on_local
    assert len([k for k in on_moto if not k.endswith(".index")]) >= 2
    if protocol == "parquet":
        rows = sum(pq.read_metadata(io.BytesIO(v)).num_rows for k, v in on_moto.items() if k.endswith(".parquet"))
        assert rows == 120


@pytest.mark.s3
def test_restart_on_moto_resumes_after_existing_files(store_uri_factory: Callable[[str], str]) -> None:
    uri = store_uri_factory("moto")
    first = open_store(uri)
    before = _write(first, "csv")
    first.close()
    second = open_store(uri)
    try:
        after = _write(second, "csv")
    finally:
        second.close()
    data_before = sorted(k for k in before if k.endswith(".csv"))
    data_after = sorted(k for k in after if k.endswith(".csv"))
    assert data_after[: len(data_before)] == data_before
    assert len(data_after) == 2 * len(data_before)
    assert all(after[k] == before[k] for k in data_before)
