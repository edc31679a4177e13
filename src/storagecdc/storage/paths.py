"""The output layout: object keys as build_*/parse_* pairs, shared by the sink and the consumer.

::

    metadata                                                        checkpoint
    <schema>/meta/schema_<ver>_<crc:010d>.json                      database-level schema file
    <schema>/<table>/meta/schema_<ver>_<crc:010d>.json              table schema file
    <schema>/<table>/<ver>[/<partition>][/<date>]/CDC<idx>.<ext>    data file
    <schema>/<table>/<ver>[/<partition>][/<date>]/CDC_<disp>_<idx>.<ext>   data file of a split table span
    <schema>/<table>/<ver>[/<partition>][/<date>]/meta/CDC.index    index file (CDC_<disp>.index when split)
    _storagecdc/syncpoint/<ts:020d>.json                            syncpoint marker (this project's addition)
    _storagecdc/owner.json                                          owner record (fencing)

``<schema>`` and ``<table>`` are ``names.encode_segment`` of the real names; every ``parse_*`` decodes them,
so parsed keys always carry real names. A ``parse_*`` returns None for a key of another shape.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from dataclasses import dataclass

from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.model import ts_physical_ms
from storagecdc.storage.names import decode_segment, encode_segment

METADATA_KEY = "metadata"
OWNER_KEY = "_storagecdc/owner.json"
SYNCPOINT_PREFIX = "_storagecdc/syncpoint/"
META_DIR = "meta"
DATA_FILE_PREFIX = "CDC"
INDEX_SUFFIX = ".index"

DEFAULT_FILE_INDEX_DIGIT = 20
MIN_FILE_INDEX_DIGIT = 6
MAX_FILE_INDEX_DIGIT = 20

_DISPATCHER_RE = re.compile(r"[0-9A-Za-z-]+")
_EXT_RE = re.compile(r"[0-9A-Za-z]+")
_DATA_NAME_RE = re.compile(r"CDC(?:_([0-9A-Za-z-]+)_)?([0-9]+)\.([0-9A-Za-z]+)")
_INDEX_NAME_RE = re.compile(r"CDC(?:_([0-9A-Za-z-]+))?\.index")
_SCHEMA_NAME_RE = re.compile(r"schema_([0-9]+)_([0-9]{10})\.json")
_SYNCPOINT_NAME_RE = re.compile(r"([0-9]{20})\.json")
_VERSION_RE = re.compile(r"[0-9]+")


class DateSeparator(enum.Enum):
    """``date-separator``: which date directory data files go into."""

    NONE = "none"
    YEAR = "year"
    MONTH = "month"
    DAY = "day"

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return _DATE_PATTERNS[self]

    def format(self, when: _dt.datetime | _dt.date) -> str:
        """The date directory for a point in time ('' for ``none``)."""
        fmt = _DATE_FORMATS[self]
        return when.strftime(fmt) if fmt else ""

    def for_commit_ts(self, commit_ts: int) -> str:
        """The date directory derived (in UTC) from a TSO-layout commit-ts: the deterministic default."""
        when = _dt.datetime.fromtimestamp(ts_physical_ms(commit_ts) / 1000, tz=_dt.UTC)
        return self.format(when)


_DATE_FORMATS = {DateSeparator.NONE: "", DateSeparator.YEAR: "%Y", DateSeparator.MONTH: "%Y-%m",
                 DateSeparator.DAY: "%Y-%m-%d"}
_DATE_PATTERNS = {
    DateSeparator.NONE: None,
    DateSeparator.YEAR: re.compile(r"[0-9]{4}"),
    DateSeparator.MONTH: re.compile(r"[0-9]{4}-[0-9]{2}"),
    DateSeparator.DAY: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
}


def clamp_file_index_digit(digits: int) -> int:
    """``file-index-digit`` as TiCDC applies it: 6..20, anything out of range becomes 20."""
    if MIN_FILE_INDEX_DIGIT <= digits <= MAX_FILE_INDEX_DIGIT:
        return digits
    return MAX_FILE_INDEX_DIGIT


@dataclass(frozen=True, slots=True)
class DataDir:
    """One data directory: a table version, optionally a partition and a date."""

    schema: str
    table: str
    version: int
    partition: int | None = None
    date: str = ""

    def key_prefix(self) -> str:
        parts = [encode_segment(self.schema), encode_segment(self.table), str(self.version)]
        if self.partition is not None:
            parts.append(str(self.partition))
        if self.date:
            parts.append(self.date)
        return "/".join(parts) + "/"


@dataclass(frozen=True, slots=True)
class DataFileKey:
    """A parsed data file key."""

    dir: DataDir
    name: str
    """The base name, as the index file records it."""
    index: int
    ext: str
    dispatcher_id: str | None = None


@dataclass(frozen=True, slots=True)
class IndexFileKey:
    """A parsed index file key."""

    dir: DataDir
    dispatcher_id: str | None = None


@dataclass(frozen=True, slots=True)
class SchemaFileKey:
    """A parsed schema file key; ``table`` is '' for a database-level schema file."""

    schema: str
    table: str
    version: int
    checksum: int


def _check_dispatcher(dispatcher_id: str | None) -> None:
    if dispatcher_id is not None and not _DISPATCHER_RE.fullmatch(dispatcher_id):
        raise ConfigError(f"dispatcher id {dispatcher_id!r} must be letters, digits and '-'")


def data_file_name(index: int, ext: str, *, dispatcher_id: str | None = None,
                   digits: int = DEFAULT_FILE_INDEX_DIGIT) -> str:
    """``CDC<idx>.<ext>`` or ``CDC_<dispatcher>_<idx>.<ext>``; ``index`` starts at 1, ``ext`` has no dot."""
    _check_dispatcher(dispatcher_id)
    if index < 1:
        raise ValueError(f"data file index must be >= 1, got {index}")
    if not _EXT_RE.fullmatch(ext):
        raise ConfigError(f"file extension {ext!r} must be letters and digits (no dot)")
    width = clamp_file_index_digit(digits)
    middle = f"_{dispatcher_id}_" if dispatcher_id is not None else ""
    return f"{DATA_FILE_PREFIX}{middle}{index:0{width}d}.{ext}"


def build_data_file_key(data_dir: DataDir, index: int, ext: str, *, dispatcher_id: str | None = None,
                        digits: int = DEFAULT_FILE_INDEX_DIGIT) -> str:
    return data_dir.key_prefix() + data_file_name(index, ext, dispatcher_id=dispatcher_id, digits=digits)


def build_index_file_key(data_dir: DataDir, *, dispatcher_id: str | None = None) -> str:
    _check_dispatcher(dispatcher_id)
    name = f"CDC_{dispatcher_id}{INDEX_SUFFIX}" if dispatcher_id is not None else f"CDC{INDEX_SUFFIX}"
    return f"{data_dir.key_prefix()}{META_DIR}/{name}"


def _parse_dir(parts: list[str], date_separator: DateSeparator) -> DataDir | None:
    """``parts`` = schema, table, version[, partition][, date]."""
    if len(parts) < 3 or not _VERSION_RE.fullmatch(parts[2]):
        return None
    extra = parts[3:]
    date = ""
    pattern = date_separator.pattern
    if pattern is not None:
        if not extra or not pattern.fullmatch(extra[-1]):
            return None
        date = extra.pop()
    partition: int | None = None
    if extra:
        if len(extra) != 1 or not _VERSION_RE.fullmatch(extra[0]):
            return None
        partition = int(extra[0])
    return DataDir(decode_segment(parts[0]), decode_segment(parts[1]), int(parts[2]), partition, date)


def parse_data_file_key(key: str, date_separator: DateSeparator = DateSeparator.DAY) -> DataFileKey | None:
    """Parse a data file key written with ``date_separator`` (the writer's setting)."""
    parts = key.split("/")
    m = _DATA_NAME_RE.fullmatch(parts[-1])
    if m is None or len(parts) > 6:
        return None
    data_dir = _parse_dir(parts[:-1], date_separator)
    if data_dir is None:
        return None
    return DataFileKey(data_dir, parts[-1], int(m.group(2)), m.group(3), m.group(1))


def parse_index_file_key(key: str, date_separator: DateSeparator = DateSeparator.DAY) -> IndexFileKey | None:
    parts = key.split("/")
    m = _INDEX_NAME_RE.fullmatch(parts[-1])
    if m is None or len(parts) < 5 or len(parts) > 7 or parts[-2] != META_DIR:
        return None
    data_dir = _parse_dir(parts[:-2], date_separator)
    if data_dir is None:
        return None
    return IndexFileKey(data_dir, m.group(1))


def build_index_content(data_file_name: str) -> bytes:
    """The index file's bytes: the latest data file's base name and a newline."""
    if "/" in data_file_name or not _DATA_NAME_RE.fullmatch(data_file_name):
        raise ValueError(f"{data_file_name!r} is not a data file name")
    return data_file_name.encode("ascii") + b"\n"


def parse_index_content(data: bytes, key: str = "") -> tuple[str, int]:
    """The data file name an index file names and its index; ``ConsumerError`` naming ``key`` if bad."""
    text = data.decode("ascii", "replace").strip()
    m = _DATA_NAME_RE.fullmatch(text)
    if m is None:
        raise ConsumerError(f"index file {key!r} does not name a data file: {text[:80]!r}")
    return text, int(m.group(2))


def build_schema_file_key(schema: str, table: str, version: int, checksum: int) -> str:
    """Table schema file key, or the database-level one when ``table`` is ''."""
    if not 0 <= checksum < 1 << 32:
        raise ValueError(f"checksum {checksum} is not a 32-bit value")
    name = f"{META_DIR}/schema_{version}_{checksum:010d}.json"
    if table:
        return f"{encode_segment(schema)}/{encode_segment(table)}/{name}"
    return f"{encode_segment(schema)}/{name}"


def parse_schema_file_key(key: str) -> SchemaFileKey | None:
    parts = key.split("/")
    if len(parts) not in (3, 4) or parts[-2] != META_DIR:
        return None
    m = _SCHEMA_NAME_RE.fullmatch(parts[-1])
    if m is None:
        return None
    table = decode_segment(parts[1]) if len(parts) == 4 else ""
    return SchemaFileKey(decode_segment(parts[0]), table, int(m.group(1)), int(m.group(2)))


def table_key_prefix(schema: str, table: str = "") -> str:
    """The key prefix of everything under a database (``table`` '') or a table, ending in ``/``."""
    if table:
        return f"{encode_segment(schema)}/{encode_segment(table)}/"
    return f"{encode_segment(schema)}/"


def build_syncpoint_key(commit_ts: int) -> str:
    return f"{SYNCPOINT_PREFIX}{commit_ts:020d}.json"


def parse_syncpoint_key(key: str) -> int | None:
    if not key.startswith(SYNCPOINT_PREFIX):
        return None
    m = _SYNCPOINT_NAME_RE.fullmatch(key[len(SYNCPOINT_PREFIX):])
    return int(m.group(1)) if m else None


def replay_order(item: SchemaFileKey | DataFileKey) -> tuple[int, int, str, str, str, int, str, int]:
    """Sort key for replay (reference §7): table version, partition, date, schema, table; a schema file
    sorts before the data of its version; data files of one span in index order."""
    if isinstance(item, SchemaFileKey):
        return (item.version, -1, "", item.schema, item.table, 0, "", 0)
    d = item.dir
    partition = -1 if d.partition is None else d.partition
    return (d.version, partition, d.date, d.schema, d.table, 1, item.dispatcher_id or "", item.index)
