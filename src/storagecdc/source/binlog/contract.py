"""The data that crosses the binlog package's seams: raw events and table maps.

``framing`` produces ``RawEvent`` (from files, or from the live client's packets); ``events`` decodes them,
producing ``TableMap`` among others; ``rowcodec`` decodes row images with column specs built from a
``TableMap`` and the tracked schema.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RawEvent:
    """One binlog event as framed: the common header's fields and the body.

    ``offset`` is where the event starts in ``file``; ``log_pos`` is the header's next-event position.
    ``body`` excludes the common header and the checksum (which framing has verified).
    """

    file: str
    offset: int
    timestamp: int
    type_code: int
    server_id: int
    size: int
    log_pos: int
    flags: int
    body: bytes


@dataclass(frozen=True, slots=True)
class TableMap:
    """A decoded TABLE_MAP event.

    ``column_types`` holds each column's binlog type with MYSQL_TYPE_STRING's real type resolved (ENUM, SET
    or STRING). ``column_metas`` holds each column's metadata as one int:

    - FLOAT/DOUBLE: pack length (4/8); NEWDECIMAL: ``precision << 8 | scale``
    - VARCHAR/VAR_STRING and STRING (CHAR/BINARY): the maximum byte length (STRING's 2-byte quirk undone)
    - ENUM/SET: pack length in bytes; BIT: number of bits
    - BLOB/GEOMETRY/JSON/VECTOR: size of the length prefix (1..4)
    - TIMESTAMP2/DATETIME2/TIME2: fractional-second precision; everything else: 0

    Optional metadata (binlog_row_metadata=MINIMAL/FULL) is None when the event does not carry it.
    ``unsigned`` has one entry per column (False for non-numeric columns); ``collations`` one per column,
    the collation id for string-like columns (ENUM/SET included) and None otherwise; ``elems`` the ENUM/SET
    members of each column (None for other columns); ``primary_key`` the PK column positions.
    """

    table_id: int
    schema: str
    table: str
    column_types: tuple[int, ...]
    column_metas: tuple[int, ...]
    nullable: tuple[bool, ...]
    flags: int = 0
    unsigned: tuple[bool, ...] | None = None
    collations: tuple[int | None, ...] | None = None
    column_names: tuple[str, ...] | None = None
    elems: tuple[tuple[str, ...] | None, ...] | None = None
    geometry_types: tuple[int | None, ...] | None = None
    primary_key: tuple[int, ...] | None = None
    visible: tuple[bool, ...] | None = None

    @property
    def column_count(self) -> int:
        return len(self.column_types)
