"""Table versions and rows shared by the sink tests."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal
from typing import Any

from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, TableName, make_ts

TS = 435661838416609281
"""The commit-ts TiCDC's own CSV tests use."""


def f32(x: float) -> float:
    """The exact value a FLOAT column holds for ``x``."""
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


def table(name: str, *columns: ColumnInfo, schema: str = "test", version: int = 1) -> TableInfo:
    return TableInfo(TableName(schema, name), tuple(columns), version)


def col(name: str, type_name: str, **kw: Any) -> ColumnInfo:
    return ColumnInfo(name, type_name, **kw)


def batch(info: TableInfo, op: Op, rows: list[tuple[Any, ...]], *, ts: int = TS, **kw: Any) -> RowChanges:
    return RowChanges(info, op, ts, rows, **kw)


WIDE = table(
    "wide",
    col("id", "BIGINT", unsigned=True, is_pk=True, nullable=False),
    col("i", "INT"),
    col("u", "INT", unsigned=True),
    col("d", "DECIMAL", length=18, scale=4),
    col("f", "FLOAT"),
    col("db", "DOUBLE"),
    col("dt", "DATETIME", scale=6),
    col("ts", "TIMESTAMP", scale=6),
    col("day", "DATE"),
    col("t", "TIME", scale=3),
    col("v", "VARCHAR", length=64, charset="utf8mb4"),
    col("txt", "TEXT", charset="utf8mb4"),
    col("e", "ENUM", elems=("x", "y", "z"), charset="utf8mb4"),
    col("s", "SET", elems=("a", "b", "c", "d"), charset="utf8mb4"),
    col("j", "JSON"),
    col("b", "BLOB", charset="binary"),
    col("bits", "BIT", length=10),
    col("y", "YEAR"),
    col("ti", "TINYINT"),
    col("si", "SMALLINT", unsigned=True),
    col("mi", "MEDIUMINT"),
)


def wide_row(i: int) -> tuple[Any, ...]:
    return (
        2**63 + i, -i, 4_000_000_000 - i, Decimal(f"{i}.5000"), f32(i + 0.25), i * 1.5,
        dt.datetime(2024, 2, 29, 23, 59, 58, i % 1_000_000),
        dt.datetime(2024, 3, 1, 0, 0, 1, 123456, tzinfo=dt.UTC), dt.date(1999, 12, 31),
        dt.timedelta(hours=-(i % 900), minutes=-1), f"v{i},\"q\"", "line1\nline2 名前", "y", "a,c",
        '{"k": [1, 2]}', bytes([i % 256, 0, 255]), 683, 1970 + i % 100, -128, 65535, -8388608,
    )


WIDE_NULLS = (1, *([None] * (len(WIDE.columns) - 1)))

COMMIT_TS = make_ts(1_700_000_000_000)
"""2023-11-14T22:13:20Z."""
