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
from storagecdc.snapshot.reader import selected_schemas, table_facts

ROW_WAY_SHARE = 0.1
"""Largest share of the estimated rows in tables without a primary key for which reader threads are used."""

_KEYED = ("SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME FROM information_schema.STATISTICS"
          " WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA IN ({})")


def reads_arrow(config: ChangefeedConfig) -> bool:
    """Whether the snapshot reads tables as Arrow record batches (a Parquet sink, no table split into spans)."""
    return config.sink.protocol == "parquet" and not config.split_tables


def use_threads(conn: pymysql.Connection[Any], config: ChangefeedConfig) -> bool:
    """Whether this changefeed's snapshot reads with threads (see the module). information_schema is asked
    about the selected databases only (all of a server's tables took 0.17 s on a near-empty MariaDB)."""
    if not reads_arrow(config):
        return False
    selected = config.table_filter()
    schemas = selected_schemas(conn, selected.match_schema)
    if not schemas:
        return True
    with conn.cursor() as cur:
        cur.execute(_KEYED.format(", ".join(["%s"] * len(schemas))), schemas)
        keyed = {TableName(str(schema), str(table)) for schema, table in cur.fetchall()}
    unkeyed = total = 0
    for name, (rows, _) in table_facts(conn, schemas).items():
        if selected.match(name):
            total += rows
            unkeyed += 0 if name in keyed else rows
    return unkeyed <= ROW_WAY_SHARE * total
