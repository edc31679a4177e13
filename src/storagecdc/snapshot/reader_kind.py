"""Which kind of snapshot reader a changefeed uses (``snapshot.workers``): threads or processes.

Reader threads suit the text way (a Parquet sink, keyed tables: little Python per row); a table read the row way
(above all a table without a primary key) is parsed by pymysql in Python, and two such tables are read at once
only by two processes (threads of one process take turns: 2 tables of 200,000 unkeyed rows took 2.15 s in
threads against 1.65 s in processes, docs/performance.md "Snapshot"). The readers take part in the consistent
point, so the choice is made before it, from information_schema: threads when the sink takes Arrow data and
the selected tables without a primary key hold at most ``ROW_WAY_SHARE`` of the estimated rows.
"""

from __future__ import annotations

from typing import Any

import pymysql

from storagecdc.config import ChangefeedConfig
from storagecdc.model import TableName

ROW_WAY_SHARE = 0.1
"""Largest share of the estimated rows in tables without a primary key for which reader threads are used."""

_TABLES = (
    "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_ROWS, EXISTS (SELECT 1 FROM information_schema.STATISTICS s"
    " WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY')"
    " FROM information_schema.TABLES t WHERE t.TABLE_TYPE = 'BASE TABLE'"
)


def reads_arrow(config: ChangefeedConfig) -> bool:
    """Whether the snapshot reads tables as Arrow record batches (a Parquet sink, no table split into spans)."""
    return config.sink.protocol == "parquet" and not config.split_tables


def use_threads(conn: pymysql.Connection[Any], config: ChangefeedConfig) -> bool:
    """Whether this changefeed's snapshot reads with threads (see the module)."""
    if not reads_arrow(config):
        return False
    selected = config.table_filter()
    unkeyed = total = 0
    with conn.cursor() as cur:
        cur.execute(_TABLES)
        for schema, table, rows, keyed in cur.fetchall():
            if selected.match(TableName(str(schema), str(table))):
                total += int(rows or 0)
                unkeyed += 0 if keyed else int(rows or 0)
    return unkeyed <= ROW_WAY_SHARE * total
