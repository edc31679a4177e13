"""TABLE_MAP decoding into ``contract.TableMap``, with every kind of optional metadata.

Body: table id (6 bytes; 4 when the post-header is 6 bytes), flags u16, schema and table names (length
byte, bytes, NUL), packed column count, one type byte per column, packed metadata length and the
per-column metadata, the NULL bitmap, then optional metadata as (type u8, packed length, value) fields
(binlog_row_metadata=MINIMAL/FULL).
"""

from __future__ import annotations

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.body import (
    U16,
    bits_lsb_first,
    bits_msb_first,
    packed_bytes,
    packed_int,
    take,
    uint_le,
)
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.textcodec import decode_text

SIGNEDNESS = 1
DEFAULT_CHARSET = 2
COLUMN_CHARSET = 3
COLUMN_NAME = 4
SET_STR_VALUE = 5
ENUM_STR_VALUE = 6
GEOMETRY_TYPE = 7
SIMPLE_PRIMARY_KEY = 8
PRIMARY_KEY_WITH_PREFIX = 9
ENUM_AND_SET_DEFAULT_CHARSET = 10
ENUM_AND_SET_COLUMN_CHARSET = 11
COLUMN_VISIBILITY = 12

_SIGNEDNESS_TYPES = frozenset(
    {ft.DECIMAL, ft.TINY, ft.SHORT, ft.INT24, ft.LONG, ft.LONGLONG, ft.NEWDECIMAL, ft.FLOAT, ft.DOUBLE}
)
"""Columns MySQL's SIGNEDNESS has a bit for (YEAR has none)."""
_MARIADB_SIGNEDNESS_TYPES = _SIGNEDNESS_TYPES | {ft.YEAR}
"""MariaDB gives YEAR (always unsigned) a SIGNEDNESS bit too."""
_CHARACTER_TYPES = frozenset(
    {ft.STRING, ft.VAR_STRING, ft.VARCHAR, ft.BLOB, ft.TINY_BLOB, ft.MEDIUM_BLOB, ft.LONG_BLOB, ft.VECTOR}
)
"""Columns DEFAULT_CHARSET / COLUMN_CHARSET cover (real types; ENUM and SET have their own fields;
MySQL 9 counts VECTOR, with the binary collation)."""
_MARIADB_CHARACTER_TYPES = _CHARACTER_TYPES | {ft.GEOMETRY, ft.BLOB_COMPRESSED, ft.VARCHAR_COMPRESSED}
"""MariaDB counts GEOMETRY columns (binary collation) and its compressed columns in DEFAULT_CHARSET /
COLUMN_CHARSET too."""
_ENUM_SET = frozenset({ft.ENUM, ft.SET})
_ONE_BYTE_META = frozenset(
    {
        ft.FLOAT,
        ft.DOUBLE,
        ft.BLOB,
        ft.BLOB_COMPRESSED,
        ft.TINY_BLOB,
        ft.MEDIUM_BLOB,
        ft.LONG_BLOB,
        ft.GEOMETRY,
        ft.JSON,
        ft.VECTOR,
        ft.TIMESTAMP2,
        ft.DATETIME2,
        ft.TIME2,
    }
)


def _column_metadata(types: bytes, meta: bytes) -> tuple[list[int], list[int]]:
    """(resolved column types, metadata ints) from the type bytes and the metadata block."""
    resolved: list[int] = []
    metas: list[int] = []
    pos = 0
    for t in types:
        if t in _ONE_BYTE_META:
            resolved.append(t)
            metas.append(meta[pos])
            pos += 1
        elif t in (ft.VARCHAR, ft.VAR_STRING, ft.VARCHAR_COMPRESSED):
            resolved.append(t)
            metas.append(U16(meta, pos)[0])
            pos += 2
        elif t == ft.NEWDECIMAL:
            resolved.append(t)
            metas.append(meta[pos] << 8 | meta[pos + 1])
            pos += 2
        elif t == ft.BIT:
            resolved.append(t)
            metas.append(meta[pos + 1] * 8 + meta[pos])
            pos += 2
        elif t in (ft.STRING, ft.ENUM, ft.SET):
            b0, b1 = meta[pos], meta[pos + 1]
            pos += 2
            if b0 & 0x30 != 0x30:
                # CHAR longer than 255 bytes: two bits of the length hide in the real-type byte.
                resolved.append(b0 | 0x30)
                metas.append(b1 | ((b0 & 0x30) ^ 0x30) << 4)
            else:
                resolved.append(b0 if b0 in (ft.ENUM, ft.SET, ft.STRING) else t)
                metas.append(b1)
        else:
            resolved.append(t)
            metas.append(0)
    if pos != len(meta):
        raise ValueError(f"column metadata is {len(meta)} bytes but the column types need {pos}")
    return resolved, metas


