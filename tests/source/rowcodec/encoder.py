"""A binlog row-image ENCODER written from MySQL's documented formats, for testing the decoder.

It works from model values (what the decoder must return) to bytes, and shares no code with
``storagecdc.source.binlog`` (only the type-code constants). Sources: MySQL internals "Rows event" /
"Row image" pages, the "Date and Time Data Type Representation" page (DATETIME2/TIME2/TIMESTAMP2),
strings/decimal.c's documented packed-decimal layout, and the JSON binary format comment in json_binary.h.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from storagecdc.source.binlog import field_types as ft

BYTES_PER_DIGITS = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4]


def enc_decimal(value: Decimal, precision: int, scale: int) -> bytes:
    """DECIMAL(precision, scale): 9-digit groups in 4 bytes, partial groups shorter; sign bit; negatives inverted."""
    negative = value < 0
    with localcontext(prec=200):
        text = format(abs(value).quantize(Decimal(1).scaleb(-scale)), "f")
    int_text, _, frac_text = text.partition(".")
    int_digits = precision - scale
    int_text = int_text.lstrip("0").rjust(int_digits, "0")
    assert len(int_text) == int_digits, (value, precision, scale)
    frac_text = frac_text.ljust(scale, "0")
    out = bytearray()
    lead = int_digits % 9
    if lead:
        out += int(int_text[:lead]).to_bytes(BYTES_PER_DIGITS[lead], "big")
    for k in range(lead, int_digits, 9):
        out += int(int_text[k : k + 9]).to_bytes(4, "big")
    full = scale // 9
    for k in range(full):
        out += int(frac_text[k * 9 : k * 9 + 9]).to_bytes(4, "big")
    rest = scale % 9
    if rest:
        out += int(frac_text[full * 9 :]).to_bytes(BYTES_PER_DIGITS[rest], "big")
    out[0] ^= 0x80
    if negative:
        out = bytearray(b ^ 0xFF for b in out)
    return bytes(out)


def frac_len(fsp: int) -> int:
    return (fsp + 1) // 2


def frac_units(micro: int, fsp: int) -> int:
    """The stored fraction: hundredths (1-2 digits), 1/10000 s (3-4 digits) or microseconds (5-6)."""
    n = frac_len(fsp)
    return {0: 0, 1: micro // 10000, 2: micro // 100, 3: micro}[n]


def enc_datetime2(parts: tuple[int, int, int, int, int, int, int], fsp: int) -> bytes:
    y, mo, d, h, mi, s, micro = parts
    bits = 1 << 39 | (y * 13 + mo) << 22 | d << 17 | h << 12 | mi << 6 | s
    return bits.to_bytes(5, "big") + frac_units(micro, fsp).to_bytes(frac_len(fsp), "big")


def enc_time2(value: timedelta, fsp: int) -> bytes:
    total_us = value.days * 86400_000000 + value.seconds * 1000000 + value.microseconds
    negative = total_us < 0
    total_us = abs(total_us)
    secs, micro = divmod(total_us, 1000000)
    h, rem = divmod(secs, 3600)
    mi, s = divmod(rem, 60)
    nf = frac_len(fsp)
    packed = ((h << 12 | mi << 6 | s) << (8 * nf)) | frac_units(micro, fsp)
    if negative:
        packed = -packed
    return (packed + (0x800000 << (8 * nf))).to_bytes(3 + nf, "big")


def enc_timestamp2(seconds: int, micro: int, fsp: int) -> bytes:
    return seconds.to_bytes(4, "big") + frac_units(micro, fsp).to_bytes(frac_len(fsp), "big")


def enc_old_time(value: timedelta) -> bytes:
    secs = int(value.total_seconds())
    sign = -1 if secs < 0 else 1
    secs = abs(secs)
    n = sign * ((secs // 3600) * 10000 + (secs // 60 % 60) * 100 + secs % 60)
    return (n & 0xFFFFFF).to_bytes(3, "little")


def length_prefix(n: int, size: int) -> bytes:
    return n.to_bytes(size, "little")


def enc_value(type_code: int, meta: int, unsigned: bool, raw: Any) -> bytes:
    """Bytes of one non-NULL value; ``raw`` is the encoder-side input described by ``strategies``."""
    t = type_code
    ints = {ft.TINY: (1, "b"), ft.SHORT: (2, "h"), ft.LONG: (4, "i"), ft.LONGLONG: (8, "q")}
    if t in ints:
        _, code = ints[t]
        return struct.pack("<" + (code.upper() if unsigned else code), raw)
    if t == ft.INT24:
        return (raw & 0xFFFFFF).to_bytes(3, "little")
    if t == ft.FLOAT:
        return struct.pack("<f", raw)
    if t == ft.DOUBLE:
        return struct.pack("<d", raw)
    if t == ft.YEAR:
        return bytes([raw - 1900 if raw else 0])
    if t == ft.NEWDECIMAL:
        return enc_decimal(raw, meta >> 8, meta & 0xFF)
    if t in (ft.DATE, ft.NEWDATE):
        y, mo, d = raw
        return (y << 9 | mo << 5 | d).to_bytes(3, "little")
    if t == ft.DATETIME2:
        return enc_datetime2(raw, meta)
    if t == ft.TIMESTAMP2:
        return enc_timestamp2(raw[0], raw[1], meta)
    if t == ft.TIME2:
        return enc_time2(raw, meta)
    if t == ft.TIME:
        return enc_old_time(raw)
    if t == ft.DATETIME:
        y, mo, d, h, mi, s = raw
        return struct.pack("<Q", ((y * 100 + mo) * 100 + d) * 1000000 + h * 10000 + mi * 100 + s)
    if t == ft.TIMESTAMP:
        return struct.pack("<I", raw)
    if t == ft.BIT:
        return raw.to_bytes((meta + 7) // 8, "big")
    if t == ft.ENUM:
        return raw.to_bytes(meta, "little")
    if t == ft.SET:
        return raw.to_bytes(meta, "little")
    if t in (ft.VARCHAR, ft.VAR_STRING, ft.STRING):
        return length_prefix(len(raw), 1 if meta < 256 else 2) + raw
    if t in (ft.BLOB, ft.JSON, ft.GEOMETRY, ft.VECTOR):
        return length_prefix(len(raw), meta) + raw
    raise AssertionError(f"encoder has no format for type {t}")


def enc_image(columns: Sequence[tuple[int, int, bool]], values: Sequence[Any], present: int) -> bytes:
    """One row image: NULL bitmap over the present columns, then the non-NULL present values.

    ``values[i]`` is the encoder input of column i, None for NULL (absent columns are ignored).
    """
    idx = [i for i in range(len(columns)) if present >> i & 1]
    nulls = 0
    body = bytearray()
    for bit, i in enumerate(idx):
        if values[i] is None:
            nulls |= 1 << bit
        else:
            t, meta, unsigned = columns[i]
            if t != ft.NULL:
                body += enc_value(t, meta, unsigned, values[i])
    return nulls.to_bytes((len(idx) + 7) // 8, "little") + bytes(body)


# --- MySQL binary JSON (json_binary.h): type byte, then the value -------------------------------------


def _varlen(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _scalar(v: Any) -> tuple[int, bytes]:
    if v is None:
        return 0x04, b"\x00"
    if v is True:
        return 0x04, b"\x01"
    if v is False:
        return 0x04, b"\x02"
    if isinstance(v, int):
        for t, code in ((0x05, "<h"), (0x06, "<H"), (0x07, "<i"), (0x08, "<I"), (0x09, "<q"), (0x0A, "<Q")):
            try:
                return t, struct.pack(code, v)
            except struct.error:
                continue
        raise ValueError(v)
    if isinstance(v, float):
        return 0x0B, struct.pack("<d", v)
    if isinstance(v, str):
        data = v.encode("utf-8")
        return 0x0C, _varlen(len(data)) + data
    if isinstance(v, Opaque):
        return 0x0F, bytes([v.field_type]) + _varlen(len(v.data)) + v.data
    raise TypeError(v)


class Opaque:
    def __init__(self, field_type: int, data: bytes) -> None:
        self.field_type = field_type
        self.data = data


def _container(v: dict[str, Any] | list[Any], large: bool) -> bytes:
    w = 4 if large else 2
    items = list(v.items()) if isinstance(v, dict) else [(None, x) for x in v]
    if isinstance(v, dict):
        items.sort(key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
    n = len(items)
    header = 2 * w + (n * (w + 2) if isinstance(v, dict) else 0) + n * (1 + w)
    keys = b"".join(k.encode() for k, _ in items) if isinstance(v, dict) else b""
    key_entries = bytearray()
    off = header
    for k, _ in items:
        if k is not None:
            key_entries += off.to_bytes(w, "little") + len(k.encode()).to_bytes(2, "little")
            off += len(k.encode())
    value_entries = bytearray()
    payload = bytearray()
    for _, item in items:
        t, data = encode_json_value(item, large)
        inline = t == 0x04 or t in (0x05, 0x06) or (large and t in (0x07, 0x08))
        if inline:
            value_entries += bytes([t]) + data.ljust(w, b"\x00")
        else:
            value_entries += bytes([t]) + (header + len(keys) + len(payload)).to_bytes(w, "little")
            payload += data
    total = header + len(keys) + len(payload)
    head = n.to_bytes(w, "little") + total.to_bytes(w, "little")
    return head + bytes(key_entries) + bytes(value_entries) + keys + bytes(payload)


def encode_json_value(v: Any, large: bool = False) -> tuple[int, bytes]:
    if isinstance(v, dict):
        return (0x01 if large else 0x00), _container(v, large)
    if isinstance(v, list):
        return (0x03 if large else 0x02), _container(v, large)
    return _scalar(v)


def encode_json(v: Any, large: bool = False) -> bytes:
    """A binary JSON document; ``large`` uses 4-byte offsets in every container."""
    t, data = encode_json_value(v, large)
    return bytes([t]) + data


def datetime_parts(v: datetime) -> tuple[int, int, int, int, int, int, int]:
    return v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond


def date_parts(v: date) -> tuple[int, int, int]:
    return v.year, v.month, v.day
