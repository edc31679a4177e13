"""Schema files (``schema_<version>_<crc>.json``), byte-exact with TiCDC's storage sink.

Content is Go ``json.MarshalIndent(v, "", "    ")`` of
``Table, Schema, Version (1), TableVersion, Query, Type, TableColumns, TableColumnsTotal``; each column is
``ColumnId? ColumnName ColumnType ColumnDefault? ColumnPrecision? ColumnScale? ColumnNullable? ColumnIsPk?
ColumnElems?`` (``?`` = omitted when empty). The checksum in the file name is CRC-32 (IEEE) of the indented
JSON of ``Table, Schema, Version: 0, TableColumns (sorted by name, [] when none), TableColumnsTotal``.
The rules for ``ColumnType`` and precision/scale follow TiCDC's ``TableCol.FromTiColumnInfo``; a column length
or scale the source did not know is replaced by TiDB's default for the type (``_DEFAULT_FLEN``).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from storagecdc.errors import ConsumerError
from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.storage import gojson
from storagecdc.storage.paths import build_schema_file_key

SCHEMA_FILE_VERSION = 1

_DEFAULT_FLEN = {
    "TINYINT": 4, "SMALLINT": 6, "MEDIUMINT": 9, "INT": 11, "BIGINT": 20, "BIT": 1, "YEAR": 4,
    "FLOAT": 12, "DOUBLE": 22, "DECIMAL": 10, "CHAR": 1, "BINARY": 1, "VARCHAR": 5, "VARBINARY": 5,
    "VAR_STRING": 5, "TINYBLOB": 255, "TINYTEXT": 255, "BLOB": 65535, "TEXT": 65535,
    "MEDIUMBLOB": 16777215, "MEDIUMTEXT": 16777215, "LONGBLOB": 4294967295, "LONGTEXT": 4294967295,
}
"""TiDB's ``GetDefaultFieldLengthAndDecimal`` display lengths, by ColumnType."""
_ALIASES = {"INTEGER": "INT", "INT4": "INT", "BOOL": "TINYINT", "BOOLEAN": "TINYINT", "REAL": "DOUBLE",
            "DOUBLE PRECISION": "DOUBLE", "NUMERIC": "DECIMAL", "DEC": "DECIMAL", "FIXED": "DECIMAL",
            "INT1": "TINYINT", "INT2": "SMALLINT", "INT3": "MEDIUMINT", "INT8": "BIGINT", "MIDDLEINT": "MEDIUMINT",
            "FLOAT4": "FLOAT", "FLOAT8": "DOUBLE", "CHARACTER": "CHAR", "LONG": "MEDIUMTEXT",
            "LONG VARCHAR": "MEDIUMTEXT", "NCHAR": "CHAR", "NVARCHAR": "VARCHAR"}
_TEXT_TO_BLOB = {"TINYTEXT": "TINYBLOB", "TEXT": "BLOB", "MEDIUMTEXT": "MEDIUMBLOB", "LONGTEXT": "LONGBLOB",
                 "CHAR": "BINARY", "VARCHAR": "VARBINARY"}
_BLOB_TO_TEXT = {v: k for k, v in _TEXT_TO_BLOB.items()}
_INTEGERS = frozenset({"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"})
_PRECISION_ONLY = _INTEGERS | {"BIT", "YEAR", "VAR_STRING"} | set(_TEXT_TO_BLOB) | set(_BLOB_TO_TEXT)
_TEMPORAL = frozenset({"TIME", "DATETIME", "TIMESTAMP"})
_FLOATS = frozenset({"FLOAT", "DOUBLE"})
_BINARY_TYPES = frozenset(_BLOB_TO_TEXT)
_TEXT_TYPES = frozenset(_TEXT_TO_BLOB) | {"ENUM", "SET", "VAR_STRING"}


