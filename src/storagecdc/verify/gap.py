"""Whether the source's binlog between two positions holds anything the output should have.

The output's resume position can stay behind the server's position for good although nothing is missing:
after an idle binlog rotation (``FLUSH BINARY LOGS``, ``max_binlog_size``) the server's position is past the
new file's header events, and a transaction that touches only tables outside the filter gets no resume
point of its own. ``nothing_selected_between`` reads the events in between with ``SHOW BINLOG EVENTS`` (in
pages, stopping at the first event that matters) and says True only when every one of them is harmless:
file headers, rotations, GTID and XID events, BEGIN/COMMIT, and row events of tables the filter does not
select. Any other event (a DDL, a row event of a selected table, an event type it does not know) makes it
False. It needs the BINLOG MONITOR / REPLICATION CLIENT privilege (MySQL: REPLICATION SLAVE); without it the
answer is False.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pymysql

from storagecdc.model import TableName
from storagecdc.table_filter import TableFilter

log = logging.getLogger(__name__)

Position = tuple[str, int]

PAGE = 1000
_HEADERS = frozenset({
    "Format_desc", "Gtid_list", "Binlog_checkpoint", "Rotate", "Stop", "Previous_gtids", "Gtid",
    "Anonymous_Gtid", "Xid", "Annotate_rows", "Rows_query", "Start_encryption", "Heartbeat",
})
_ROWS = re.compile(r"^(Write|Update|Delete|Partial_update)_rows(_v1|_compressed(_v1)?)?$")
_TABLE_MAP = re.compile(r"\(`?([^`.]*)`?\.`?(.*?)`?\)\s*$")


def _harmless(event_type: str, info: str, table_filter: TableFilter) -> bool:
    if event_type in _HEADERS or _ROWS.match(event_type):
        return True  # row events are judged by the table map before them
    if event_type == "Query":
        return info.strip().upper() in ("BEGIN", "COMMIT")
    if event_type == "Table_map":
        m = _TABLE_MAP.search(info)
        return m is not None and not table_filter.match(TableName(m.group(1), m.group(2)))
    return False


def nothing_selected_between(conn: pymysql.Connection[Any], start: Position, end: Position,
                             table_filter: TableFilter) -> bool:
    """True when the binlog from ``start`` up to ``end`` holds no event that could change a selected table."""
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            files = [str(row[0]) for row in cur.fetchall()]
            if start[0] not in files or end[0] not in files or start > end:
                return False
            for name in files[files.index(start[0]):files.index(end[0]) + 1]:
                pos = start[1] if name == start[0] else 4
                while True:
                    cur.execute("SHOW BINLOG EVENTS IN %s FROM %s LIMIT %s", (name, pos, PAGE))
                    rows = cur.fetchall()
                    for _, at, event_type, _, _, info in rows:
                        if name == end[0] and int(at) >= end[1]:
                            return True
                        if not _harmless(str(event_type), str(info or ""), table_filter):
                            return False
                    if len(rows) < PAGE:
                        break
                    pos = int(rows[-1][4])
    except pymysql.err.Error as exc:
        log.info("cannot read the source's binlog events (%s): the positions must match exactly", exc.args[-1])
        return False
    return True
