"""Sink options: defaults, URI over config, clamps, unknown options."""

from __future__ import annotations

import logging

import pytest

from storagecdc.errors import ConfigError
from storagecdc.sink.options import MIB, SinkOptions, parse_duration_ms, parse_sink_options, parse_size


def test_defaults() -> None:
    o = parse_sink_options("protocol=csv")
    assert (o.flush_interval_ms, o.file_size, o.worker_count, o.file_index_digit) == (5000, 64 * MIB, 4, 20)
    assert (o.date_separator, o.date_source, o.enable_partition_separator) == ("day", "commit-ts", True)
    assert (o.delimiter, o.quote, o.null, o.terminator) == (",", '"', "\\N", "\r\n")
    assert (o.binary_encoding_method, o.compression) == ("base64", "zstd")
    assert not (o.output_old_value or o.include_commit_ts or o.output_field_header or o.enable_tidb_extension)


def test_uri_overrides_config_sections() -> None:
    config = {"protocol": "canal-json", "terminator": "\n", "date-separator": "month",
              "csv": {"delimiter": "|", "include-commit-ts": True},
              "cloud-storage-config": {"flush-interval": "2s", "file-size": 2048}}
    o = parse_sink_options("protocol=csv&flush-interval=10s&quote=&endpoint=http://x", config)
    assert o.protocol == "csv"
    assert o.flush_interval_ms == 10_000
    assert o.file_size == 2048
    assert (o.delimiter, o.quote, o.terminator, o.include_commit_ts) == ("|", "", "\n", True)
    assert o.date_separator == "month"


@pytest.mark.parametrize(
    ("text", "ms"), [("100ms", 100), ("5s", 5000), ("10m", 600_000), ("1m30s", 90_000), ("2", 2000),
                     ("1.5s", 1500)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms("flush-interval", text) == ms


@pytest.mark.parametrize(("text", "size"), [("1024", 1024), ("64MiB", 64 * MIB), ("1KiB", 1024), ("10MB", 10**7)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size("file-size", text) == size


@pytest.mark.parametrize(
    ("query", "attr", "want"),
    [
        ("flush-interval=10ms", "flush_interval_ms", 100),
        ("flush-interval=1h", "flush_interval_ms", 600_000),
        ("file-size=10", "file_size", 1024),
        ("file-size=1GiB", "file_size", 512 * MIB),
        ("worker-count=-1", "worker_count", 0),
        ("worker-count=9999", "worker_count", 512),
        ("file-index-digit=5", "file_index_digit", 20),
        ("file-index-digit=21", "file_index_digit", 20),
        ("file-index-digit=6", "file_index_digit", 6),
    ],
)
def test_clamps_warn(query: str, attr: str, want: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        o = parse_sink_options("protocol=csv&" + query)
    assert getattr(o, attr) == want
    assert caplog.records or query == "file-index-digit=6"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("protocol=csv&bogus=1", "bogus"),
        ("protocol=avro", "protocol"),
        ("flush-interval=5s", "protocol is required"),
        ("protocol=csv&flush-interval=soon", "flush-interval"),
        ("protocol=csv&file-size=lots", "file-size"),
        ("protocol=csv&delimiter=abcd", "delimiter"),
        ("protocol=csv&quote=ab", "quote"),
        ("protocol=csv&quote=,", "quote"),
        ("protocol=csv&include-commit-ts=maybe", "include-commit-ts"),
        ("protocol=csv&date-separator=week", "date-separator"),
        ("protocol=parquet&compression=gzip", "compression"),
        ("protocol=csv&binary-encoding-method=base32", "binary-encoding-method"),
    ],
)
def test_bad_options_name_the_option(query: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sink_options(query)


def test_extension() -> None:
    assert [SinkOptions(protocol=p).extension for p in ("csv", "canal-json", "parquet")] == [
        ".csv", ".json", ".parquet"]