@dataclass(frozen=True, slots=True)
class SchemaColumn:
    """One ``TableColumns`` element, as the file spells it (empty string = key omitted)."""

    name: str
    type: str
    default: str | int | None = None
    precision: str = ""
    scale: str = ""
    nullable: str = ""
    is_pk: str = ""
    elems: tuple[str, ...] = ()
    column_id: str = ""

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if self.column_id:
            obj["ColumnId"] = self.column_id
        obj["ColumnName"] = self.name
        obj["ColumnType"] = self.type
        if self.default is not None:  # Go's omitempty drops only a nil interface, not ""
            obj["ColumnDefault"] = self.default
        for key, value in (("ColumnPrecision", self.precision), ("ColumnScale", self.scale),
                           ("ColumnNullable", self.nullable), ("ColumnIsPk", self.is_pk)):
            if value:
                obj[key] = value
        if self.elems:
            obj["ColumnElems"] = list(self.elems)
        return obj


def column_type_name(col: ColumnInfo) -> str:
    """``ColumnType`` for a column: upper-case TiDB type name, BLOB/TEXT and BINARY/CHAR by charset."""
    base = col.type_name.strip().upper()
    base = _ALIASES.get(base, base)
    if col.charset is not None:
        swap = _TEXT_TO_BLOB if col.charset.lower() == "binary" else _BLOB_TO_TEXT
        base = swap.get(base, base)
    return base + " UNSIGNED" if col.unsigned else base


def column_from_info(col: ColumnInfo, column_id: int | None = None) -> SchemaColumn:
    """The schema-file column for a ``ColumnInfo`` (TiCDC ``FromTiColumnInfo``)."""
    type_name = column_type_name(col)
    base = type_name.removesuffix(" UNSIGNED")
    flen = col.length if col.length is not None and col.length >= 0 else _DEFAULT_FLEN.get(base)
    decimal = col.scale if col.scale is not None and col.scale >= 0 else None
    precision = scale = ""
    elems: tuple[str, ...] = ()
    if base in _TEMPORAL:
        scale = str(decimal) if decimal else ""
    elif base in _FLOATS:
        precision = str(flen)
        scale = str(decimal) if decimal else ""
    elif base == "DECIMAL":
        precision = str(flen)
        scale = str(decimal or 0)
    elif base in _PRECISION_ONLY:
        precision = str(flen)
    elif base in ("ENUM", "SET"):
        elems = col.elems
    return SchemaColumn(
        name=col.name,
        type=type_name,
        default=col.default if col.has_default else None,
        precision=precision,
        scale=scale,
        nullable="false" if not col.nullable else "",
        is_pk="true" if col.is_pk else "",
        elems=elems,
        column_id=str(column_id) if column_id is not None else "",
    )


def column_to_info(col: SchemaColumn) -> ColumnInfo:
    """A ``ColumnInfo`` back from a schema-file column (real name, type, length, scale, flags)."""
    unsigned = col.type.endswith(" UNSIGNED")
    base = col.type.removesuffix(" UNSIGNED")
    if base in _BINARY_TYPES:
        charset: str | None = "binary"
    elif base in _TEXT_TYPES:
        charset = "utf8mb4"
    else:
        charset = None
    scale = int(col.scale) if col.scale else (0 if base in _TEMPORAL or base == "DECIMAL" else None)
    return ColumnInfo(
        name=col.name,
        type_name=base,
        unsigned=unsigned,
        length=int(col.precision) if col.precision else None,
        scale=scale,
        charset=charset,
        nullable=col.nullable != "false",
        default=None if col.default is None else str(col.default),
        has_default=col.default is not None,
        is_pk=col.is_pk == "true",
        elems=col.elems,
    )


