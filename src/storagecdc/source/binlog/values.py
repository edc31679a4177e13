"""Decoders for the binlog's packed value formats that need more than a ``struct`` field.

Each ``*_decoder`` factory returns a function specialised for one column shape (precision, scale, fsp),
which the generated row decoders call with the raw field. The value conventions are ``model.py``'s:
dates that Python cannot hold (zero and partially-zero dates, invalid dates) come back as the text MySQL
prints for them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from typing import cast

DIG2BYTES = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)
"""Bytes that MySQL's packed decimal uses for a group of 0..9 leftover digits."""

_DEC_CTX = Context(prec=200)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_CACHE: dict[int, tuple[int, int, int]] = {}
_DAY_CACHE_MAX = 100_000


def decimal_size(precision: int, scale: int) -> int:
    """Bytes of a DECIMAL(precision, scale) value in MySQL's packed format."""
    intg0, intgx = divmod(precision - scale, 9)
    frac0, fracx = divmod(scale, 9)
    return intg0 * 4 + DIG2BYTES[intgx] + frac0 * 4 + DIG2BYTES[fracx]


def decimal_decoder(precision: int, scale: int) -> Callable[[bytes], Decimal]:
    """A decoder of DECIMAL(precision, scale) packed bytes to an exact ``Decimal`` with that scale.

    The format: digit groups of 9 in 4 big-endian bytes, the leftmost integer group and the rightmost
    fraction group shortened to their digits; the top bit of the first byte set for non-negative numbers;
    every byte inverted for negative ones.
    """
    if not 0 <= scale <= precision or precision > 65 or precision <= 0:
        raise ValueError(f"invalid DECIMAL({precision},{scale})")
    intg0, intgx = divmod(precision - scale, 9)
    frac0, fracx = divmod(scale, 9)
    groups: list[tuple[int, int]] = []
    if intgx:
        groups.append((DIG2BYTES[intgx], intgx))
    groups += [(4, 9)] * (intg0 + frac0)
    if fracx:
        groups.append((DIG2BYTES[fracx], fracx))
    size = sum(n for n, _ in groups)
    top = 1 << (size * 8 - 1)
    terms: list[str] = []
    shift = size * 8
    digits_after = sum(d for _, d in groups)
    for nbytes, digits in groups:
        shift -= nbytes * 8
        digits_after -= digits
        term = f"((u >> {shift}) & {(1 << (nbytes * 8)) - 1})" if shift else f"(u & {(1 << (nbytes * 8)) - 1})"
        terms.append(f"{term} * {10**digits_after}" if digits_after else term)
    # One unrolled expression per (precision, scale): no loop, no per-group dispatch.
    src = (
        "def decode(raw):\n"
        "    u = _ifb(raw, 'big')\n"
        f"    if u & {top}:\n"
        f"        u ^= {top}\n"
        f"        return _D({' + '.join(terms)}).scaleb({-scale}, _ctx)\n"
        f"    u ^= {((1 << (size * 8)) - 1) ^ top}\n"
        f"    return _D(-({' + '.join(terms)})).scaleb({-scale}, _ctx)\n"
    )
    ns: dict[str, object] = {"_ifb": int.from_bytes, "_D": Decimal, "_ctx": _DEC_CTX}
    exec(compile(src, f"<decimal({precision},{scale})>", "exec"), ns)
    return cast(Callable[[bytes], Decimal], ns["decode"])


def _frac_unit(fsp: int) -> tuple[int, int]:
    """(bytes, microseconds per stored unit) of the fractional part for fsp 0..6."""
    if not 0 <= fsp <= 6:
        raise ValueError(f"invalid fractional-second precision {fsp}")
    nbytes = (fsp + 1) // 2
    return nbytes, (1, 10000, 100, 1)[nbytes]


def frac_bytes(fsp: int) -> int:
    """Bytes of the fractional-seconds part of TIME2/DATETIME2/TIMESTAMP2 with precision fsp."""
    return _frac_unit(fsp)[0]


def _frac_text(fsp: int, micro: int) -> str:
    return "." + f"{micro:06d}"[:fsp] if fsp else ""


def date_text(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def datetime_text(ymd: tuple[int, int, int], hms: tuple[int, int, int], micro: int, fsp: int) -> str:
    (y, mo, d), (h, mi, s) = ymd, hms
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}" + _frac_text(fsp, micro)


def date_value(packed: int) -> date | str:
    """DATE/NEWDATE: 3 bytes, little-endian ``year << 9 | month << 5 | day``."""
    year, month, day = packed >> 9, (packed >> 5) & 15, packed & 31
    try:
        return date(year, month, day)
    except ValueError:
        return date_text(year, month, day)


