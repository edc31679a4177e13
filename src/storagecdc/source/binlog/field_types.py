"""MySQL binlog column type codes (``enum_field_types``), as TABLE_MAP events carry them."""

from __future__ import annotations

DECIMAL = 0
TINY = 1
SHORT = 2
LONG = 3
FLOAT = 4
DOUBLE = 5
NULL = 6
TIMESTAMP = 7
LONGLONG = 8
INT24 = 9
DATE = 10
TIME = 11
DATETIME = 12
YEAR = 13
NEWDATE = 14
VARCHAR = 15
BIT = 16
TIMESTAMP2 = 17
DATETIME2 = 18
TIME2 = 19
TYPED_ARRAY = 20
BLOB_COMPRESSED = 140
"""MariaDB's ``BLOB``/``TEXT ... COMPRESSED`` (metadata and row image as BLOB; the value is compressed)."""
VARCHAR_COMPRESSED = 141
"""MariaDB's ``VARCHAR``/``VARBINARY ... COMPRESSED`` (metadata and row image as VARCHAR; compressed value)."""
VECTOR = 242
INVALID = 243
BOOL = 244
JSON = 245
NEWDECIMAL = 246
ENUM = 247
SET = 248
TINY_BLOB = 249
MEDIUM_BLOB = 250
LONG_BLOB = 251
BLOB = 252
VAR_STRING = 253
STRING = 254
GEOMETRY = 255

NUMERIC = frozenset({DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, LONGLONG, INT24, YEAR, NEWDECIMAL})
"""Types that TABLE_MAP's SIGNEDNESS metadata covers (YEAR excluded by MySQL; kept here for lookup)."""

STRING_LIKE = frozenset(
    {VARCHAR, VAR_STRING, STRING, BLOB, TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, ENUM, SET, BLOB_COMPRESSED,
     VARCHAR_COMPRESSED}
)
"""Types whose values have a character set (binary for BLOB/BINARY)."""