@dataclass(frozen=True, slots=True)
class SchemaFile:
    """One schema file. ``columns`` is None for a database-level file (``"TableColumns": null``)."""

    schema: str
    table: str
    table_version: int
    query: str = ""
    ddl_type: int = 0
    columns: tuple[SchemaColumn, ...] | None = None
    version: int = SCHEMA_FILE_VERSION

    @property
    def total_columns(self) -> int:
        return len(self.columns or ())

    @property
    def is_table_schema(self) -> bool:
        return self.total_columns != 0

    def to_json(self) -> bytes:
        """The file's bytes."""
        return gojson.marshal_indent({
            "Table": self.table,
            "Schema": self.schema,
            "Version": self.version,
            "TableVersion": self.table_version,
            "Query": self.query,
            "Type": self.ddl_type,
            "TableColumns": None if self.columns is None else [c.to_json_obj() for c in self.columns],
            "TableColumnsTotal": self.total_columns,
        })

    def checksum(self) -> int:
        ordered = sorted(self.columns or (), key=lambda c: c.name)
        return zlib.crc32(gojson.marshal_indent({
            "Table": self.table,
            "Schema": self.schema,
            "Version": 0,
            "TableColumns": [c.to_json_obj() for c in ordered],
            "TableColumnsTotal": self.total_columns,
        }))

    def key(self) -> str:
        """``<schema>/<table>/meta/schema_<ver>_<crc>.json`` (``<schema>/meta/...`` without a table)."""
        return build_schema_file_key(self.schema, self.table, self.table_version, self.checksum())

    def to_table_info(self) -> TableInfo:
        """The table version this file describes (real names), for the consumer."""
        columns = tuple(column_to_info(c) for c in self.columns or ())
        return TableInfo(TableName(self.schema, self.table), columns, self.table_version)


def schema_file_for_table(table: TableInfo, query: str = "", ddl_type: int = 0, *,
                          output_column_id: bool = False) -> SchemaFile:
    """The schema file of a table version (``TableVersion`` = ``table.version``)."""
    columns = tuple(column_from_info(c, i + 1 if output_column_id else None)
                    for i, c in enumerate(table.columns))
    return SchemaFile(table.name.schema, table.name.table, table.version, query, ddl_type, columns)


def schema_file_for_database(schema: str, version: int, query: str, ddl_type: int) -> SchemaFile:
    """A database-level schema file (CREATE/DROP DATABASE...)."""
    return SchemaFile(schema, "", version, query, ddl_type, None)


def _text(obj: dict[str, Any], field: str, key: str) -> str:
    value = obj.get(field, "")
    if not isinstance(value, str):
        raise ConsumerError(f"schema file {key!r}: {field} must be a string")
    return value


def _column(obj: Any, key: str) -> SchemaColumn:
    if not isinstance(obj, dict) or not isinstance(obj.get("ColumnName"), str):
        raise ConsumerError(f"schema file {key!r}: a TableColumns element has no ColumnName")
    default = obj.get("ColumnDefault")
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    elif default is not None and not isinstance(default, str | int):
        default = json.dumps(default)
    elems = obj.get("ColumnElems") or []
    if not isinstance(elems, list) or not all(isinstance(e, str) for e in elems):
        raise ConsumerError(f"schema file {key!r}: ColumnElems must be a list of strings")
    return SchemaColumn(
        name=obj["ColumnName"],
        type=_text(obj, "ColumnType", key),
        default=default,
        precision=_text(obj, "ColumnPrecision", key),
        scale=_text(obj, "ColumnScale", key),
        nullable=_text(obj, "ColumnNullable", key),
        is_pk=_text(obj, "ColumnIsPk", key),
        elems=tuple(elems),
        column_id=_text(obj, "ColumnId", key),
    )


def parse_schema_file(data: bytes, key: str = "") -> SchemaFile:
    """Parse a schema file's bytes; ``ConsumerError`` naming ``key`` when they are not one."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConsumerError(f"schema file {key!r} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ConsumerError(f"schema file {key!r} is not a JSON object")
    raw_columns = obj.get("TableColumns")
    if raw_columns is not None and not isinstance(raw_columns, list):
        raise ConsumerError(f"schema file {key!r}: TableColumns must be a list or null")
    try:
        table_version = int(obj.get("TableVersion", 0))
        ddl_type = int(obj.get("Type", 0))
        version = int(obj.get("Version", SCHEMA_FILE_VERSION))
    except (TypeError, ValueError) as exc:
        raise ConsumerError(f"schema file {key!r}: a numeric field is not a number") from exc
    columns = None if raw_columns is None else tuple(_column(c, key) for c in raw_columns)
    total = obj.get("TableColumnsTotal", len(columns or ()))
    if total != len(columns or ()):
        raise ConsumerError(f"schema file {key!r}: TableColumnsTotal {total} does not match "
                            f"{len(columns or ())} columns")
    return SchemaFile(_text(obj, "Schema", key), _text(obj, "Table", key), table_version,
                      _text(obj, "Query", key), ddl_type, columns, version)
