"""Changefeed configuration: a TOML file, the sink URI's query, command-line flags and ``STORAGECDC_*``.

Precedence, lowest first: defaults, the TOML file, environment variables, command-line flags, the sink URI's
query (which wins for sink options, as in TiCDC). Every option is documented with its default in
``config/changefeed.example.toml``. Unknown keys are errors that name the key; secrets (passwords, S3 keys)
may come from the environment so they stay out of files and process lists:

- ``STORAGECDC_SOURCE_PASSWORD``: the MySQL password when the source URI has none;
- ``STORAGECDC_SINK_ACCESS_KEY``, ``STORAGECDC_SINK_SECRET_ACCESS_KEY``, ``STORAGECDC_SINK_SESSION_TOKEN``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from storagecdc.errors import ConfigError
from storagecdc.sink.options import SinkOptions, parse_duration_ms, parse_sink_options
from storagecdc.storage.uri import STORE_OPTION_KEYS, split_store_options
from storagecdc.table_filter import TableFilter

_SNAPSHOT_MODES = ("never", "initial", "when-needed")
_ENV_STORE = {
    "STORAGECDC_SINK_ACCESS_KEY": "access-key",
    "STORAGECDC_SINK_SECRET_ACCESS_KEY": "secret-access-key",
    "STORAGECDC_SINK_SESSION_TOKEN": "session-token",
}
_TOP_KEYS = {"changefeed-id", "lease", "lease-wait", "source", "sink", "scheduler", "sync-point", "filter",
             "metrics-port"}
DEFAULT_LEASE = "30s"
_SOURCE_KEYS = {"uri", "start", "schema-file", "ignore-ddl", "server-charset", "snapshot", "max-buffered-rows"}
_SCHEDULER_KEYS = {"split-tables", "split-rows-per-second", "split-number"}
DEFAULT_SPLIT_NUMBER = 4
_SYNC_POINT_KEYS = {"enable", "interval"}
_FILTER_KEYS = {"rules"}


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Where changes come from."""

    uri: str
    """Binlog file(s) (several separated by commas), a directory of them, or ``mysql://user:pw@host:port/``."""
    start: str | None = None
    """Where to start: ``FILE:OFFSET`` or a GTID set; None = the beginning (or the resume record)."""
    schema_file: str | None = None
    """CREATE statements giving the schema of tables that exist before the stream starts."""
    ignore_ddl: tuple[str, ...] = ()
    """Regular expressions of DDL to pass over when it cannot be parsed."""
    server_charset: str | None = None
    """The server's ``character_set_server`` for file sources (live sources ask the server)."""
    snapshot: str = "never"
    """Initial snapshot of existing rows: ``never``, ``initial`` or ``when-needed``."""
    max_buffered_rows: int = 20_000
    """Rows of one transaction held before it is streamed to the sink ahead of its commit."""

    @property
    def is_live(self) -> bool:
        return self.uri.startswith(("mysql://", "mariadb://"))

    @property
    def files(self) -> list[str]:
        return [p for p in (part.strip() for part in self.uri.split(",")) if p]


@dataclass(frozen=True, slots=True)
class ChangefeedConfig:
    """Everything ``storagecdc run`` needs, validated."""

    source: SourceConfig
    sink_uri: str
    """The sink URI without its query."""
    sink: SinkOptions
    store_options: Mapping[str, str] = field(default_factory=dict)
    changefeed_id: str = "default"
    split_tables: Mapping[str, int] = field(default_factory=dict)
    """``schema.table`` -> number of spans (dispatchers) for that table."""
    split_rows_per_second: int = 0
    """Split a whole table with a primary key whose row changes exceed this rate (over a sliding window of
    commit-ts time) into ``split_number`` spans; 0 = never."""
    split_number: int = DEFAULT_SPLIT_NUMBER
    """How many spans an automatic split makes."""
    sync_point_interval_ms: int | None = None
    """Syncpoint interval; None when syncpoints are off."""
    filter_rules: tuple[str, ...] = ("*.*",)
    metrics_port: int | None = None
    lease_ms: int = 30_000
    """The owner record's lease: a process that stops renewing it is taken over this long after."""
    lease_wait_ms: int = 60_000
    """How long a run waits for another process's live lease before it gives up (``FencedError``)."""

    def table_filter(self) -> TableFilter:
        return TableFilter(self.filter_rules)


