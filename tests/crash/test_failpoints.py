"""``STORAGECDC_FAILPOINTS``: the syntax, key classification, and that nothing is wrapped when it is unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.errors import ConfigError
from storagecdc.failpoints import FAILPOINTS_ENV, Failpoint, FailpointStore, classify, parse_failpoints
from storagecdc.runtime.resume import RESUME_KEY
from storagecdc.storage.local import LocalStore
from storagecdc.storage.paths import (
    METADATA_KEY,
    OWNER_KEY,
    DataDir,
    build_data_file_key,
    build_index_file_key,
    build_schema_file_key,
    build_syncpoint_key,
)
from storagecdc.storage.uri import open_store


def test_syntax() -> None:
    assert parse_failpoints(" put:data:3=kill-mid ; put:index:12=kill-after;") == (
        Failpoint("data", 3, "kill-mid"), Failpoint("index", 12, "kill-after"))
    assert str(Failpoint("metadata", 1, "kill-before")) == "put:metadata:1=kill-before"
    assert parse_failpoints("") == ()


@pytest.mark.parametrize("term", ["put:data:0=kill-mid", "get:data:1=kill-mid", "put:blob:1=kill-mid",
                                  "put:data:x=kill-mid", "put:data:1=sleep", "put:data:1"])
def test_bad_terms_name_themselves(term: str) -> None:
    with pytest.raises(ConfigError, match=FAILPOINTS_ENV) as info:
        parse_failpoints(f"put:data:1=kill-mid;{term}")
    assert term in str(info.value)


def test_keys_are_classified_by_the_layout() -> None:
    d = DataDir("a/b 名", "..", 42, None, "2026-11-27")
    assert classify(build_data_file_key(d, 7, "csv", digits=20)) == "data"
    assert classify(build_data_file_key(d, 7, "parquet", dispatcher_id="00003fff", digits=6)) == "data"
    assert classify(build_index_file_key(d)) == "index"
    assert classify(build_index_file_key(DataDir("s", "t", 1, 3, ""), dispatcher_id="c000ffff")) == "index"
    assert classify(build_schema_file_key("s", "t", 9, 1)) == "schema"
    assert classify(build_schema_file_key("s", "", 9, 1)) == "schema"
    assert classify(build_syncpoint_key(5)) == "syncpoint"
    assert classify(METADATA_KEY) == "metadata"
    assert classify(RESUME_KEY) == "resume"
    assert classify(OWNER_KEY) == "owner"
    assert classify("somewhere/else.txt") == "other"


def test_open_store_wraps_only_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAILPOINTS_ENV, raising=False)
    assert type(open_store(tmp_path.as_uri())) is LocalStore
    monkeypatch.setenv(FAILPOINTS_ENV, "put:data:1000=kill-before")
    store = open_store(tmp_path.as_uri())
    assert isinstance(store, FailpointStore) and isinstance(store.inner, LocalStore)
    store.put("x/y", b"1")  # not a data file: passes through
    assert store.get("x/y") == b"1" and [i.key for i in store.list()] == ["x/y"]
    monkeypatch.setenv(FAILPOINTS_ENV, "put:data:1000=explode")
    with pytest.raises(ConfigError):
        open_store(tmp_path.as_uri())
