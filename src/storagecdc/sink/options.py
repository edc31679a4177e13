"""Sink options: defaults, bounds and parsing from the sink URI query and the TOML ``[sink]`` sections.

The URI query (``s3://bucket/prefix?protocol=csv&flush-interval=5s``) overrides the config file. Names are
TiCDC's. Values outside their bounds are clamped (with a warning), as TiCDC does; an unknown option or a
value that cannot be parsed is a ``ConfigError`` naming the option.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from storagecdc.errors import ConfigError
from storagecdc.storage.uri import STORE_OPTION_KEYS

log = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * KIB

PROTOCOLS = ("csv", "canal-json", "parquet")
DATE_SEPARATORS = ("none", "year", "month", "day")
DATE_SOURCES = ("commit-ts", "wall-clock")
BINARY_ENCODINGS = ("base64", "hex")
COMPRESSIONS = ("zstd", "snappy", "none")
FLUSH_INTERVAL_MS = 5000
MAX_FLUSH_INTERVAL_MS = 60_000



@dataclass(frozen=True, slots=True)
class SinkOptions:
    """Everything the encoders and the file writer need; see docs/output-format.md for the meaning."""

    protocol: str = "csv"
    """``csv``, ``canal-json`` or ``parquet``."""
    flush_interval_ms: int = FLUSH_INTERVAL_MS
    """A table's buffer is written when its oldest change is this old (100 ms .. 10 min), if it holds at
    least ``min_file_size`` bytes."""
    min_file_size: int = 0
    """A buffer smaller than this waits past ``flush_interval_ms`` (up to ``max_flush_interval_ms``);
    0 writes every buffer at ``flush_interval_ms`` (0 .. 512 MiB)."""
    max_flush_interval_ms: int = MAX_FLUSH_INTERVAL_MS
    """A buffer is written when its oldest change is this old, however small (``flush_interval_ms`` ..
    1 h); it matters only with ``min_file_size``."""
    file_size: int = 64 * MIB
    """A data file is cut when its estimated encoded size reaches this (1 KiB .. 512 MiB)."""
    worker_count: int = 4
    """Threads that upload data files while the changefeed goes on (0 .. 512); 0 writes every file inline,
    on the changefeed's thread."""
    file_index_digit: int = 20
    """Zero-padded width of data-file indexes (6 .. 20; out of range means 20)."""
    date_separator: str = "day"
    """Date directory level: ``none``, ``year``, ``month`` or ``day``."""
    date_source: str = "commit-ts"
    """Where the date directory comes from: the first change's ``commit-ts`` or the ``wall-clock``."""
    enable_partition_separator: bool = True
    """Partitioned tables get one directory per physical partition."""
    output_old_value: bool = False
    """UPDATE as D(old) + I(new) with an is-update column."""
    include_commit_ts: bool = False
    """CSV: a commit-ts column after the schema name."""
    output_field_header: bool = False
    """CSV: a header line at the top of every file."""
    delimiter: str = ","
    quote: str = '"'
    null: str = "\\N"
    terminator: str = "\r\n"
    binary_encoding_method: str = "base64"
    enable_tidb_extension: bool = False
    """canal-json: add ``"_tidb":{"commitTs":N}``."""
    compression: str = "zstd"
    """Parquet: ``zstd``, ``snappy`` or ``none``."""

    def __post_init__(self) -> None:
        _check_choice("protocol", self.protocol, PROTOCOLS)
        _check_choice("date-separator", self.date_separator, DATE_SEPARATORS)
        _check_choice("date-source", self.date_source, DATE_SOURCES)
        _check_choice("binary-encoding-method", self.binary_encoding_method, BINARY_ENCODINGS)
        _check_choice("compression", self.compression, COMPRESSIONS)
        if not 1 <= len(self.delimiter) <= 3:
            raise ConfigError(f"sink option delimiter: must be 1 to 3 characters, got {self.delimiter!r}")
        if any(c in self.delimiter for c in "\r\n"):
            raise ConfigError("sink option delimiter: must not contain CR or LF")
        if len(self.quote) > 1:
            raise ConfigError(f"sink option quote: must be empty or one character, got {self.quote!r}")
        if self.quote and (self.quote in self.delimiter or self.quote in "\r\n"):
            raise ConfigError("sink option quote: must not be CR, LF or part of the delimiter")
        if not self.terminator:
            raise ConfigError("sink option terminator: must not be empty")

    @property
    def extension(self) -> str:
        return {"csv": ".csv", "canal-json": ".json", "parquet": ".parquet"}[self.protocol]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"sink option {name}: {value!r} is not one of {', '.join(choices)}")


# -- parsing ------------------------------------------------------------------------------------------

_DURATION_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": KIB, "k": KIB, "mb": 1000**2, "mib": MIB, "m": MIB,
               "gb": 1000**3, "gib": 1024 * MIB, "g": 1024 * MIB}
_SIZE = re.compile(r"\s*(\d+)\s*([a-zA-Z]*)\s*")