def load_config(
    path: str | Path | None,
    *,
    source: str | None = None,
    sink_uri: str | None = None,
    start: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ChangefeedConfig:
    """Build the configuration from a TOML file (optional), flags and the environment."""
    env = env if env is not None else {}
    doc = _read_toml(Path(path)) if path else {}
    _check_keys(doc, _TOP_KEYS, "")
    src = dict(_table(doc, "source"))
    _check_keys(src, _SOURCE_KEYS, "source.")
    sink_table = dict(_table(doc, "sink"))
    sink_uri = sink_uri or sink_table.pop("uri", None) or env.get("STORAGECDC_SINK_URI")
    sink_table.pop("uri", None)
    source_uri = source or src.get("uri") or env.get("STORAGECDC_SOURCE_URI")
    if not source_uri:
        raise ConfigError("no source: give --source or [source] uri")
    if not sink_uri:
        raise ConfigError("no sink: give --sink-uri or [sink] uri")
    source_uri = _with_password(str(source_uri), env.get("STORAGECDC_SOURCE_PASSWORD"))
    overrides = dict(overrides or {})
    snapshot = str(overrides.pop("snapshot", None) or src.get("snapshot", "never"))
    if snapshot not in _SNAPSHOT_MODES:
        raise ConfigError(f"source.snapshot must be one of {', '.join(_SNAPSHOT_MODES)}, got {snapshot!r}")
    source_cfg = SourceConfig(
        uri=source_uri,
        start=start or src.get("start"),
        schema_file=overrides.pop("schema_file", None) or src.get("schema-file"),
        ignore_ddl=tuple(_str_list(src.get("ignore-ddl", []), "source.ignore-ddl")),
        server_charset=src.get("server-charset"),
        snapshot=snapshot,
        max_buffered_rows=_positive_int(src.get("max-buffered-rows", 20_000), "source.max-buffered-rows"),
    )
    base, query = _split_query(str(sink_uri))
    uri_store, uri_sink = split_store_options(query)
    file_store = {k: str(v) for k, v in sink_table.items() if k in STORE_OPTION_KEYS}
    file_sink = {k: v for k, v in sink_table.items() if k not in STORE_OPTION_KEYS}
    env_store = {opt: env[var] for var, opt in _ENV_STORE.items() if env.get(var)}
    sink_options = parse_sink_options(uri_sink, file_sink)
    scheduler = dict(_table(doc, "scheduler"))
    _check_keys(scheduler, _SCHEDULER_KEYS, "scheduler.")
    sync = dict(_table(doc, "sync-point"))
    _check_keys(sync, _SYNC_POINT_KEYS, "sync-point.")
    flt = dict(_table(doc, "filter"))
    _check_keys(flt, _FILTER_KEYS, "filter.")
    split = _split_tables(scheduler.get("split-tables", {}))
    for item in _str_list(overrides.pop("split_tables", []), "--split-table"):
        name, _, count = item.rpartition("=")
        if not name or not count.isdigit():
            raise ConfigError(f"--split-table takes SCHEMA.TABLE=N, got {item!r}")
        split.update(_split_tables({name: int(count)}))
    split_rate = _non_negative_int(
        overrides.pop("split_rows_per_second", scheduler.get("split-rows-per-second", 0)),
        "scheduler.split-rows-per-second",
    )
    split_number = _positive_int(overrides.pop("split_number", scheduler.get("split-number", DEFAULT_SPLIT_NUMBER)),
                                 "scheduler.split-number")
    if split_number < 2:
        raise ConfigError(f"scheduler.split-number must be at least 2, got {split_number}")
    if split_rate and not _files_carry_commit_ts(sink_options):
        raise ConfigError("scheduler.split-rows-per-second splits tables, and a split table is replayed by the "
                          "commit-ts of every row: write CSV with include-commit-ts=true or canal-json with "
                          "enable-tidb-extension=true (Parquet always has it)")
    rules = tuple(_str_list(overrides.pop("filter", None) or flt.get("rules", ["*.*"]), "filter.rules"))
    TableFilter(rules)  # validates the rules now
    sync_enabled = bool(overrides.pop("sync_point", sync.get("enable", False)))
    interval = overrides.pop("sync_point_interval", None) or sync.get("interval", "10m")
    metrics_port = overrides.pop("metrics_port", None) or doc.get("metrics-port")
    lease = overrides.pop("lease", None) or doc.get("lease", DEFAULT_LEASE)
    lease_ms = parse_duration_ms("lease", lease)
    if lease_ms < 1000:
        raise ConfigError(f"lease must be at least 1s, got {lease!r}")
    lease_wait = overrides.pop("lease_wait", None) or doc.get("lease-wait")
    lease_wait_ms = parse_duration_ms("lease-wait", lease_wait) if lease_wait is not None else 2 * lease_ms
    if overrides:
        raise ConfigError(f"unknown override(s): {', '.join(sorted(overrides))}")
    return ChangefeedConfig(
        source=source_cfg,
        sink_uri=base,
        sink=sink_options,
        store_options={**file_store, **env_store, **uri_store},
        changefeed_id=str(doc.get("changefeed-id", "default")),
        split_tables=split,
        split_rows_per_second=split_rate,
        split_number=split_number,
        sync_point_interval_ms=parse_duration_ms("sync-point.interval", interval) if sync_enabled else None,
        filter_rules=rules,
        metrics_port=int(metrics_port) if metrics_port else None,
        lease_ms=lease_ms,
        lease_wait_ms=lease_wait_ms,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None


def _table(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _check_keys(table: Mapping[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown option {prefix}{unknown[0]} (known: {', '.join(sorted(known))})")


def _str_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of strings")
    return value


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _files_carry_commit_ts(options: SinkOptions) -> bool:
    if options.protocol == "csv":
        return options.include_commit_ts
    if options.protocol == "canal-json":
        return options.enable_tidb_extension
    return True


def _split_tables(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ConfigError("scheduler.split-tables must be a table of \"schema.table\" = spans")
    out: dict[str, int] = {}
    for name, spans in value.items():
        if "." not in name:
            raise ConfigError(f"scheduler.split-tables: {name!r} is not schema.table")
        out[name] = _positive_int(spans, f"scheduler.split-tables.{name!r}")
    return out


def _split_query(uri: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query


def _with_password(uri: str, password: str | None) -> str:
    if not password or not uri.startswith(("mysql://", "mariadb://")):
        return uri
    parts = urlsplit(uri)
    if parts.password is not None or parts.username is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
