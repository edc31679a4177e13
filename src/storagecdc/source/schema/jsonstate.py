"""JSON forms of ``TableInfo`` and ``ColumnInfo`` for the tracker's resume record (stable key order)."""

from __future__ import annotations

from typing import Any

from storagecdc.errors import SchemaError
from storagecdc.model import ColumnInfo, TableInfo, TableName

_COLUMN_DEFAULTS = ColumnInfo(name="", type_name="")
_COLUMN_FIELDS = tuple(ColumnInfo.__slots__)


def column_to_json(col: ColumnInfo) -> dict[str, Any]:
    """Fields that differ from ColumnInfo's defaults (name and type always)."""
    out: dict[str, Any] = {}
    for field in _COLUMN_FIELDS:
        value = getattr(col, field)
        if field in ("name", "type_name") or value != getattr(_COLUMN_DEFAULTS, field):
            out[field] = list(value) if isinstance(value, tuple) else value
    return out


def column_from_json(data: dict[str, Any]) -> ColumnInfo:
    unknown = set(data) - set(_COLUMN_FIELDS)
    if unknown:
        raise SchemaError(f"schema state: unknown column fields {sorted(unknown)}")
    values = dict(data)
    if "elems" in values:
        values["elems"] = tuple(values["elems"])
    return ColumnInfo(**values)


def table_to_json(info: TableInfo) -> dict[str, Any]:
    return {
        "schema": info.name.schema,
        "table": info.name.table,
        "version": info.version,
        "table_id": info.table_id,
        "partition_ids": list(info.partition_ids),
        "columns": [column_to_json(c) for c in info.columns],
    }


def table_from_json(data: dict[str, Any]) -> TableInfo:
    try:
        return TableInfo(
            name=TableName(data["schema"], data["table"]),
            columns=tuple(column_from_json(c) for c in data["columns"]),
            version=int(data["version"]),
            table_id=data.get("table_id"),
            partition_ids=tuple(data.get("partition_ids", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"schema state: bad table record: {exc}") from exc
