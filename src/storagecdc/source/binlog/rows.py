"""Rows events' headers (WRITE/UPDATE/DELETE_ROWS v0/v1/v2, PARTIAL_UPDATE_ROWS, MariaDB compressed).

Post-header: table id (6 bytes; 4 when the post-header is 6), flags u16, and for v2 (post-header 10) the
extra-data length u16 (counting itself) followed by extra-data fields (type u8: 0 NDB info with its own
length byte, 1 partition info: partition id u16, plus the source partition id u16 for updates). Then the
packed column count, the columns-present bitmap, a second bitmap for updates, and the row images.
"""

from __future__ import annotations

from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.body import U16, take, uint_le
from storagecdc.source.binlog.events import RowsKind

EXTRA_NDB_INFO = 0
EXTRA_PARTITION_INFO = 1

KINDS: dict[int, RowsKind] = {
    et.WRITE_ROWS_V0: "insert",
    et.UPDATE_ROWS_V0: "update",
    et.DELETE_ROWS_V0: "delete",
    et.WRITE_ROWS_V1: "insert",
    et.UPDATE_ROWS_V1: "update",
    et.DELETE_ROWS_V1: "delete",
    et.WRITE_ROWS_V2: "insert",
    et.UPDATE_ROWS_V2: "update",
    et.DELETE_ROWS_V2: "delete",
    et.PARTIAL_UPDATE_ROWS: "partial_update",
    et.MARIA_WRITE_ROWS_COMPRESSED_V1: "insert",
    et.MARIA_UPDATE_ROWS_COMPRESSED_V1: "update",
    et.MARIA_DELETE_ROWS_COMPRESSED_V1: "delete",
    et.MARIA_WRITE_ROWS_COMPRESSED: "insert",
    et.MARIA_UPDATE_ROWS_COMPRESSED: "update",
    et.MARIA_DELETE_ROWS_COMPRESSED: "delete",
}


class RowsHeader:
    """The decoded header of a rows event; ``rows_start`` is where the row images begin in the body."""

    __slots__ = (
        "column_count",
        "flags",
        "partition_id",
        "present",
        "present_after",
        "rows_start",
        "source_partition_id",
        "table_id",
    )

    def __init__(self, body: bytes, post_header_length: int, two_images: bool) -> None:
        if post_header_length == 6:
            self.table_id = uint_le(body, 0, 4)
            self.flags = U16(body, 4)[0]
        else:
            self.table_id = uint_le(body, 0, 6)
            self.flags = U16(body, 6)[0]
        self.partition_id: int | None = None
        self.source_partition_id: int | None = None
        pos = post_header_length
        if post_header_length == 10:
            extra_len = U16(body, 8)[0]
            if extra_len < 2:
                raise ValueError(f"rows event extra-data length {extra_len} is less than 2")
            self._extra_data(take(body, 10, extra_len - 2), two_images)
            pos = 8 + extra_len
        first = body[pos]
        if first < 251:
            count = first
            pos += 1
        elif first == 252:
            count = U16(body, pos + 1)[0]
            pos += 3
        else:
            count = uint_le(body, pos + 1, 3 if first == 253 else 8)
            pos += 4 if first == 253 else 9
        if count > (len(body) - pos) * 8:
            raise ValueError(f"column count {count} does not fit the rows event body")
        self.column_count = count
        width = (count + 7) >> 3
        mask = (1 << count) - 1  # servers set the padding bits of the last byte
        self.present = int.from_bytes(take(body, pos, width), "little") & mask
        pos += width
        self.present_after: int | None = None
        if two_images:
            self.present_after = int.from_bytes(take(body, pos, width), "little") & mask
            pos += width
        self.rows_start = pos

    def _extra_data(self, extra: bytes, two_images: bool) -> None:
        pos = 0
        while pos < len(extra):
            kind = extra[pos]
            if kind == EXTRA_NDB_INFO:
                length = extra[pos + 1]
                if length < 2:
                    raise ValueError(f"NDB extra row info of length {length}")
                pos += 1 + length
            elif kind == EXTRA_PARTITION_INFO:
                self.partition_id = U16(extra, pos + 1)[0]
                pos += 3
                if two_images:
                    self.source_partition_id = U16(extra, pos)[0]
                    pos += 2
            else:
                raise ValueError(f"unknown rows-event extra-data type {kind}")
        if pos != len(extra):
            raise ValueError("rows-event extra data runs past its length")
