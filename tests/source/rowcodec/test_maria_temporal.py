"""MariaDB's own TIME(n)/DATETIME(n)/TIMESTAMP(n) formats (mysql56_temporal_format=OFF), from its formulas."""

from __future__ import annotations

import datetime as dt

import pytest

from storagecdc.errors import SourceError
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.rowcodec import ColumnSpec, compile_decoder

SEC_PART_BYTES = (0, 1, 1, 2, 2, 3, 3)
DATETIME_BYTES = (5, 6, 6, 7, 7, 7, 8)
TIME_BYTES = (3, 4, 4, 5, 5, 5, 6)


def pack_time(*fields: int) -> int:
    """MariaDB's pack_time of (year, month, day, hour, minute, second, microsecond)."""
    y, mo, d, h, mi, s, us = fields
    return ((((((y * 13 + mo) * 32 + d) * 24 + h) * 60 + mi) * 60 + s) * 1_000_000) + us


def decode_one(spec: ColumnSpec, image: bytes) -> object:
    (row,) = compile_decoder((spec,)).decode_rows(b"\x00" + image, 0, 1 + len(image), 1)
    return row[0]


@pytest.mark.parametrize("fsp", range(1, 7))
def test_datetime_hires(fsp: int) -> None:
    value = dt.datetime(9999, 12, 31, 23, 59, 59, 999999 // 10 ** (6 - fsp) * 10 ** (6 - fsp))
    packed = pack_time(9999, 12, 31, 23, 59, 59, value.microsecond) // 10 ** (6 - fsp)
    image = packed.to_bytes(DATETIME_BYTES[fsp], "big")
    assert decode_one(ColumnSpec(ft.DATETIME, fsp), image) == value


@pytest.mark.parametrize(
    ("fsp", "text", "td"),
    [
        (3, "-12:00:00.123", -dt.timedelta(hours=12, milliseconds=123)),
        (3, "838:59:59.999", dt.timedelta(hours=838, minutes=59, seconds=59, milliseconds=999)),
        (6, "-838:59:59.000001", -dt.timedelta(hours=838, minutes=59, seconds=59, microseconds=1)),
        (1, "00:00:00.0", dt.timedelta(0)),
    ],
)
def test_time_hires(fsp: int, text: str, td: dt.timedelta) -> None:
    micros = td.days * 86_400_000_000 + td.seconds * 1_000_000 + td.microseconds
    zero = (838 * 3600 + 59 * 60 + 59 + 1) * 1_000_000 // 10 ** (6 - fsp)
    shifted = abs(micros) // 10 ** (6 - fsp) * (-1 if micros < 0 else 1)
    image = (shifted + zero).to_bytes(TIME_BYTES[fsp], "big")
    assert decode_one(ColumnSpec(ft.TIME, fsp), image) == td, text


def test_timestamp_hires_and_zero() -> None:
    image = (1).to_bytes(4, "big") + (50).to_bytes(SEC_PART_BYTES[2], "big")
    assert decode_one(ColumnSpec(ft.TIMESTAMP, 2), image) == dt.datetime(1970, 1, 1, 0, 0, 1, 500000, dt.UTC)
    assert decode_one(ColumnSpec(ft.TIMESTAMP, 2), bytes(5)) == "0000-00-00 00:00:00.00"


def test_old_datetime_out_of_range_is_an_error_not_a_value() -> None:
    """MariaDB's DATETIME(6) has the old format's 8 bytes: read as the old format it must fail loudly."""
    image = pack_time(2000, 1, 1, 0, 0, 0, 1).to_bytes(8, "big")
    with pytest.raises(SourceError, match="not an old-format DATETIME"):
        decode_one(ColumnSpec(ft.DATETIME, 0), image)
