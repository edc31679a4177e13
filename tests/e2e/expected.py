"""What a binlog holds, from the decoder, and how each output format must spell it.

``decode(path)`` runs the binlog through the source (``file_events`` + ``TransactionAssembler``) and returns,
per table version, the change records the sink must write in order: an INSERT or DELETE row is one record,
an UPDATE one ``U`` record (with its old row), an UPDATE that changes the primary key a ``D`` + ``I`` pair.

The text formatters are written here from docs/output-format.md and TiCDC's reference (not imported from
the sink), so a test compares the sink's bytes with an independent reading of the spec.
"""

from __future__ import annotations

import base64
import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from storagecdc.model import ColumnInfo, DDLEvent, Op, RowChanges, TableInfo
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler

VersionKey = tuple[str, str, int]
"""(database, table, table version): one data directory of the layout."""


@dataclass(frozen=True, slots=True)
class Record:
    """One change record as the sink writes it (``old`` only for ``U``)."""

    op: str
    commit_ts: int
    values: tuple[Any, ...]
    old: tuple[Any, ...] | None = None


@dataclass(slots=True)
class Expected:
    """The decoder's view of a binlog: table versions and their records in commit order."""

    tables: dict[VersionKey, TableInfo] = field(default_factory=dict)
    records: dict[VersionKey, list[Record]] = field(default_factory=dict)
    ddl: list[DDLEvent] = field(default_factory=list)
    last_commit_ts: int = 0


def decode(path: Path | Sequence[Path]) -> Expected:
    source = str(path) if isinstance(path, Path) else [str(p) for p in path]
    assembler = TransactionAssembler(SchemaOptions().tracker_factory)
    out = Expected()
    for item in assembler.feed(file_events(source, EventCounter())):
        if isinstance(item, RowChanges):
            info = item.table
            key = (info.name.schema, info.name.table, info.version)
            out.tables[key] = info
            out.records.setdefault(key, []).extend(_records(item))
            out.last_commit_ts = max(out.last_commit_ts, item.commit_ts)
        elif isinstance(item, DDLEvent):
            out.ddl.append(item)
            out.last_commit_ts = max(out.last_commit_ts, item.commit_ts)
    return out


def _records(batch: RowChanges) -> list[Record]:
    ts = batch.commit_ts
    if batch.op is Op.INSERT:
        return [Record("I", ts, row) for row in batch.rows]
    if batch.op is Op.DELETE:
        return [Record("D", ts, row) for row in batch.rows]
    assert batch.before is not None
    changed = batch.pk_changed or [False] * len(batch.rows)
    out: list[Record] = []
    for old, new, moved in zip(batch.before, batch.rows, changed, strict=True):
        out += [Record("D", ts, old), Record("I", ts, new)] if moved else [Record("U", ts, new, old)]
    return out


# --- numbers -------------------------------------------------------------------------------------------


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def shortest_digits(value: float, single: bool) -> Decimal:
    """The shortest decimal that reads back as ``value`` (as a 32-bit float when ``single``)."""
    if not single:
        return Decimal(repr(value))
    for places in range(9):
        text = f"{value:.{places}e}"
        if _float32(float(text)) == value:
            return Decimal(text)
    raise AssertionError(f"{value!r} is not a 32-bit float")


def go_float(value: float, single: bool) -> str:
    """Go's ``%v``: shortest digits; exponent form when the decimal exponent is < -4 or >= 6."""
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    d = shortest_digits(value, single).normalize()
    exp = d.adjusted()
    if -4 <= exp < 6:
        return format(d, "f")
    sign, digits, _ = d.as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def plain_float(value: float, single: bool) -> str:
    """Shortest digits in plain notation (canal-json)."""
    if value == 0:
        return "0"
    return format(shortest_digits(value, single).normalize(), "f")


# --- dates and times ---------------------------------------------------------------------------------------


def _fraction(microseconds: int, fsp: int) -> str:
    return "." + f"{microseconds:06d}"[:fsp] if fsp > 0 else ""


def datetime_text(value: dt.datetime, fsp: int) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{_fraction(value.microsecond, fsp)}"
    )


def time_text(value: dt.timedelta, fsp: int) -> str:
    micros = value // dt.timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, frac = divmod(abs(micros), 1_000_000)
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{_fraction(frac, fsp)}"


def _temporal(col: ColumnInfo, value: Any) -> str | None:
    fsp = col.scale or 0
    if isinstance(value, dt.datetime):
        return datetime_text(value, fsp)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, dt.timedelta):
        return time_text(value, fsp)
    return None


# --- per format ----------------------------------------------------------------------------------------------


def csv_text(col: ColumnInfo, value: Any) -> str | None:
    """A value as TiCDC's CSV protocol prints it (unquoted text; None for NULL); binary as base64."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value, col.type_name == "FLOAT")
    if isinstance(value, Decimal):
        text = format(value, "f")
        assert len(text.partition(".")[2]) == (col.scale or 0), (col.name, text)
        return text
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    temporal = _temporal(col, value)
    return temporal if temporal is not None else str(value)


def canal_text(col: ColumnInfo, value: Any) -> str | None:
    """A value as canal-json writes it: ENUM as its index, SET as its bits, binary as ISO-8859-1 text."""
    if value is None:
        return None
    if col.type_name == "ENUM":
        return str(col.elems.index(value) + 1 if value else 0)
    if col.type_name == "SET":
        return str(sum(1 << col.elems.index(m) for m in value.split(",") if m))
    if isinstance(value, float):
        return plain_float(value, col.type_name == "FLOAT")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return csv_text(col, value)


def parquet_value(col: ColumnInfo, value: Any, *, time_as_micros: bool) -> Any:
    """A value as Parquet holds it: zero dates are null; TIME is a duration (DuckDB: microseconds)."""
    if isinstance(value, str) and col.type_name in {"DATE", "DATETIME", "TIMESTAMP"}:
        assert value.startswith("0000") or "-00" in value, (col.name, value)
        return None
    if time_as_micros and isinstance(value, dt.timedelta):
        return value // dt.timedelta(microseconds=1)
    return value
