"""Columns from a TABLE_MAP event's binlog types and optional metadata (binlog_row_metadata=FULL)."""

from __future__ import annotations

from storagecdc.errors import SchemaError
from storagecdc.model import ColumnInfo
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap

from .charsets import collation_by_id, max_bytes_per_char

_INTS = {
    ft.TINY: ("TINYINT", 4, 3),
    ft.SHORT: ("SMALLINT", 6, 5),
    ft.INT24: ("MEDIUMINT", 9, 8),
    ft.LONG: ("INT", 11, 10),
    ft.LONGLONG: ("BIGINT", 20, 20),
}
_TEMPORAL = {
    ft.TIMESTAMP: "TIMESTAMP", ft.TIMESTAMP2: "TIMESTAMP", ft.DATETIME: "DATETIME", ft.DATETIME2: "DATETIME",
    ft.TIME: "TIME", ft.TIME2: "TIME",
}
_BLOB_PREFIX = {1: "TINY", 2: "", 3: "MEDIUM", 4: "LONG"}
_BLOB_CODES = {ft.TINY_BLOB: 1, ft.BLOB: 2, ft.MEDIUM_BLOB: 3, ft.LONG_BLOB: 4}
_GEOMETRY = ("GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
             "GEOMETRYCOLLECTION")


def columns_from_table_map(tm: TableMap, where: str) -> tuple[ColumnInfo, ...]:
    """Every column of the map; needs column names (FULL metadata). ``where`` names table and position."""
    if tm.column_names is None:
        raise SchemaError(f"columns of {where} are unknown: no tracked schema and the TABLE_MAP has no "
                          "column names (binlog_row_metadata=FULL, or give an initial schema)")
    pk = set(tm.primary_key or ())
    return tuple(_column(tm, i, i in pk, where) for i in range(tm.column_count))


def _column(tm: TableMap, i: int, is_pk: bool, where: str) -> ColumnInfo:
    assert tm.column_names is not None
    code = tm.column_types[i]
    meta = tm.column_metas[i]
    unsigned = bool(tm.unsigned[i]) if tm.unsigned is not None else False
    collation_id = tm.collations[i] if tm.collations is not None else None
    charset: str | None = None
    collation: str | None = None
    if collation_id is not None:
        try:
            charset, collation = collation_by_id(collation_id)
        except SchemaError as exc:
            raise SchemaError(f"{exc} for column {tm.column_names[i]!r} of {where}") from None
    length: int | None = None
    scale: int | None = None
    elems: tuple[str, ...] = ()
    if code in _INTS:
        name, signed_width, unsigned_width = _INTS[code]
        length = unsigned_width if unsigned else signed_width
    elif code in (ft.NEWDECIMAL, ft.DECIMAL):
        name, length, scale = "DECIMAL", meta >> 8, meta & 0xFF
    elif code in (ft.FLOAT, ft.DOUBLE):
        name = "FLOAT" if code == ft.FLOAT else "DOUBLE"
    elif code in _TEMPORAL:
        name, scale = _TEMPORAL[code], meta
    elif code in (ft.DATE, ft.NEWDATE):
        name = "DATE"
    elif code == ft.YEAR:
        name, length = "YEAR", 4
    elif code == ft.BIT:
        name, length = "BIT", meta
    elif code in (ft.VARCHAR, ft.VAR_STRING, ft.STRING, ft.VARCHAR_COMPRESSED):
        binary = charset in (None, "binary")
        fixed = code == ft.STRING
        name = ("BINARY" if fixed else "VARBINARY") if binary else ("CHAR" if fixed else "VARCHAR")
        length = meta if binary else meta // max_bytes_per_char(charset or "")
    elif code in (ft.BLOB, ft.BLOB_COMPRESSED, *_BLOB_CODES):
        size = meta if code in (ft.BLOB, ft.BLOB_COMPRESSED) else _BLOB_CODES[code]
        binary = charset in (None, "binary")
        name = _BLOB_PREFIX.get(size, "LONG") + ("BLOB" if binary else "TEXT")
    elif code in (ft.ENUM, ft.SET):
        name = "ENUM" if code == ft.ENUM else "SET"
        elems = (tm.elems[i] or ()) if tm.elems is not None else ()
    elif code == ft.JSON:
        name = "JSON"
    elif code == ft.GEOMETRY:
        sub = tm.geometry_types[i] if tm.geometry_types is not None else None
        name = _GEOMETRY[sub] if sub is not None and 0 <= sub < len(_GEOMETRY) else "GEOMETRY"
    elif code == ft.VECTOR:
        name = "VECTOR"
    else:
        raise SchemaError(f"column {tm.column_names[i]!r} of {where} has unsupported binlog type {code}")
    if charset == "binary" or name in _GEOMETRY or name == "VECTOR" or name.endswith("BLOB") or (
        name in ("BINARY", "VARBINARY")
    ):
        charset, collation = "binary", "binary"
    invisible = tm.visible is not None and not tm.visible[i]
    return ColumnInfo(
        name=tm.column_names[i], type_name=name, unsigned=unsigned, length=length, scale=scale,
        charset=charset, collation=collation, nullable=tm.nullable[i], is_pk=is_pk, elems=elems,
        invisible=invisible,
    )
