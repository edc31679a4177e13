"""Column specs: everything the row decoder needs to know about one column of a row image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storagecdc.model import ColumnInfo
from storagecdc.source.binlog import charsets
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.contract import TableMap

_TEXT_TYPES = frozenset(
    {ft.VARCHAR, ft.VAR_STRING, ft.STRING, ft.BLOB, ft.TINY_BLOB, ft.MEDIUM_BLOB, ft.LONG_BLOB, ft.BLOB_COMPRESSED,
     ft.VARCHAR_COMPRESSED}
)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column as the row decoder sees it.

    ``type_code`` and ``meta`` are TABLE_MAP's (see ``TableMap``'s docstring for ``meta`` per type).
    ``encoding`` is the Python codec of a text column's charset (``charsets``), None for bytes.
    ``elems`` are ENUM/SET members. ``pad_to`` re-pads a BINARY(n) value with 0x00 to n bytes (0: never).
    ``name`` only appears in error messages. For TIME/DATETIME/TIMESTAMP (the old type codes) ``meta`` is
    the fractional precision from the tracked schema: MariaDB's own formats for TIME(n), DATETIME(n) and
    TIMESTAMP(n) (``mysql56_temporal_format=OFF``) log those codes with no metadata.
    """

    type_code: int
    meta: int = 0
    unsigned: bool = False
    encoding: str | None = None
    elems: tuple[str, ...] = ()
    pad_to: int = 0
    name: str = ""


def column_specs(
    table_map: TableMap,
    columns: Sequence[ColumnInfo] | None = None,
    default_encoding: str | None = None,
) -> tuple[ColumnSpec, ...]:
    """Column specs for a TABLE_MAP, its optional metadata first, then the tracked schema ``columns``.

    Signedness, charset and ENUM/SET members come from the TABLE_MAP's metadata when it carries them, else
    from ``columns`` (the schema tracked from DDL). A string column whose charset neither source knows is
    decoded with ``default_encoding`` (bytes when None). Raises ``ValueError`` for a charset without a codec.
    """
    n = table_map.column_count
    if columns is not None and len(columns) != n:
        raise ValueError(
            f"table {table_map.schema}.{table_map.table} has {n} columns in TABLE_MAP but {len(columns)} "
            "in the tracked schema"
        )
    specs: list[ColumnSpec] = []
    for i in range(n):
        t, meta = table_map.column_types[i], table_map.column_metas[i]
        info = columns[i] if columns is not None else None
        name = (table_map.column_names[i] if table_map.column_names else None) or (info.name if info else "")
        unsigned = table_map.unsigned[i] if table_map.unsigned is not None else bool(info and info.unsigned)
        elems_meta = table_map.elems[i] if table_map.elems is not None else None
        elems = elems_meta if elems_meta is not None else (info.elems if info else ())
        encoding: str | None = None
        pad_to = 0
        if t in _TEXT_TYPES:
            charset = _charset(table_map, i, info)
            if charset is None:
                encoding = None if t in _BLOB_TYPES else default_encoding
            else:
                encoding = charsets.codec_of_charset(charset)
            if t == ft.STRING and charset == charsets.BINARY:
                pad_to = meta
        if t in _OLD_TEMPORAL and info is not None and info.scale:
            meta = info.scale  # MariaDB's own TIME/DATETIME/TIMESTAMP(n): the precision the map leaves out
        specs.append(ColumnSpec(t, meta, unsigned, encoding, tuple(elems), pad_to, name))
    return tuple(specs)


_BLOB_TYPES = frozenset({ft.BLOB, ft.TINY_BLOB, ft.MEDIUM_BLOB, ft.LONG_BLOB, ft.BLOB_COMPRESSED})
_OLD_TEMPORAL = frozenset({ft.TIME, ft.DATETIME, ft.TIMESTAMP})
"""Type codes MySQL logs for fsp-0 temporals and MariaDB also for its own fractional formats, which
TABLE_MAP gives no precision for: ``ColumnSpec.meta`` then carries the tracked precision."""


def _charset(table_map: TableMap, i: int, info: ColumnInfo | None) -> str | None:
    if table_map.collations is not None:
        cid = table_map.collations[i]
        if cid is not None:
            name = charsets.charset_of_collation(cid)
            if name is None:
                raise ValueError(f"column {i} of {table_map.schema}.{table_map.table}: unknown collation {cid}")
            return name
    if info is not None:
        if info.charset:
            return info.charset
        if info.is_binary:
            return charsets.BINARY
    return None
