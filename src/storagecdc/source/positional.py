"""Tables whose column names nobody knows, for inspection only: columns named by position (``@1``, ``@2``).

``storagecdc decode`` shows such rows the way mysqlbinlog does; a changefeed never writes them (it fails
with the SchemaError instead, as output files need real names).
"""

from __future__ import annotations

from dataclasses import replace

from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.schema.tablemap import columns_from_table_map


def positional_table(tm: TableMap, version: int) -> TableInfo:
    """The table of a TABLE_MAP with its columns named ``@1``..``@n`` and typed from the binlog types."""
    named = replace(tm, column_names=tuple(f"@{i + 1}" for i in range(tm.column_count)))
    where = f"table {tm.schema}.{tm.table}"
    columns = columns_from_table_map(named, where)
    if tm.collations is None:  # charset unknown: text or binary cannot be told, so raw bytes, unpadded
        columns = tuple(_unknown_charset(c) for c in columns)
    return TableInfo(TableName(tm.schema, tm.table), columns, version)


def _unknown_charset(column: ColumnInfo) -> ColumnInfo:
    name = _AS_TEXT.get(column.type_name)
    return column if name is None else replace(column, type_name=name, charset=None, collation=None)


_AS_TEXT = {"BINARY": "CHAR", "VARBINARY": "VARCHAR"}
