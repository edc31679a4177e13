"""Binlog event type codes (MySQL ``Log_event_type`` and MariaDB's additions) and header flags."""

from __future__ import annotations

UNKNOWN = 0
START_V3 = 1
QUERY = 2
STOP = 3
ROTATE = 4
INTVAR = 5
LOAD = 6
SLAVE = 7
CREATE_FILE = 8
APPEND_BLOCK = 9
EXEC_LOAD = 10
DELETE_FILE = 11
NEW_LOAD = 12
RAND = 13
USER_VAR = 14
FORMAT_DESCRIPTION = 15
XID = 16
BEGIN_LOAD_QUERY = 17
EXECUTE_LOAD_QUERY = 18
TABLE_MAP = 19
WRITE_ROWS_V0 = 20
UPDATE_ROWS_V0 = 21
DELETE_ROWS_V0 = 22
WRITE_ROWS_V1 = 23
UPDATE_ROWS_V1 = 24
DELETE_ROWS_V1 = 25
INCIDENT = 26
HEARTBEAT = 27
IGNORABLE = 28
ROWS_QUERY = 29
WRITE_ROWS_V2 = 30
UPDATE_ROWS_V2 = 31
DELETE_ROWS_V2 = 32
GTID = 33
ANONYMOUS_GTID = 34
PREVIOUS_GTIDS = 35
TRANSACTION_CONTEXT = 36
VIEW_CHANGE = 37
XA_PREPARE = 38
PARTIAL_UPDATE_ROWS = 39
TRANSACTION_PAYLOAD = 40
HEARTBEAT_V2 = 41
GTID_TAGGED = 42

MARIA_ANNOTATE_ROWS = 160
MARIA_BINLOG_CHECKPOINT = 161
MARIA_GTID = 162
MARIA_GTID_LIST = 163
MARIA_START_ENCRYPTION = 164
MARIA_QUERY_COMPRESSED = 165
MARIA_WRITE_ROWS_COMPRESSED_V1 = 166
MARIA_UPDATE_ROWS_COMPRESSED_V1 = 167
MARIA_DELETE_ROWS_COMPRESSED_V1 = 168
MARIA_WRITE_ROWS_COMPRESSED = 169
MARIA_UPDATE_ROWS_COMPRESSED = 170
MARIA_DELETE_ROWS_COMPRESSED = 171

LOG_EVENT_BINLOG_IN_USE_F = 0x1
"""FORMAT_DESCRIPTION header flag: the file was not closed cleanly (its CRC is computed without it)."""
LOG_EVENT_IGNORABLE_F = 0x80
"""Header flag: a reader that does not know the event type may skip it."""

NAMES: dict[int, str] = {
    code: name
    for name, code in globals().items()
    if name.isupper() and isinstance(code, int) and not name.startswith("LOG_EVENT_")
}
"""Event type code -> constant name, for messages."""


def type_name(code: int) -> str:
    """The event type's name for messages (``UNKNOWN_TYPE_<code>`` when not known)."""
    return NAMES.get(code, f"UNKNOWN_TYPE_{code}")
