"""MySQL/MariaDB character sets: collation id -> charset name -> Python codec.

TABLE_MAP's optional metadata carries a collation id per string column; row values are decoded with the
Python codec of that collation's character set. MySQL's ``latin1`` is Windows-1252 with the five code points
that Windows leaves undefined mapped to the C1 controls; it is registered here as the codec
``mysql_latin1``. Character sets without a Python codec (dec8, hp8, swe7, keybcs2, armscii8, geostd8) have
codec ``None``: callers must refuse them rather than guess.
"""

from __future__ import annotations

import codecs
import encodings.cp1252
from typing import Any

BINARY = "binary"

CHARSET_CODECS: dict[str, str | None] = {
    "big5": "big5",
    "latin2": "iso8859_2",
    "dec8": None,
    "cp850": "cp850",
    "hp8": None,
    "koi8r": "koi8_r",
    "latin1": "mysql_latin1",
    "swe7": None,
    "ascii": "ascii",
    "ujis": "euc_jp",
    "sjis": "shift_jis",
    "cp1251": "cp1251",
    "hebrew": "iso8859_8",
    "tis620": "tis_620",
    "euckr": "euc_kr",
    "latin7": "iso8859_13",
    "koi8u": "koi8_u",
    "gb2312": "gb2312",
    "greek": "iso8859_7",
    "cp1250": "cp1250",
    "gbk": "gbk",
    "cp1257": "cp1257",
    "latin5": "iso8859_9",
    "armscii8": None,
    "utf8mb3": "utf-8",
    "utf8": "utf-8",
    "ucs2": "utf-16-be",
    "cp866": "cp866",
    "keybcs2": None,
    "macce": "mac_latin2",
    "macroman": "mac_roman",
    "cp852": "cp852",
    "utf8mb4": "utf-8",
    "cp1256": "cp1256",
    "utf16": "utf-16-be",
    "utf16le": "utf-16-le",
    "utf32": "utf-32-be",
    "binary": None,
    "geostd8": None,
    "cp932": "cp932",
    "eucjpms": "euc_jp",
    "gb18030": "gb18030",
}
"""Charset name -> Python codec name (None: bytes for ``binary``, unsupported for the others)."""

_IDS: dict[str, tuple[int | range, ...]] = {
    "big5": (1, 84),
    "latin2": (2, 9, 21, 27, 77),
    "dec8": (3, 69),
    "cp850": (4, 80),
    "latin1": (5, 8, 15, 31, 47, 48, 49, 94),
    "hp8": (6, 72),
    "koi8r": (7, 74),
    "swe7": (10, 82),
    "ascii": (11, 65),
    "ujis": (12, 91),
    "sjis": (13, 88),
    "cp1251": (14, 23, 50, 51, 52),
    "hebrew": (16, 71),
    "tis620": (18, 89),
    "euckr": (19, 85),
    "latin7": (20, 41, 42, 79),
    "koi8u": (22, 75),
    "gb2312": (24, 86),
    "greek": (25, 70),
    "cp1250": (26, 34, 44, 66, 99),
    "gbk": (28, 87),
    "cp1257": (29, 58, 59),
    "latin5": (30, 78),
    "armscii8": (32, 64),
    "utf8mb3": (33, 76, 83, range(192, 216), 223, range(576, 608), range(2048, 2304)),
    "ucs2": (35, 90, range(128, 152), 159, range(640, 672), range(2560, 2816)),
    "cp866": (36, 68),
    "keybcs2": (37, 73),
    "macce": (38, 43),
    "macroman": (39, 53),
    "cp852": (40, 81),
    "utf8mb4": (45, 46, range(224, 248), range(255, 324), range(608, 640), range(2304, 2560)),
    "utf16": (54, 55, range(101, 125), range(672, 704), range(2816, 3072)),
    "utf16le": (56, 62),
    "cp1256": (57, 67),
    "utf32": (60, 61, range(160, 184), range(736, 768), range(3072, 3328)),
    "binary": (63,),
    "geostd8": (92, 93),
    "cp932": (95, 96),
    "eucjpms": (97, 98),
    "gb18030": (248, 249, 250),
}


def _build_collations() -> dict[int, str]:
    table: dict[int, str] = {}
    for name, ids in _IDS.items():
        for item in ids:
            for cid in item if isinstance(item, range) else (item,):
                table[cid] = name
    # MariaDB's NOPAD collations are the PAD collation's id + 1024.
    for cid, name in list(table.items()):
        if cid < 1024:
            table.setdefault(cid + 1024, name)
    return table


COLLATION_CHARSETS: dict[int, str] = _build_collations()
"""Collation id -> charset name, for MySQL 5.x-9.x and MariaDB 10.x-11.x."""


def charset_of_collation(collation_id: int) -> str | None:
    """The charset name of a collation id, or None when the id is unknown."""
    return COLLATION_CHARSETS.get(collation_id)


def codec_of_charset(charset: str) -> str | None:
    """The Python codec for a charset name; None for ``binary`` (values are bytes).

    Raises ``ValueError`` for a charset that is unknown or has no Python codec.
    """
    name = charset.lower()
    if name == BINARY:
        return None
    codec = CHARSET_CODECS.get(name)
    if codec is None:
        raise ValueError(f"character set {charset!r} is not supported")
    return codec


def codec_of_collation(collation_id: int) -> tuple[str, str | None]:
    """``(charset name, Python codec)`` of a collation id; codec None for ``binary``.

    Raises ``ValueError`` for an unknown collation id or a charset without a codec.
    """
    name = COLLATION_CHARSETS.get(collation_id)
    if name is None:
        raise ValueError(f"collation id {collation_id} is not known")
    return name, codec_of_charset(name)


def _mysql_latin1_table() -> str:
    table = list(encodings.cp1252.decoding_table)
    for i, ch in enumerate(table):
        if ch == "\ufffe":
            table[i] = chr(i)
    return "".join(table)


_LATIN1_DECODE = _mysql_latin1_table()
_LATIN1_ENCODE = codecs.charmap_build(_LATIN1_DECODE)


def _latin1_decode(data: Any, errors: str = "strict", /) -> tuple[str, int]:
    return codecs.charmap_decode(data, errors, _LATIN1_DECODE)


def _latin1_encode(text: str, errors: str = "strict", /) -> tuple[bytes, int]:
    return codecs.charmap_encode(text, errors, _LATIN1_ENCODE)


def _search(name: str) -> codecs.CodecInfo | None:
    if name in ("mysql_latin1", "mysql-latin1"):
        return codecs.CodecInfo(_latin1_encode, _latin1_decode, name="mysql_latin1")
    return None


codecs.register(_search)
