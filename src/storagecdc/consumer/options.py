"""What the consumer must know about how the output was written: the sink's own options, read the same way.

The options come from the sink URI's query, with the sink's names (``?protocol=csv&include-commit-ts=true``).
Only the options that change how files are read matter here (protocol, date-separator, the CSV dialect,
output-old-value, include-commit-ts, output-field-header); the writer-only ones (flush-interval, file-size...)
are accepted and ignored, so the same URI works for ``run`` and ``consume``. Store options (``endpoint``...)
belong to the object store. An unknown option is a ``ConfigError`` naming it.

``protocol`` may be left out: each data file is then read by its extension (``.csv``, ``.json``,
``.parquet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from storagecdc.errors import ConfigError
from storagecdc.storage.paths import DateSeparator
from storagecdc.storage.uri import STORE_OPTION_KEYS, parse_bool

PROTOCOL_EXTENSIONS = {"csv": "csv", "canal-json": "json", "parquet": "parquet"}
"""Protocol -> data file extension (without the dot)."""

_WRITER_ONLY = frozenset({"flush-interval", "file-size", "worker-count", "file-index-digit", "date-source",
                          "enable-partition-separator", "compression"})


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """How the files were written (the sink's options of the same names; see docs/output-format.md)."""

    protocol: str | None = None
    """``csv``, ``canal-json``, ``parquet``, or None to read each file by its extension."""
    date_separator: DateSeparator = DateSeparator.DAY
    output_old_value: bool = False
    include_commit_ts: bool = False
    output_field_header: bool = False
    delimiter: str = ","
    quote: str = '"'
    null: str = "\\N"
    terminator: str = "\r\n"
    binary_encoding_method: str = "base64"
    enable_tidb_extension: bool = False

    def __post_init__(self) -> None:
        if self.protocol is not None and self.protocol not in PROTOCOL_EXTENSIONS:
            raise ConfigError(f"sink option protocol: {self.protocol!r} is not one of "
                              f"{', '.join(PROTOCOL_EXTENSIONS)}")
        if self.binary_encoding_method not in ("base64", "hex"):
            raise ConfigError(f"sink option binary-encoding-method: {self.binary_encoding_method!r} is not "
                              "base64 or hex")
        if not 1 <= len(self.delimiter) <= 3 or len(self.quote) > 1 or not self.terminator:
            raise ConfigError("sink options delimiter (1-3 characters), quote (0-1) and terminator (non-empty) "
                              "are out of range")

    @property
    def extension(self) -> str | None:
        """The data file extension of ``protocol`` (None: any known one)."""
        return PROTOCOL_EXTENSIONS[self.protocol] if self.protocol else None


_STRINGS = {"protocol": "protocol", "delimiter": "delimiter", "quote": "quote", "null": "null",
            "terminator": "terminator", "binary-encoding-method": "binary_encoding_method"}
_BOOLS = {"output-old-value": "output_old_value", "include-commit-ts": "include_commit_ts",
          "output-field-header": "output_field_header", "enable-tidb-extension": "enable_tidb_extension"}


def consumer_options(params: Mapping[str, str]) -> ConsumerOptions:
    """Options from sink-URI query parameters (store and writer-only options are skipped)."""
    values: dict[str, object] = {}
    for key, raw in params.items():
        if key in STORE_OPTION_KEYS or key in _WRITER_ONLY:
            continue
        if key in _STRINGS:
            values[_STRINGS[key]] = raw
        elif key in _BOOLS:
            values[_BOOLS[key]] = parse_bool(key, raw)
        elif key == "date-separator":
            try:
                values["date_separator"] = DateSeparator(raw)
            except ValueError:
                raise ConfigError(f"sink option date-separator: {raw!r} is not none, year, month or day") from None
        else:
            raise ConfigError(f"unknown sink option {key!r}")
    return ConsumerOptions(**values)  # type: ignore[arg-type]


def options_from_uri(sink_uri: str) -> ConsumerOptions:
    """The consumer options in a sink URI's query (``s3://b/p?protocol=csv&include-commit-ts=true``)."""
    return consumer_options(dict(parse_qsl(urlsplit(sink_uri).query, keep_blank_values=True)))
