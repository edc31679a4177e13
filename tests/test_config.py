from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "changefeed.example.toml"


def test_example_config_loads_with_documented_defaults() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.sink.protocol == "csv" and cfg.sink.flush_interval_ms == 5000
    assert cfg.sink.terminator == "\r\n" and cfg.sink.null == "\\N"
    assert cfg.sync_point_interval_ms is None and cfg.split_tables == {}
    assert cfg.source.snapshot == "never" and cfg.filter_rules == ("*.*",)


def test_uri_query_wins_over_file_and_store_options_split(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[source]\nuri = "a.bin"\n[sink]\nprotocol = "csv"\nregion = "eu-west-1"\n'
        '[sink.csv]\ninclude-commit-ts = true\n[scheduler]\nsplit-tables = { "shop.orders" = 4 }\n'
        '[sync-point]\nenable = true\ninterval = "30s"\n'
    )
    cfg = load_config(toml, sink_uri="s3://bucket/pre?protocol=parquet&endpoint=http://127.0.0.1:9000")
    assert cfg.sink.protocol == "parquet" and cfg.sink.include_commit_ts
    assert cfg.sink_uri == "s3://bucket/pre"
    assert cfg.store_options == {"region": "eu-west-1", "endpoint": "http://127.0.0.1:9000"}
    assert cfg.split_tables == {"shop.orders": 4} and cfg.sync_point_interval_ms == 30_000


def test_secrets_from_environment() -> None:
    env = {
        "STORAGECDC_SOURCE_PASSWORD": "p@ss/word",
        "STORAGECDC_SINK_ACCESS_KEY": "AKIA",
        "STORAGECDC_SINK_SECRET_ACCESS_KEY": "shh",
    }
    cfg = load_config(None, source="mysql://cdc@127.0.0.1:3306/", sink_uri="s3://b/p?protocol=csv", env=env)
    assert cfg.source.uri == "mysql://cdc:p%40ss%2Fword@127.0.0.1:3306/"
    assert cfg.store_options == {"access-key": "AKIA", "secret-access-key": "shh"}
    assert cfg.source.is_live


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ('bogus = 1\n[source]\nuri = "x"\n', "unknown option bogus"),
        ('[source]\nuri = "x"\nstrat = "y"\n', "unknown option source.strat"),
        ('[source]\nuri = "x"\nsnapshot = "always"\n', "source.snapshot"),
        ('[source]\nuri = "x"\n[sink]\nprotocol = "csv"\nflush-intervals = "1s"\n', "flush-intervals"),
        ('[source]\nuri = "x"\n[scheduler]\nsplit-tables = { "orders" = 2 }\n', "not schema.table"),
        ('[source]\nuri = "x"\n[filter]\nrules = ["shop"]\n', "table filter"),
        ("[source\n", "config file"),
    ],
)
def test_bad_config_names_the_option(tmp_path: Path, toml: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=match):
        load_config(path, sink_uri="file:///tmp/x?protocol=csv")


def test_missing_source_or_sink() -> None:
    with pytest.raises(ConfigError, match="no source"):
        load_config(None, sink_uri="file:///tmp/x?protocol=csv")
    with pytest.raises(ConfigError, match="no sink"):
        load_config(None, source="a.bin")
