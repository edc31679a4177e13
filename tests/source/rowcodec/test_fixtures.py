"""Real binlog rows (../shared/fixtures/binlog) decoded and checked against their references."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import RowsEvent
from storagecdc.source.binlog.files import iter_binlog_events
from storagecdc.source.binlog.rowcodec import column_specs, compile_decoder

Row = tuple[Any, ...]


def decoded(path: Path) -> Iterator[tuple[str, str, list[Row], list[Row] | None]]:
    """(table, kind, rows, before rows or None) of every rows event of a binlog file."""
    events = EventDecoder()
    for raw in iter_binlog_events(path):
        for ev in events.decode(raw):
            if not isinstance(ev, RowsEvent):
                continue
            decoder = compile_decoder(column_specs(ev.table_map))
            end = len(ev.body)
            if ev.present_after is None:
                yield ev.table_map.table, ev.kind, decoder.decode_rows(ev.body, ev.rows_start, end, ev.present), None
            else:
                before, after = decoder.decode_update_rows(ev.body, ev.rows_start, end, ev.present, ev.present_after)
                yield ev.table_map.table, ev.kind, after, before


def test_mariadb_all_types_first_rows(binlog_fixtures: Path) -> None:
    events = list(decoded(binlog_fixtures / "mariadb" / "mariadb-10.11-types.000001"))
    table, kind, rows, _ = events[0]
    assert (table, kind, len(rows)) == ("all_types", "insert", 3)
    first = rows[0]
    assert first[:17] == (
        1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
        -9223372036854775808, 18446744073709551615,
        Decimal("-12345678901234.123456"), Decimal("999.99"), 3.141590118408203, -2.718281828459045, 1, 0b1010101010101,
    )  # fmt: skip
    assert repr(first[11]) == "Decimal('-12345678901234.123456')"
    assert first[17:25] == (
        date(2024, 2, 29),
        -timedelta(hours=838, minutes=59, seconds=59),
        timedelta(hours=12, minutes=34, seconds=56, microseconds=789000),
        datetime(1000, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 7, 499999, tzinfo=UTC),
        2155,
    )
    assert first[25:29] == ("abc", "héllo wörld ✓ 😀 𝄞 中文", b"\x00\xff\x10", b"\xde\xad\xbe\xef")
    assert first[29:33] == ("t" * 1000, "m" * 2000, bytes.fromhex("0001020304FF"), b"\xab" * 300)
    assert first[33:] == (
        "large", "a,c,d", '{"k": [1, 2.5, "x", null, true], "n": {"deep": {"v": -1}}, "u": "ü😀"}', "café", 1,
        "550e8400-e29b-41d4-a716-446655440000",
    )  # fmt: skip
    zero = rows[1]
    assert zero[11:13] == (Decimal("0.000000"), Decimal("0.00"))
    assert zero[17:22] == (
        "0000-00-00",
        timedelta(0),
        timedelta(0),
        "0000-00-00 00:00:00",
        datetime(2000, 1, 1, 0, 0, 0, 1),
    )
    assert zero[27:29] == (b"", b"\x00\x00\x00\x00")  # BINARY(4) '' comes back padded
    assert rows[2] == (3,) + (None,) * 38


def _mysql_decimal(text: str, precision: int, scale: int) -> Decimal:
    """What MySQL stores for ``text`` in DECIMAL(precision, scale): rounded half up, clamped to the range."""
    with localcontext(prec=100):
        value = Decimal(text).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        limit = (Decimal(10) ** precision - 1).scaleb(-scale)
        if abs(value) > limit:
            value = limit.copy_sign(value)
        return value if value else abs(value)


def test_go_mysql_decimal_edge_cases(binlog_fixtures: Path) -> None:
    base = binlog_fixtures / "go-mysql-org_go-mysql"
    sql = (base / "ddsql.sql").read_text()
    shapes = [tuple(map(int, m)) for m in re.findall(r"v\d+_\d+ decimal\((\d+),(\d+)\)", sql)]
    inserted = [re.findall(r'"([^"]*)"', line) for line in re.findall(r"^\((\".*)\),?;?$", sql, re.M)]
    rows = [r for _, _, rs, _ in decoded(base / "tcb-eval002c-bin.003320") for r in rs]
    assert len(rows) == len(inserted) > 10
    for row, texts in zip(rows, inserted, strict=True):
        for value, text, (precision, scale) in zip(row[1:12], texts, shapes, strict=True):
            expected = _mysql_decimal(text, precision, scale)
            assert value == expected, (text, precision, scale)
            assert value.as_tuple().exponent == -scale


def test_json_opaque_values(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / "blackbeam_rust_mysql_common" / "json-opaque.binlog"
    texts = [r[0] for _, _, rows, _ in decoded(path) for r in rows]
    assert texts[:8] == [
        '{"a": "base64:type15:VQ=="}',
        '{"b": "2012-03-18"}',
        '{"c": "2012-03-18 11:30:45.000000"}',
        '{"c": "87:31:46.654321"}',
        '{"d": 123.456}',
        '{"e": 9.00}',
        '{"e": [0, 1, true, false]}',
        '{"e": null}',
    ]


def test_negative_time_beyond_24h(binlog_fixtures: Path) -> None:
    rows = [
        r for _, _, rs, _ in decoded(binlog_fixtures / "blackbeam_rust_mysql_common" / "time_issue.000001") for r in rs
    ]
    assert rows == [(-timedelta(hours=507, minutes=48, seconds=27),)]


_STMT = re.compile(r"^### (INSERT INTO|UPDATE|DELETE FROM) ")
_VALUE = re.compile(r"^###   @(\d+)=(.*?) /\*")


def _mariadb_binlog_images(path: Path) -> list[list[str]]:
    """Every row image that ``mariadb-binlog -vv`` printed, as the value texts in column order."""
    images: list[list[str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("### WHERE", "### SET")):
                images.append([])
            elif (m := _VALUE.match(line)) is not None:
                images[-1].append(m.group(2))
    return images


def _as_text(v: Any) -> str:
    return f"'{v}'" if isinstance(v, str) else str(v)


def test_sysbench_rows_match_mariadb_binlog(binlog_fixtures: Path) -> None:
    base = binlog_fixtures / "mariadb"
    ours: list[list[str]] = []
    for _, _, rows, before in decoded(base / "mariadb-10.11-sysbench-oltp_write_only.000010"):
        pairs = zip(before, rows, strict=True) if before is not None else ((r,) for r in rows)
        for images in pairs:
            ours += [[_as_text(v) for v in image] for image in images]
    theirs = _mariadb_binlog_images(base / "mariadb-10.11-sysbench-oltp_write_only.000010.decoded.txt.gz")
    assert len(ours) == len(theirs) > 1800
    assert ours == theirs
