"""Character sets and collations: names, ids (TABLE_MAP carries collation ids), inheritance.

Names follow current servers: ``utf8`` is spelled ``utf8mb3`` (as MySQL 8 and MariaDB 10.6+ do).
"""

from __future__ import annotations

from typing import Any

from pymysql.charset import charset_by_id, charset_by_name

from storagecdc.errors import SchemaError
from storagecdc.source.binlog import charsets as binlog_charsets

_MBMAXLEN = {
    "utf8mb4": 4, "utf8mb3": 3, "utf16": 4, "utf16le": 4, "utf32": 4, "ucs2": 2, "gb18030": 4, "ujis": 3,
    "eucjpms": 3, "gbk": 2, "big5": 2, "sjis": 2, "cp932": 2, "euckr": 2, "gb2312": 2,
}
_DEFAULT_COLLATIONS = {"gb18030": "gb18030_chinese_ci", "utf16le": "utf16le_general_ci"}
"""Default collations of charsets pymysql's table lacks (the rest are ``<charset>_general_ci``)."""
_MYSQL8_UTF8MB4_IDS = range(255, 324)
"""MySQL 8's utf8mb4_0900 collation ids, which older client tables do not list."""


def normalize_charset(name: str) -> str:
    name = name.lower()
    return "utf8mb3" if name == "utf8" else name


def normalize_collation(name: str) -> str:
    name = name.lower()
    return "utf8mb3" + name[4:] if name.startswith("utf8_") else name


def charset_of_collation(collation: str) -> str:
    """``utf8mb4_unicode_ci`` -> ``utf8mb4``; ``binary`` -> ``binary``."""
    return normalize_charset(collation.split("_", 1)[0])


def default_collation(charset: str) -> str:
    """The charset's default collation (MariaDB's and MySQL 5.7's defaults)."""
    if charset == "binary":
        return "binary"
    found: Any = charset_by_name(charset)  # None when unknown; the stubs omit Charset's attributes
    if found is None:
        if charset not in binlog_charsets.CHARSET_CODECS:
            raise SchemaError(f"unknown character set {charset!r}")
        return _DEFAULT_COLLATIONS.get(charset, f"{charset}_general_ci")
    return normalize_collation(found.collation)


def max_bytes_per_char(charset: str) -> int:
    return _MBMAXLEN.get(charset, 1)


def collation_by_id(collation_id: int) -> tuple[str, str | None]:
    """(charset, collation) of a collation id from TABLE_MAP metadata; SchemaError if unknown."""
    try:
        cs: Any = charset_by_id(collation_id)
    except KeyError:
        if collation_id in _MYSQL8_UTF8MB4_IDS:
            return "utf8mb4", None
        name = binlog_charsets.charset_of_collation(collation_id)
        if name is None:
            raise SchemaError(f"unknown collation id {collation_id}") from None
        return normalize_charset(name), None
    return normalize_charset(cs.name), normalize_collation(cs.collation)


def resolve(charset: str | None, collation: str | None, inherited: tuple[str, str]) -> tuple[str, str]:
    """A concrete (charset, collation) from what was declared, else what is inherited.

    A declared collation decides the charset; a declared charset without collation takes the inherited
    collation when it is the same charset, else the charset's default collation.
    """
    if collation is not None:
        collation = normalize_collation(collation)
        return (normalize_charset(charset) if charset else charset_of_collation(collation)), collation
    if charset is not None:
        charset = normalize_charset(charset)
        if charset == inherited[0]:
            return inherited
        return charset, default_collation(charset)
    return inherited
