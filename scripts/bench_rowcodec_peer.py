"""mysql-replication's own row parser on the synthetic events of bench_rowcodec.py, without a server.

Each workload becomes real binlog event bytes (a TABLE_MAP with signedness, charset, column-name and ENUM
metadata, then WRITE_ROWS_V2 / UPDATE_ROWS_V2 events) that are fed to pymysqlreplication's
``BinLogPacketWrapper`` the way its stream reader feeds packets from a server; its rows are then read in
full. Used by ``bench_rowcodec.py --peer`` for the ratio; never by the product.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

from pymysql.protocol import MysqlPacket
from pymysqlreplication import row_event
from pymysqlreplication.packet import BinLogPacketWrapper

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.rowcodec import ColumnSpec

_STRING_REAL = {ft.STRING: ft.STRING, ft.ENUM: ft.ENUM, ft.SET: ft.SET}
_NUMERIC = {ft.TINY, ft.SHORT, ft.INT24, ft.LONG, ft.LONGLONG, ft.NEWDECIMAL, ft.FLOAT, ft.DOUBLE}
_CHARACTER = {ft.STRING, ft.VAR_STRING, ft.VARCHAR, ft.BLOB}


def _lenenc(n: int) -> bytes:
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    return b"\xfd" + n.to_bytes(3, "little")


def _column_meta(spec: ColumnSpec) -> tuple[int, bytes]:
    t, m = spec.type_code, spec.meta
    if t in _STRING_REAL:
        return ft.STRING, bytes([_STRING_REAL[t] ^ ((m & 0x300) >> 4), m & 0xFF])
    if t in (ft.VARCHAR, ft.VAR_STRING):
        return t, struct.pack("<H", m)
    if t == ft.NEWDECIMAL:
        return t, bytes([m >> 8, m & 0xFF])
    if t in (ft.FLOAT, ft.DOUBLE, ft.DATETIME2, ft.TIMESTAMP2, ft.TIME2, ft.BLOB, ft.JSON):
        return t, bytes([m])
    return t, b""


def _tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + _lenenc(len(value)) + value


def table_map_body(table_id: int, specs: Sequence[ColumnSpec]) -> bytes:
    types = bytearray()
    metas = bytearray()
    for spec in specs:
        t, meta = _column_meta(spec)
        types.append(t)
        metas += meta
    n = len(specs)
    numeric = [s for s in specs if s.type_code in _NUMERIC]
    signed = bytearray((len(numeric) + 7) // 8)
    for k, s in enumerate(numeric):
        if s.unsigned:
            signed[k // 8] |= 0x80 >> (k % 8)
    names = b"".join(_lenenc(len(s.name)) + s.name.encode() for s in specs)
    enums = b"".join(
        _lenenc(len(s.elems)) + b"".join(_lenenc(len(e.encode())) + e.encode() for e in s.elems)
        for s in specs
        if s.type_code == ft.ENUM
    )
    body = table_id.to_bytes(6, "little") + b"\x01\x00"
    body += b"\x05bench\x00" + bytes([len("t")]) + b"t\x00"
    body += _lenenc(n) + bytes(types) + _lenenc(len(metas)) + bytes(metas) + b"\xff" * ((n + 7) // 8)
    # utf8mb4_general_ci (45) for every text column; BLOB columns without encoding are binary (63)
    exceptions = b"".join(
        _lenenc(k) + _lenenc(63)
        for k, s in enumerate(x for x in specs if x.type_code in _CHARACTER)
        if s.encoding is None
    )
    body += _tlv(1, bytes(signed)) + _tlv(2, _lenenc(45) + exceptions) + _tlv(4, names)
    if enums:
        body += _tlv(6, enums) + _tlv(10, _lenenc(45))
    return body


def rows_body(table_id: int, ncols: int, images: bytes, update: bool) -> bytes:
    bitmap = b"\xff" * ((ncols + 7) // 8)
    body = table_id.to_bytes(6, "little") + b"\x01\x00" + b"\x02\x00" + _lenenc(ncols) + bitmap
    if update:
        body += bitmap
    return body + images


def _packet(type_code: int, body: bytes) -> MysqlPacket:
    header = struct.pack("<IBIIIH", 0, type_code, 1, 19 + len(body), 0, 0)
    return MysqlPacket(b"\x00" + header + body, "utf8")


class _Ctl:
    """What the wrapper asks of its control connection: the charset and the server kind."""

    charset = "utf8"

    def _get_dbms(self) -> str:
        return "mysql"


def _wrap(packet: MysqlPacket, table_map: dict[int, Any], event_class: Any) -> Any:
    return BinLogPacketWrapper(
        packet,
        table_map,
        _Ctl(),
        (8, 0, 0),
        False,
        frozenset({row_event.TableMapEvent, event_class}),
        None,
        None,
        None,
        None,
        False,
        False,
        False,
        True,
        False,
    ).event


def peer_rate(specs: Sequence[ColumnSpec], bodies: list[bytes], nrows: int, update: bool) -> tuple[float, Any]:
    """mysql-replication's rows/s on the event bodies (row images only), and its first row for a check."""
    table_map: dict[int, Any] = {}
    # four trailing bytes stand where a checksum would be: its metadata loop stops short of them
    _wrap(_packet(19, table_map_body(42, specs) + bytes(4)), table_map, row_event.TableMapEvent)
    type_code, cls = (31, row_event.UpdateRowsEvent) if update else (30, row_event.WriteRowsEvent)
    packets = [rows_body(42, len(specs), body, update) for body in bodies]
    t0 = time.perf_counter()
    count = 0
    first: Any = None
    for body in packets:
        event = _wrap(_packet(type_code, body), table_map, cls)
        rows = event.rows
        if first is None:
            first = rows[0]
        count += len(rows)
    elapsed = time.perf_counter() - t0
    assert count == nrows, (count, nrows)
    return nrows / elapsed, first