def _charsets(value: bytes, columns: list[int], default_only: bool) -> dict[int, int]:
    """Collation per column position from a DEFAULT_CHARSET-style or COLUMN_CHARSET-style field."""
    result: dict[int, int] = {}
    pos = 0
    if default_only:
        default, pos = packed_int(value, 0)
        for col in columns:
            result[col] = default
        while pos < len(value):
            index, pos = packed_int(value, pos)
            collation, pos = packed_int(value, pos)
            if index >= len(columns):
                raise ValueError(f"charset field names character column {index} of {len(columns)}")
            result[columns[index]] = collation
        return result
    for col in columns:
        result[col], pos = packed_int(value, pos)
    if pos != len(value):
        raise ValueError("COLUMN_CHARSET field has trailing bytes")
    return result


def _str_values(value: bytes, columns: list[int], raw: dict[int, tuple[bytes, ...]]) -> None:
    pos = 0
    for col in columns:
        count, pos = packed_int(value, pos)
        if count > len(value) - pos:
            raise ValueError(f"ENUM/SET member count {count} exceeds the field")
        members = []
        for _ in range(count):
            member, pos = packed_bytes(value, pos)
            members.append(member)
        raw[col] = tuple(members)


class _Optional:
    """The optional metadata fields of one TABLE_MAP, as TableMap wants them."""

    __slots__ = ("collations", "column_names", "elems", "geometry_types", "primary_key", "unsigned", "visible")

    def __init__(self, buf: bytes, pos: int, types: list[int], mariadb: bool) -> None:
        self.unsigned: tuple[bool, ...] | None = None
        self.collations: tuple[int | None, ...] | None = None
        self.column_names: tuple[str, ...] | None = None
        self.elems: tuple[tuple[str, ...] | None, ...] | None = None
        self.geometry_types: tuple[int | None, ...] | None = None
        self.primary_key: tuple[int, ...] | None = None
        self.visible: tuple[bool, ...] | None = None
        if pos < len(buf):
            self._decode(
                buf,
                pos,
                types,
                _MARIADB_SIGNEDNESS_TYPES if mariadb else _SIGNEDNESS_TYPES,
                _MARIADB_CHARACTER_TYPES if mariadb else _CHARACTER_TYPES,
            )

    def _decode(
        self,
        buf: bytes,
        pos: int,
        types: list[int],
        numeric_types: frozenset[int],
        character_types: frozenset[int],
    ) -> None:
        n = len(types)
        character = [i for i, t in enumerate(types) if t in character_types]
        enum_set = [i for i, t in enumerate(types) if t in _ENUM_SET]
        collations: dict[int, int] = {}
        raw_elems: dict[int, tuple[bytes, ...]] = {}
        while pos < len(buf):
            kind = buf[pos]
            value, pos = packed_bytes(buf, pos + 1)
            if kind == SIGNEDNESS:
                numeric = [i for i, t in enumerate(types) if t in numeric_types]
                unsigned = [False] * n
                for col, flag in zip(numeric, bits_msb_first(value, len(numeric)), strict=True):
                    unsigned[col] = flag
                self.unsigned = tuple(unsigned)
            elif kind in (DEFAULT_CHARSET, COLUMN_CHARSET):
                collations.update(_charsets(value, character, kind == DEFAULT_CHARSET))
            elif kind in (ENUM_AND_SET_DEFAULT_CHARSET, ENUM_AND_SET_COLUMN_CHARSET):
                collations.update(_charsets(value, enum_set, kind == ENUM_AND_SET_DEFAULT_CHARSET))
            elif kind == COLUMN_NAME:
                names = []
                p = 0
                while p < len(value):
                    name, p = packed_bytes(value, p)
                    names.append(name.decode("utf-8", "surrogateescape"))
                if len(names) != n:
                    raise ValueError(f"COLUMN_NAME has {len(names)} names for {n} columns")
                self.column_names = tuple(names)
            elif kind == SET_STR_VALUE:
                _str_values(value, [i for i in enum_set if types[i] == ft.SET], raw_elems)
            elif kind == ENUM_STR_VALUE:
                _str_values(value, [i for i in enum_set if types[i] == ft.ENUM], raw_elems)
            elif kind == GEOMETRY_TYPE:
                geometry: list[int | None] = [None] * n
                p = 0
                for col in (i for i, t in enumerate(types) if t == ft.GEOMETRY):
                    geometry[col], p = packed_int(value, p)
                self.geometry_types = tuple(geometry)
            elif kind == SIMPLE_PRIMARY_KEY:
                self.primary_key = _pk(value, n, with_prefix=False)
            elif kind == PRIMARY_KEY_WITH_PREFIX:
                self.primary_key = _pk(value, n, with_prefix=True)
            elif kind == COLUMN_VISIBILITY:
                self.visible = tuple(bits_msb_first(value, n))
            # Other field types carry their length, so they are passed over safely.
        if collations:
            self.collations = tuple(collations.get(i) for i in range(n))
        if raw_elems:
            self.elems = tuple(
                tuple(decode_text(m, collations.get(i)) for m in raw_elems[i]) if i in raw_elems else None
                for i in range(n)
            )


