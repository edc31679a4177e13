"""QUERY event bodies: post-header, status variables, schema and statement text.

Post-header (v4, 13 bytes): thread_id u32, exec_time u32, schema length u8, error_code u16, status-vars
length u16 (absent in v1/v3, whose post-header is 11 bytes). Then the status variables, the schema name
and a NUL, and the statement (to the end of the body; MariaDB's compressed QUERY compresses this part).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from storagecdc.source.binlog.body import U16, U64, take, uint_le

_POST = struct.Struct("<IIBH").unpack_from
_CHARSET = struct.Struct("<HHH").unpack_from

Q_FLAGS2 = 0
Q_SQL_MODE = 1
Q_CATALOG = 2
Q_AUTO_INCREMENT = 3
Q_CHARSET = 4
Q_TIME_ZONE = 5
Q_CATALOG_NZ = 6
Q_LC_TIME_NAMES = 7
Q_CHARSET_DATABASE = 8
Q_TABLE_MAP_FOR_UPDATE = 9
Q_MASTER_DATA_WRITTEN = 10
Q_INVOKER = 11
Q_UPDATED_DB_NAMES = 12
Q_MICROSECONDS = 13
Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP = 16
Q_DDL_LOGGED_WITH_XID = 17
Q_DEFAULT_COLLATION_FOR_UTF8MB4 = 18
Q_SQL_REQUIRE_PRIMARY_KEY = 19
Q_DEFAULT_TABLE_ENCRYPTION = 20
Q_HRNOW = 128
Q_XID = 129
Q_GTID_FLAGS3 = 130

_FIXED_SIZES = {
    Q_FLAGS2: 4,
    Q_SQL_MODE: 8,
    Q_AUTO_INCREMENT: 4,
    Q_CHARSET: 6,
    Q_LC_TIME_NAMES: 2,
    Q_CHARSET_DATABASE: 2,
    Q_TABLE_MAP_FOR_UPDATE: 8,
    Q_MASTER_DATA_WRITTEN: 4,
    Q_MICROSECONDS: 3,
    Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP: 1,
    Q_DDL_LOGGED_WITH_XID: 8,
    Q_DEFAULT_COLLATION_FOR_UTF8MB4: 2,
    Q_SQL_REQUIRE_PRIMARY_KEY: 1,
    Q_DEFAULT_TABLE_ENCRYPTION: 1,
    Q_HRNOW: 3,
    Q_XID: 8,
    Q_GTID_FLAGS3: 1,
}
OVER_MAX_DBS_IN_EVENT_MTS = 254


@dataclass(slots=True)
class QueryStatus:
    """The status variables storagecdc keeps from a QUERY event; None where the event has none."""

    flags2: int | None = None
    sql_mode: int | None = None
    charset: tuple[int, int, int] | None = None
    """``(client, connection, server)`` collation ids (Q_CHARSET_CODE)."""
    charset_database: int | None = None
    time_zone: str | None = None
    auto_increment: tuple[int, int] | None = None
    default_collation_for_utf8mb4: int | None = None
    updated_db_names: tuple[str, ...] | None = None
    ddl_xid: int | None = None
    """MySQL 8 atomic DDL: the XID logged with the DDL (Q_DDL_LOGGED_WITH_XID); MariaDB's Q_XID too."""
    explicit_defaults_for_timestamp: bool | None = None


@dataclass(slots=True)
class QueryParts:
    """A QUERY body split up; ``query_start`` is where the statement bytes begin."""

    thread_id: int
    exec_time: int
    error_code: int
    schema: bytes
    query_start: int
    status: QueryStatus = field(default_factory=QueryStatus)


def split_query(body: bytes, post_header_length: int) -> QueryParts:
    """Decode a QUERY body up to the statement text. Raises ValueError/IndexError when malformed."""
    thread_id, exec_time, schema_len, error_code = _POST(body, 0)
    vars_len = U16(body, 11)[0] if post_header_length >= 13 else 0
    vars_start = post_header_length
    vars_end = vars_start + vars_len
    schema = take(body, vars_end, schema_len)
    if take(body, vars_end + schema_len, 1) != b"\0":
        raise ValueError("schema name is not NUL-terminated")
    parts = QueryParts(thread_id, exec_time, error_code, schema, vars_end + schema_len + 1)
    _status_vars(take(body, vars_start, vars_len), parts.status)
    return parts


def _status_vars(data: bytes, status: QueryStatus) -> None:
    pos = 0
    end = len(data)
    while pos < end:
        code = data[pos]
        pos += 1
        size = _FIXED_SIZES.get(code)
        if size is not None:
            value = take(data, pos, size)
            if code == Q_FLAGS2:
                status.flags2 = uint_le(value, 0, 4)
            elif code == Q_SQL_MODE:
                status.sql_mode = U64(value, 0)[0]
            elif code == Q_CHARSET:
                status.charset = _CHARSET(value, 0)
            elif code == Q_CHARSET_DATABASE:
                status.charset_database = U16(value, 0)[0]
            elif code == Q_AUTO_INCREMENT:
                status.auto_increment = (U16(value, 0)[0], U16(value, 2)[0])
            elif code == Q_DEFAULT_COLLATION_FOR_UTF8MB4:
                status.default_collation_for_utf8mb4 = U16(value, 0)[0]
            elif code in (Q_DDL_LOGGED_WITH_XID, Q_XID):
                status.ddl_xid = U64(value, 0)[0]
            elif code == Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP:
                status.explicit_defaults_for_timestamp = bool(value[0])
            pos += size
        elif code in (Q_TIME_ZONE, Q_CATALOG_NZ):
            length = data[pos]
            text = take(data, pos + 1, length)
            if code == Q_TIME_ZONE:
                status.time_zone = text.decode("ascii", "surrogateescape")
            pos += 1 + length
        elif code == Q_CATALOG:
            pos += 1 + data[pos] + 1
        elif code == Q_INVOKER:
            pos += 1 + data[pos]
            pos += 1 + data[pos]
        elif code == Q_UPDATED_DB_NAMES:
            pos = _updated_db_names(data, pos, status)
        else:
            # An unknown status variable has no length: the server's own reader stops here too.
            return
    if pos > end:
        raise ValueError("status variables run past their declared length")


def _updated_db_names(data: bytes, pos: int, status: QueryStatus) -> int:
    count = data[pos]
    pos += 1
    if count == OVER_MAX_DBS_IN_EVENT_MTS:
        return pos
    names = []
    for _ in range(count):
        nul = data.find(b"\0", pos)
        if nul < 0:
            raise ValueError("updated database name is not NUL-terminated")
        names.append(data[pos:nul].decode("utf-8", "surrogateescape"))
        pos = nul + 1
    status.updated_db_names = tuple(names)
    return pos
