"""One conformance suite for every ObjectStore: memory, local directory, moto (with and without conditional
writes) and SeaweedFS."""

from __future__ import annotations

import os
import random

import pytest

from storagecdc.devtools.s3servers import ACCESS_KEY, SECRET_KEY
from storagecdc.errors import ObjectExistsError, ObjectNotFoundError, StorageError
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import DataDir, build_data_file_key, parse_data_file_key

HOSTILE_NAMES = ["a/b", "..", ".", "", " x ", "it's", 'say "hi"', "back`tick", "100%", "new\nline",
                 "trailing.", "名前 表", "\U0001d400" * 64, "metadata", "~tilde", "%41"]


def test_put_get_exists_delete(store: ObjectStore) -> None:
    assert not store.exists("a/b.txt")
    store.put("a/b.txt", b"hello")
    assert store.exists("a/b.txt")
    assert store.get("a/b.txt") == b"hello"
    store.put("a/b.txt", b"replaced")
    assert store.get("a/b.txt") == b"replaced"
    store.delete("a/b.txt")
    assert not store.exists("a/b.txt")
    store.delete("a/b.txt")
    with pytest.raises(ObjectNotFoundError) as info:
        store.get("a/b.txt")
    assert "a/b.txt" in str(info.value)


def test_empty_object(store: ObjectStore) -> None:
    store.put("empty", b"", create_only=True)
    assert store.get("empty") == b""
    assert [(o.key, o.size) for o in store.list()] == [("empty", 0)]


def test_list_in_key_order_with_prefix(store: ObjectStore) -> None:
    keys = ["a-b", "a/b", "a/c/d", "a0", "b", "a/b-", "ab/x", "é/1", "z/%41", "a/bb/c"]
    shuffled = keys[:]
    random.Random(7).shuffle(shuffled)
    for i, key in enumerate(shuffled):
        store.put(key, b"x" * i)
    listed = list(store.list())
    assert [o.key for o in listed] == sorted(keys)
    sizes = {key: i for i, key in enumerate(shuffled)}
    assert all(o.size == sizes[o.key] for o in listed)
    assert [o.key for o in store.list("a/")] == ["a/b", "a/b-", "a/bb/c", "a/c/d"]
    assert [o.key for o in store.list("a/b")] == ["a/b", "a/b-", "a/bb/c"]
    assert [o.key for o in store.list("a")] == sorted(k for k in keys if k.startswith("a"))
    assert list(store.list("nothing/")) == []


def test_create_only_never_overwrites(store: ObjectStore) -> None:
    store.put("d/CDC000001.csv", b"one", create_only=True)
    store.put("d/CDC000001.csv", b"one", create_only=True)
    with pytest.raises(ObjectExistsError) as info:
        store.put("d/CDC000001.csv", b"two", create_only=True)
    assert "d/CDC000001.csv" in str(info.value)
    assert store.get("d/CDC000001.csv") == b"one"


def test_put_if_version(store: ObjectStore) -> None:
    v1 = store.put_if_version("owner", b"epoch-1", None)
    with pytest.raises(ObjectExistsError):
        store.put_if_version("owner", b"epoch-x", None)
    data, version = store.get_versioned("owner")
    assert (data, version) == (b"epoch-1", v1)
    v2 = store.put_if_version("owner", b"epoch-2", v1)
    assert v2 != v1
    with pytest.raises(ObjectExistsError):
        store.put_if_version("owner", b"epoch-3", v1)
    assert store.get_versioned("owner") == (b"epoch-2", v2)
    with pytest.raises(ObjectNotFoundError):
        store.get_versioned("no-owner")
    with pytest.raises(ObjectExistsError):
        store.put_if_version("no-owner", b"x", v2)
    assert not store.exists("no-owner")


def test_large_object_multipart(store: ObjectStore) -> None:
    data = os.urandom(11 * 1024 * 1024 + 123)
    store.put("big/object.parquet", data, create_only=True)
    assert store.get("big/object.parquet") == data
    store.put("big/object.parquet", data, create_only=True)
    with pytest.raises(ObjectExistsError):
        store.put("big/object.parquet", data[:-1] + bytes([data[-1] ^ 0xFF]), create_only=True)  # other bytes
    assert [(o.key, o.size) for o in store.list("big/")] == [("big/object.parquet", len(data))]


def test_hostile_names_round_trip(store: ObjectStore) -> None:
    written = {}
    for i, name in enumerate(HOSTILE_NAMES):
        key = build_data_file_key(DataDir(name, HOSTILE_NAMES[-1 - i], 42, None, "2024-01-02"), 1, "csv")
        store.put(key, name.encode("utf-8", "surrogatepass"), create_only=True)
        written[key] = name
    listed = [o.key for o in store.list()]
    assert listed == sorted(written)
    for key in listed:
        parsed = parse_data_file_key(key)
        assert parsed is not None
        assert parsed.dir.schema == written[key]
        assert store.get(key) == written[key].encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", "a/./b", "../x", "a/.."])
def test_invalid_keys_are_refused(store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.put(bad, b"x")


def test_display_uri_has_no_credentials(store: ObjectStore) -> None:
    assert SECRET_KEY not in store.display_uri
    assert ACCESS_KEY not in store.display_uri


def test_missing_object_is_a_storage_error(store: ObjectStore) -> None:
    with pytest.raises(StorageError):
        store.get("missing/key")
