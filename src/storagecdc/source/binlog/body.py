"""Bounds-checked readers for event bodies: lengths inside bodies are checked, never trusted.

Readers raise ``ValueError`` (or ``IndexError``/``struct.error`` from the underlying access); the decoder
turns these into one ``SourceError`` naming the file and offset, at one boundary.
"""

from __future__ import annotations

import struct

U16 = struct.Struct("<H").unpack_from
U32 = struct.Struct("<I").unpack_from
U64 = struct.Struct("<Q").unpack_from
U16_U16 = struct.Struct("<HH").unpack_from


def take(buf: bytes, pos: int, n: int) -> bytes:
    """``buf[pos:pos+n]``, or ValueError when the body has fewer bytes."""
    end = pos + n
    if n < 0 or end > len(buf):
        raise ValueError(f"length {n} at body offset {pos} runs past the end of the body ({len(buf)} bytes)")
    return buf[pos:end]


def uint_le(buf: bytes, pos: int, n: int) -> int:
    """An n-byte little-endian unsigned int at ``pos`` (bounds-checked)."""
    return int.from_bytes(take(buf, pos, n), "little")


def packed_int(buf: bytes, pos: int) -> tuple[int, int]:
    """A length-encoded ("packed") integer at ``pos``: (value, position after it)."""
    first = buf[pos]
    if first < 251:
        return first, pos + 1
    if first == 252:
        return uint_le(buf, pos + 1, 2), pos + 3
    if first == 253:
        return uint_le(buf, pos + 1, 3), pos + 4
    if first == 254:
        return uint_le(buf, pos + 1, 8), pos + 9
    raise ValueError(f"invalid packed integer prefix {first:#x} at body offset {pos}")


def packed_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    """A packed length followed by that many bytes: (bytes, position after them)."""
    n, pos = packed_int(buf, pos)
    return take(buf, pos, n), pos + n


def varlen_uint(buf: bytes, pos: int) -> tuple[int, int]:
    """An unsigned integer in MySQL's serialization-library format: the count of trailing one bits of the
    first byte, plus one, is the byte count (9 for 0xff); the value is the rest of those bytes."""
    first = buf[pos]
    n = 1
    while n < 9 and first >> (n - 1) & 1:
        n += 1
    if n == 9:
        return uint_le(buf, pos + 1, 8), pos + 9
    return uint_le(buf, pos, n) >> n, pos + n


def varlen_int(buf: bytes, pos: int) -> tuple[int, int]:
    """A signed (zig-zag) integer in MySQL's serialization-library format."""
    value, pos = varlen_uint(buf, pos)
    return (-(value >> 1) - 1 if value & 1 else value >> 1), pos


def bits_msb_first(data: bytes, count: int) -> list[bool]:
    """The first ``count`` bits of ``data``, most significant bit of each byte first."""
    if count > len(data) * 8:
        raise ValueError(f"bitmap of {len(data)} bytes cannot hold {count} bits")
    return [bool(data[i >> 3] & (0x80 >> (i & 7))) for i in range(count)]


def bits_lsb_first(data: bytes, count: int) -> list[bool]:
    """The first ``count`` bits of ``data``, least significant bit of each byte first."""
    if count > len(data) * 8:
        raise ValueError(f"bitmap of {len(data)} bytes cannot hold {count} bits")
    return [bool(data[i >> 3] & (1 << (i & 7))) for i in range(count)]
