"""Text of statements and ENUM/SET member names, decoded in the charset of a collation id.

Uses ``charsets.codec_of_collation``; unknown collations, the binary charset and charsets without a Python
codec fall back to utf-8. Bytes invalid in the charset survive as surrogate escapes, so no byte is lost.
"""

from __future__ import annotations

from functools import lru_cache

from storagecdc.source.binlog.charsets import codec_of_collation


@lru_cache(maxsize=512)
def python_codec(collation: int | None) -> str:
    """The Python codec for text in the charset of ``collation`` (utf-8 when unknown, binary or None)."""
    if collation is None:
        return "utf-8"
    try:
        codec = codec_of_collation(collation)[1]
    except ValueError:
        return "utf-8"
    return codec or "utf-8"


def decode_text(raw: bytes, collation: int | None) -> str:
    """``raw`` decoded in the charset of ``collation``; invalid bytes survive as surrogate escapes."""
    return raw.decode(python_codec(collation), "surrogateescape")
