"""Opening stores from URIs, option validation, and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.errors import ConfigError
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.s3 import S3Store
from storagecdc.storage.uri import STORE_OPTION_KEYS, open_store, redact_uri, split_store_options


def test_file_and_memory_uris(tmp_path: Path) -> None:
    store = open_store((tmp_path / "out dir").as_uri() + "?protocol=csv&flush-interval=5s")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "out dir"
    assert isinstance(open_store(str(tmp_path / "plain")), LocalStore)
    mem = open_store("memory://sim-1")
    assert isinstance(mem, MemoryStore)
    mem.put("k", b"v")
    assert open_store("memory://sim-1").get("k") == b"v"


def test_s3_uri_options_and_no_secret_in_display() -> None:
    store = open_store("s3://bucket/some/prefix/?protocol=csv&endpoint=http://127.0.0.1:9000&region=eu-west-1"
                       "&access-key=AKIDXYZ&secret-access-key=SECRETXYZ&session-token=TOKENXYZ"
                       "&force-path-style=true&sse=aws:kms&sse-kms-key-id=key-1&storage-class=STANDARD_IA"
                       "&retry-deadline=7")
    assert isinstance(store, S3Store)
    assert store.bucket == "bucket"
    assert store.display_uri == "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000"
    for secret in ("AKIDXYZ", "SECRETXYZ", "TOKENXYZ"):
        assert secret not in store.display_uri
        assert secret not in repr(store)
        assert secret not in repr(store._opts)
    store.close()


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("s3://b/p", {"endpiont": "x"}, "unknown storage option(s): endpiont"),
    ("s3://b/p", {"protocol": "csv"}, "unknown storage option(s): protocol"),
    ("s3://b/p?sse=des", None, "sse must be one of AES256, aws:kms"),
    ("s3://b/p?sse-kms-key-id=k", None, "sse-kms-key-id needs sse=aws:kms"),
    ("s3://b/p?access-key=a", None, "access-key and secret-access-key must be given together"),
    ("s3://b/p?force-path-style=maybe", None, "force-path-style must be true or false"),
    ("s3://b/p?retry-deadline=soon", None, "retry-deadline must be a number"),
    ("s3:///p", None, "needs a bucket"),
    ("file:///tmp/x?endpoint=http://a", None, "do not apply to a local directory"),
    ("gs://bucket/p", None, "unsupported storage URI scheme 'gs'"),
    ("file://host/tmp/x", None, "file:///absolute/path"),
])
def test_bad_uris_name_the_problem(uri: str, options: dict[str, str] | None, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(uri, options)
    assert message in str(info.value)


def test_split_store_options() -> None:
    store, rest = split_store_options({"endpoint": "e", "protocol": "csv", "file-size": "1"})
    assert store == {"endpoint": "e"}
    assert rest == {"protocol": "csv", "file-size": "1"}
    assert "secret-access-key" in STORE_OPTION_KEYS


@pytest.mark.parametrize(("uri", "expected"), [
    ("s3://b/p?access-key=AK&secret-access-key=S%2Fx&region=us",
     "s3://b/p?access-key=***&secret-access-key=***&region=us"),
    ("s3://b/p?session-token=T&protocol=csv", "s3://b/p?session-token=***&protocol=csv"),
    ("mysql://cdc:pa55@db:3306/x", "mysql://cdc:***@db:3306/x"),
    ("mysql://cdc@db:3306", "mysql://cdc@db:3306"),
    ("file:///tmp/out", "file:///tmp/out"),
])
def test_redact_uri(uri: str, expected: str) -> None:
    assert redact_uri(uri) == expected
