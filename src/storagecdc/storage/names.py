"""Reversible mapping between MySQL identifiers and object-key segments.

MySQL accepts database and table names such as ``a/b``, ``..``, ``.``, the empty string, names with spaces,
quotes, backticks, ``%`` or newlines, and 64 characters of 4-byte UTF-8. A key segment must be none of those
things that break an object store or a filesystem. ``encode_segment`` keeps ordinary names unchanged and
escapes only what is unsafe; ``decode_segment`` reverses it exactly. docs/output-format.md ("Paths and names")
is the normative description; this module implements it:

1. The empty name is the segment ``%``.
2. Otherwise every character is kept or percent-encoded (``%XX`` per UTF-8 byte, upper-case hex):
   kept are ASCII letters and digits, ``_``, ``-``, ``$``, a ``.`` that is neither the first nor the last
   character, and every non-ASCII character except controls, format characters, surrogates and separators
   (Unicode categories ``Cc``, ``Cf``, ``Cs``, ``Zs``, ``Zl``, ``Zp``). Everything else is encoded.
3. A result equal (case-insensitively) to a reserved top-level name (``metadata``, ``_storagecdc``) has its
   first character percent-encoded, so it never collides with the layout's own objects.
4. If the result is longer than 255 UTF-8 bytes (a filesystem's name limit), the segment is instead ``~``
   followed by the unpadded base64url encoding of the name's code points packed as 21-bit big-endian
   groups. Any name of at most 64 characters (MySQL's limit) then fits in 225 bytes.

A segment that contains no ``%`` and does not start with ``~`` decodes to itself, so layouts written by TiCDC
(which uses raw names) read back unchanged. Decoding rejects every form ``encode_segment`` would not produce.
"""

from __future__ import annotations

import base64
import unicodedata

from storagecdc.errors import ConsumerError

MAX_SEGMENT_BYTES = 255
RESERVED_SEGMENTS = frozenset({"metadata", "_storagecdc"})
_EMPTY = "%"
_PACKED = "~"
_CODE_POINT_BITS = 21
_ASCII_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-$")
_HEX = "0123456789ABCDEF"
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
"""Controls, format characters (bidi overrides, zero-width...), surrogates and separators. Unassigned and
private-use code points are kept, so a newer Unicode database does not change existing keys."""


def _char_safe(ch: str) -> bool:
    if ch in _ASCII_SAFE:
        return True
    if ord(ch) < 0x80:
        return False
    return unicodedata.category(ch) not in _UNSAFE_CATEGORIES


def _escape(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def _percent_encode(name: str) -> str:
    last = len(name) - 1
    out = []
    for i, ch in enumerate(name):
        if _char_safe(ch) or (ch == "." and 0 < i < last):
            out.append(ch)
        else:
            out.append(_escape(ch))
    text = "".join(out)
    if text.casefold() in RESERVED_SEGMENTS:
        text = _escape(text[0]) + text[1:]
    return text


def _pack(name: str) -> str:
    acc = 0
    for ch in name:
        acc = (acc << _CODE_POINT_BITS) | ord(ch)
    bits = _CODE_POINT_BITS * len(name)
    nbytes = (bits + 7) // 8
    raw = (acc << (nbytes * 8 - bits)).to_bytes(nbytes, "big")
    return _PACKED + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def encode_segment(name: str) -> str:
    """The key segment for a database or table name (see the module docstring for the rules)."""
    if name == "":
        return _EMPTY
    text = _percent_encode(name)
    if len(text.encode("utf-8")) > MAX_SEGMENT_BYTES:
        return _pack(name)
    return text


def _bad(segment: str, why: str) -> ConsumerError:
    return ConsumerError(f"key segment {segment!r} is not a valid encoded name: {why}")


def _unpack(segment: str) -> str:
    body = segment[1:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise _bad(segment, "bad base64url") from exc
    count = len(raw) * 8 // _CODE_POINT_BITS
    acc = int.from_bytes(raw, "big") >> (len(raw) * 8 - count * _CODE_POINT_BITS)
    chars = []
    for _ in range(count):
        cp = acc & ((1 << _CODE_POINT_BITS) - 1)
        if cp > 0x10FFFF:
            raise _bad(segment, "code point out of range")
        chars.append(chr(cp))
        acc >>= _CODE_POINT_BITS
    return "".join(reversed(chars))


def _percent_decode(segment: str) -> str:
    out = bytearray()
    i = 0
    n = len(segment)
    while i < n:
        ch = segment[i]
        if ch == "%":
            hx = segment[i + 1 : i + 3]
            if len(hx) != 2 or any(c not in _HEX for c in hx):
                raise _bad(segment, "'%' must be followed by two upper-case hex digits")
            out.append(int(hx, 16))
            i += 3
        else:
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
    try:
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise _bad(segment, "escaped bytes are not UTF-8") from exc


def decode_segment(segment: str) -> str:
    """The name a key segment stands for; ``ConsumerError`` for a segment no encoder would write."""
    if segment == _EMPTY:
        return ""
    if "%" not in segment and not segment.startswith(_PACKED):
        if segment in ("", ".", "..") or "/" in segment:
            raise _bad(segment, "not a usable key segment")
        return segment
    name = _unpack(segment) if segment.startswith(_PACKED) else _percent_decode(segment)
    if encode_segment(name) != segment:
        raise _bad(segment, "not in canonical form")
    return name