def datetime2_decoder(fsp: int) -> Callable[[int], datetime | str]:
    """DATETIME2(fsp): the big-endian int of its 5 + frac bytes to a naive datetime (or zero-date text)."""
    nbytes, unit = _frac_unit(fsp)
    shift = nbytes * 8
    mask = (1 << shift) - 1

    def decode(u: int) -> datetime | str:
        ip = (u >> shift) - 0x8000000000
        micro = (u & mask) * unit
        ymd = ip >> 17
        ym = ymd >> 5
        hms = ip & 0x1FFFF
        try:
            return datetime(ym // 13, ym % 13, ymd & 31, hms >> 12, (hms >> 6) & 63, hms & 63, micro)
        except ValueError:
            return datetime_text((ym // 13, ym % 13, ymd & 31), (hms >> 12, (hms >> 6) & 63, hms & 63), micro, fsp)

    return decode


def _day(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number since 1970-01-01, through a bounded cache."""
    d = date.fromordinal(_EPOCH_ORDINAL + days)
    ymd = (d.year, d.month, d.day)
    if len(_DAY_CACHE) >= _DAY_CACHE_MAX:
        _DAY_CACHE.clear()
    _DAY_CACHE[days] = ymd
    return ymd


def _utc(seconds: int, micro: int) -> datetime:
    days, rem = divmod(seconds, 86400)
    ymd = _DAY_CACHE.get(days) or _day(days)
    return datetime(ymd[0], ymd[1], ymd[2], rem // 3600, (rem // 60) % 60, rem % 60, micro, UTC)


def zero_timestamp_text(fsp: int) -> str:
    return "0000-00-00 00:00:00" + ("." + "0" * fsp if fsp else "")


def timestamp2_decoder(fsp: int) -> Callable[[int], datetime | str]:
    """TIMESTAMP2(fsp): the big-endian int of its 4 + frac bytes to a UTC datetime (0 -> zero text)."""
    nbytes, unit = _frac_unit(fsp)
    shift = nbytes * 8
    mask = (1 << shift) - 1
    zero = zero_timestamp_text(fsp)

    cache = _DAY_CACHE

    def decode(u: int) -> datetime | str:
        if not u:
            return zero
        days, rem = divmod(u >> shift, 86400)
        ymd = cache.get(days) or _day(days)
        return datetime(ymd[0], ymd[1], ymd[2], rem // 3600, (rem // 60) % 60, rem % 60, (u & mask) * unit, UTC)

    return decode


def timestamp_value(seconds: int) -> datetime | str:
    """Old TIMESTAMP: 4-byte little-endian seconds since the epoch."""
    return _utc(seconds, 0) if seconds else zero_timestamp_text(0)


def time2_decoder(fsp: int) -> Callable[[int], timedelta]:
    """TIME2(fsp): the big-endian int of its 3 + frac bytes to a (possibly negative) timedelta.

    The stored value is ``(hms << 24 | microseconds)`` scaled to the fraction's width, plus an offset;
    removing the offset leaves a signed number whose magnitude holds hours (10 bits), minutes, seconds.
    """
    nbytes, unit = _frac_unit(fsp)
    shift = nbytes * 8
    mask = (1 << shift) - 1
    offset = 0x800000 << shift

    def decode(u: int) -> timedelta:
        n = u - offset
        m = -n if n < 0 else n
        hms = m >> shift
        td = timedelta(
            seconds=((hms >> 12) & 0x3FF) * 3600 + ((hms >> 6) & 63) * 60 + (hms & 63),
            microseconds=(m & mask) * unit,
        )
        return -td if n < 0 else td

    return decode


def time_value(v: int) -> timedelta:
    """Old TIME: signed 3-byte little-endian ``±(HH*10000 + MM*100 + SS)``."""
    m = -v if v < 0 else v
    td = timedelta(hours=m // 10000, minutes=(m // 100) % 100, seconds=m % 100)
    return -td if v < 0 else td


def datetime_value(v: int) -> datetime | str:
    """Old DATETIME: 8-byte little-endian ``YYYYMMDDhhmmss``.

    Digits out of range cannot come from this format (MariaDB's DATETIME(6) of the same size can, when its
    precision is unknown): they are an error, never a value.
    """
    d, t = divmod(v, 1000000)
    y, mo, dd = d // 10000, (d // 100) % 100, d % 100
    h, mi, s = t // 10000, (t // 100) % 100, t % 100
    try:
        return datetime(y, mo, dd, h, mi, s)
    except ValueError:
        if y > 9999 or mo > 12 or dd > 31 or h > 23 or mi > 59 or s > 59:
            raise ValueError(f"{v} is not an old-format DATETIME") from None
        return datetime_text((y, mo, dd), (h, mi, s), 0, 0)


MARIA_SEC_PART_BYTES = (0, 1, 1, 2, 2, 3, 3)
"""Bytes of the fraction in MariaDB's own TIMESTAMP(n) (``mysql56_temporal_format=OFF``)."""
MARIA_DATETIME_BYTES = (5, 6, 6, 7, 7, 7, 8)
"""Bytes of MariaDB's own DATETIME(n)."""
MARIA_TIME_BYTES = (3, 4, 4, 5, 5, 5, 6)
"""Bytes of MariaDB's own TIME(n)."""
_TIME_MAX_SECONDS = 838 * 3600 + 59 * 60 + 59


def _unpack_time(packed: int) -> tuple[int, int, int, int, int, int, int]:
    """MariaDB's ``pack_time``: ``((((((Y*13+M)*32+D)*24+h)*60+m)*60+s)*10**6+us`` -> its fields."""
    rest, micro = divmod(packed, 1000000)
    rest, sec = divmod(rest, 60)
    rest, minute = divmod(rest, 60)
    rest, hour = divmod(rest, 24)
    rest, day = divmod(rest, 32)
    year, month = divmod(rest, 13)
    return year, month, day, hour, minute, sec, micro


def maria_datetime_decoder(fsp: int) -> Callable[[int], datetime | str]:
    """MariaDB's DATETIME(fsp>0): big-endian ``pack_time(value) // 10**(6-fsp)``."""
    scale = 10 ** (6 - fsp)

    def decode(u: int) -> datetime | str:
        y, mo, d, h, mi, s, micro = _unpack_time(u * scale)
        try:
            return datetime(y, mo, d, h, mi, s, micro)
        except ValueError:
            return datetime_text((y, mo, d), (h, mi, s), micro, fsp)

    return decode


def maria_time_decoder(fsp: int) -> Callable[[int], timedelta]:
    """MariaDB's TIME(fsp>0): big-endian ``pack_time(value) // 10**(6-fsp)`` plus a zero point."""
    scale = 10 ** (6 - fsp)
    zero = (_TIME_MAX_SECONDS + 1) * 1000000 // scale

    def decode(u: int) -> timedelta:
        n = (u - zero) * scale
        m = -n if n < 0 else n
        seconds, micro = divmod(m, 1000000)
        td = timedelta(seconds=seconds, microseconds=micro)
        return -td if n < 0 else td

    return decode


def maria_timestamp_decoder(fsp: int) -> Callable[[bytes], datetime | str]:
    """MariaDB's TIMESTAMP(fsp>0): 4 big-endian bytes of seconds, then ``usec // 10**(6-fsp)`` big-endian."""
    scale = 10 ** (6 - fsp)
    zero = zero_timestamp_text(fsp)

    def decode(b: bytes) -> datetime | str:
        seconds = int.from_bytes(b[:4], "big")
        micro = int.from_bytes(b[4:], "big") * scale
        return _utc(seconds, micro) if seconds or micro else zero

    return decode


def set_value(members: tuple[str, ...], bits: int) -> str:
    """SET: members whose bit is set, joined by ``,``; a bit beyond the members is an error."""
    if bits >> len(members):
        raise ValueError(f"SET value {bits:#x} has bits beyond its {len(members)} members")
    return ",".join(m for i, m in enumerate(members) if bits >> i & 1)


def enum_value(members: tuple[str, ...], index: int) -> str:
    """ENUM: member ``index`` (1-based); 0 is the empty string of an invalid insert."""
    if index == 0:
        return ""
    if index > len(members):
        raise ValueError(f"ENUM index {index} beyond its {len(members)} members")
    return members[index - 1]


_ZLIB_METHOD = 8
"""MariaDB's column compression methods (header bits 4-7); 0 is "stored as is", 8 zlib, the others unused."""


def maria_uncompress(stored: bytes) -> bytes:
    """The value of a MariaDB ``COMPRESSED`` column from its stored bytes.

    A non-empty value starts with a header byte: bits 4-7 the compression method (0: the data follows
    uncompressed; 8: zlib), bit 3 set for a raw deflate stream (else zlib-wrapped), bits 0-2 the size of
    the big-endian original length that follows. The empty value is stored as nothing at all.
    """
    if not stored:
        return b""
    head = stored[0]
    method = head >> 4
    if method == 0:
        return stored[1:]
    if method != _ZLIB_METHOD:
        raise ValueError(f"compressed column value: unknown compression method {method} (header 0x{head:02x})")
    size_len = head & 0x07
    if len(stored) < 1 + size_len:
        raise ValueError(f"compressed column value of {len(stored)} bytes is shorter than its header")
    size = int.from_bytes(stored[1 : 1 + size_len], "big")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS if head & 0x08 else zlib.MAX_WBITS)
    try:
        data = inflater.decompress(stored[1 + size_len :], size + 1)
    except zlib.error as exc:
        raise ValueError(f"compressed column value cannot be inflated: {exc}") from None
    if len(data) != size or not inflater.eof:
        raise ValueError(f"compressed column value inflates to {len(data)} bytes, its header says {size}")
    return data