def parse_duration_ms(name: str, value: Any) -> int:
    """Go-style durations (``100ms``, ``5s``, ``1m30s``); a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 1000)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d*)?", text):
        return round(float(text) * 1000)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ConfigError(f"sink option {name}: cannot parse duration {value!r} (use e.g. 100ms, 5s, 10m)")
    return round(total)


def parse_size(name: str, value: Any) -> int:
    """Bytes, or a number with a unit (``64MiB``, ``1KiB``, ``10MB``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.fullmatch(str(value))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ConfigError(f"sink option {name}: cannot parse size {value!r} (use bytes or e.g. 64MiB)")
    return int(match.group(1)) * _SIZE_UNITS[unit]


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"sink option {name}: expected true or false, got {value!r}")


def _parse_int(name: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"sink option {name}: expected an integer, got {value!r}") from None


def _as_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"sink option {name}: expected a string, got {value!r}")
    return value


_PARSERS = {
    "protocol": ("protocol", _as_str),
    "flush-interval": ("flush_interval_ms", parse_duration_ms),
    "file-size": ("file_size", parse_size),
    "min-file-size": ("min_file_size", parse_size),
    "max-flush-interval": ("max_flush_interval_ms", parse_duration_ms),
    "worker-count": ("worker_count", _parse_int),
    "file-index-digit": ("file_index_digit", _parse_int),
    "date-separator": ("date_separator", _as_str),
    "date-source": ("date_source", _as_str),
    "enable-partition-separator": ("enable_partition_separator", _parse_bool),
    "output-old-value": ("output_old_value", _parse_bool),
    "include-commit-ts": ("include_commit_ts", _parse_bool),
    "output-field-header": ("output_field_header", _parse_bool),
    "delimiter": ("delimiter", _as_str),
    "quote": ("quote", _as_str),
    "null": ("null", _as_str),
    "terminator": ("terminator", _as_str),
    "binary-encoding-method": ("binary_encoding_method", _as_str),
    "enable-tidb-extension": ("enable_tidb_extension", _parse_bool),
    "compression": ("compression", _as_str),
}
_SECTIONS = ("csv", "cloud-storage-config", "parquet", "canal-json")
"""Sub-tables of ``[sink]`` whose keys are read as sink options (``[sink.csv]`` ...)."""

_BOUNDS = {
    "flush_interval_ms": ("flush-interval", 100, 600_000),
    "file_size": ("file-size", KIB, 512 * MIB),
    "min_file_size": ("min-file-size", 0, 512 * MIB),
    "max_flush_interval_ms": ("max-flush-interval", 100, 3_600_000),
    "worker_count": ("worker-count", 0, 512),
}


def _flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key in _SECTIONS and isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                flat[sub_key] = sub_value
        else:
            flat[key] = value
    return flat


def _clamp(values: dict[str, Any]) -> dict[str, Any]:
    for attr, (name, low, high) in _BOUNDS.items():
        if attr in values and not low <= values[attr] <= high:
            clamped = min(max(values[attr], low), high)
            log.warning("sink option %s=%s is out of range [%s, %s]; using %s", name, values[attr], low,
                        high, clamped)
            values[attr] = clamped
    interval = values.get("flush_interval_ms", FLUSH_INTERVAL_MS)
    longest = values.get("max_flush_interval_ms", MAX_FLUSH_INTERVAL_MS)
    if longest < interval:
        log.warning("sink option max-flush-interval=%s ms is below flush-interval=%s ms; using %s ms", longest,
                    interval, interval)
        values["max_flush_interval_ms"] = interval
    digit = values.get("file_index_digit")
    if digit is not None and not 6 <= digit <= 20:
        log.warning("sink option file-index-digit=%s is out of range [6, 20]; using 20", digit)
        values["file_index_digit"] = 20
    return values


def parse_sink_options(
    query: str | Mapping[str, str] = "",
    config: Mapping[str, Any] | None = None,
    *,
    other_keys: Collection[str] = STORE_OPTION_KEYS,
) -> SinkOptions:
    """Options from the config's ``[sink]`` table (with ``[sink.csv]`` etc.) overridden by the URI query.

    ``query`` is the URI's query string or an already parsed mapping. Keys in ``other_keys`` belong to other
    components (by default the object store's ``storage.uri.STORE_OPTION_KEYS``) and are skipped; any other
    unknown key is a ``ConfigError``.
    """
    merged = _flatten(config or {})
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query.items())
    merged.update(pairs)
    values: dict[str, Any] = {}
    for key, raw in merged.items():
        if key in other_keys:
            continue
        if key not in _PARSERS:
            raise ConfigError(f"unknown sink option {key!r}")
        attr, parse = _PARSERS[key]
        values[attr] = parse(key, raw)
    if "protocol" not in values:
        raise ConfigError("sink option protocol is required (csv, canal-json or parquet)")
    return SinkOptions(**_clamp(values))