def _pk(value: bytes, n: int, *, with_prefix: bool) -> tuple[int, ...]:
    columns = []
    p = 0
    while p < len(value):
        col, p = packed_int(value, p)
        if with_prefix:
            _prefix, p = packed_int(value, p)
        if col >= n:
            raise ValueError(f"primary key names column {col} of {n}")
        columns.append(col)
    return tuple(columns)


def decode_table_map(body: bytes, post_header_length: int, *, mariadb: bool = False) -> TableMap:
    """Decode a TABLE_MAP body (RawEvent.body). Raises ValueError/IndexError on malformed bodies.

    ``mariadb``: the server is MariaDB, whose SIGNEDNESS metadata has a bit for YEAR columns.
    """
    if post_header_length == 6:
        table_id = uint_le(body, 0, 4)
        flags = U16(body, 4)[0]
    else:
        table_id = uint_le(body, 0, 6)
        flags = U16(body, 6)[0]
    pos = post_header_length
    schema_len = body[pos]
    schema = take(body, pos + 1, schema_len).decode("utf-8", "surrogateescape")
    pos += schema_len + 2
    table_len = body[pos]
    table = take(body, pos + 1, table_len).decode("utf-8", "surrogateescape")
    pos += table_len + 2
    count, pos = packed_int(body, pos)
    type_bytes = take(body, pos, count)
    pos += count
    if pos == len(body):
        # MySQL 5.1 pre-GA servers wrote neither column metadata nor NULL bitmap.
        return TableMap(table_id, schema, table, tuple(type_bytes), (0,) * count, (True,) * count, flags)
    meta, pos = packed_bytes(body, pos)
    null_len = (count + 7) // 8
    nullable = bits_lsb_first(take(body, pos, null_len), count)
    pos += null_len
    types, metas = _column_metadata(type_bytes, meta)
    opt = _Optional(body, pos, types, mariadb)
    return TableMap(
        table_id,
        schema,
        table,
        tuple(types),
        tuple(metas),
        tuple(nullable),
        flags,
        opt.unsigned,
        opt.collations,
        opt.column_names,
        opt.elems,
        opt.geometry_types,
        opt.primary_key,
        opt.visible,
    )
