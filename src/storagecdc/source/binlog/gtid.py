"""GTID events: MySQL GTID / ANONYMOUS_GTID / GTID_TAGGED / PREVIOUS_GTIDS and MariaDB GTID / GTID_LIST."""

from __future__ import annotations

import struct
import uuid

from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.body import U32, U64, packed_int, take, uint_le, varlen_int, varlen_uint
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.events import (
    MARIA_FL_COMPLETED_XA,
    MARIA_FL_GROUP_COMMIT_ID,
    MARIA_FL_PREPARED_XA,
    GtidEvent,
    GtidSetEntry,
    MariaGtidEvent,
    MariaGtidListEvent,
    PreviousGtidsEvent,
)

_MARIA_GTID = struct.Struct("<QIB").unpack_from
_MARIA_LIST_ENTRY = struct.Struct("<IIQ").unpack_from
_INTERVAL = struct.Struct("<QQ").unpack_from
_LOGICAL_TIMESTAMP_TYPECODE = 2
_TS_ORIGINAL_FOLLOWS = 1 << 55
_VERSION_ORIGINAL_FOLLOWS = 1 << 31

# Field ids of the tagged GTID event (MySQL serialization library, format version 2).
_F_FLAGS, _F_SID, _F_GNO, _F_TAG, _F_LAST_COMMITTED, _F_SEQUENCE_NUMBER = 0, 1, 2, 3, 4, 5
_F_IMMEDIATE_TS, _F_ORIGINAL_TS, _F_TX_LENGTH, _F_IMMEDIATE_VERSION, _F_ORIGINAL_VERSION = 6, 7, 8, 9, 10
_F_COMMIT_GROUP_TICKET = 11


def _sid(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


def decode_gtid(raw: RawEvent) -> GtidEvent:
    """MySQL GTID (33) and ANONYMOUS_GTID (34)."""
    body = raw.body
    flags = body[0]
    sid = _sid(take(body, 1, 16))
    gno = U64(body, 17)[0]
    anonymous = raw.type_code == et.ANONYMOUS_GTID
    pos = 25
    if pos >= len(body) or body[pos] != _LOGICAL_TIMESTAMP_TYPECODE:
        return GtidEvent(raw.file, raw.offset, raw.log_pos, raw.timestamp, raw.server_id, anonymous, flags, sid, gno)
    last_committed, sequence_number = U64(body, 26)[0], U64(body, 34)[0]
    pos = 42
    immediate_ts = original_ts = tx_length = 0
    immediate_version = original_version = None
    if len(body) - pos >= 7:
        immediate_ts = uint_le(body, pos, 7)
        pos += 7
        if immediate_ts & _TS_ORIGINAL_FOLLOWS:
            immediate_ts &= ~_TS_ORIGINAL_FOLLOWS
            original_ts = uint_le(body, pos, 7)
            pos += 7
        else:
            original_ts = immediate_ts
    if pos < len(body):
        tx_length, pos = packed_int(body, pos)
    if len(body) - pos >= 4:
        immediate_version = U32(body, pos)[0]
        pos += 4
        if immediate_version & _VERSION_ORIGINAL_FOLLOWS:
            immediate_version &= ~_VERSION_ORIGINAL_FOLLOWS
            original_version = U32(body, pos)[0]
        else:
            original_version = immediate_version
    return GtidEvent(
        raw.file,
        raw.offset,
        raw.log_pos,
        raw.timestamp,
        raw.server_id,
        anonymous,
        flags,
        sid,
        gno,
        None,
        last_committed,
        sequence_number,
        immediate_ts,
        original_ts,
        tx_length,
        immediate_version,
        original_version,
    )


def decode_gtid_tagged(raw: RawEvent) -> GtidEvent:
    """MySQL 8.4+ GTID_TAGGED (42): a serialization-library message (version byte, size, fields)."""
    body = raw.body
    if body[0] != 2:
        raise ValueError(f"GTID_TAGGED serialization format {body[0]} is not supported")
    size, pos = varlen_uint(body, 1)
    last_non_ignorable, pos = varlen_uint(body, pos)
    if size > len(body) or size < pos:
        raise ValueError(f"GTID_TAGGED message size {size} does not fit the body ({len(body)} bytes)")
    values: dict[int, int] = {}
    sid = b""
    tag = ""
    while pos < size:
        field, pos = varlen_uint(body, pos)
        if field == _F_SID:
            octets = bytearray()
            for _ in range(16):
                octet, pos = varlen_uint(body, pos)
                if octet > 255:
                    raise ValueError("GTID_TAGGED UUID byte out of range")
                octets.append(octet)
            sid = bytes(octets)
        elif field == _F_TAG:
            length, pos = varlen_uint(body, pos)
            tag = take(body, pos, length).decode("ascii")
            pos += length
        elif field in (_F_GNO, _F_LAST_COMMITTED, _F_SEQUENCE_NUMBER):
            values[field], pos = varlen_int(body, pos)
        elif field <= _F_COMMIT_GROUP_TICKET:
            values[field], pos = varlen_uint(body, pos)
        elif field <= last_non_ignorable:
            raise ValueError(f"GTID_TAGGED has unknown non-ignorable field {field}")
        else:
            break
    if len(sid) != 16 or _F_GNO not in values:
        raise ValueError("GTID_TAGGED event lacks its UUID or GNO")
    immediate_ts = values.get(_F_IMMEDIATE_TS, 0)
    immediate_version = values.get(_F_IMMEDIATE_VERSION)
    return GtidEvent(
        raw.file,
        raw.offset,
        raw.log_pos,
        raw.timestamp,
        raw.server_id,
        False,
        values.get(_F_FLAGS, 0),
        _sid(sid),
        values[_F_GNO],
        tag or None,
        values.get(_F_LAST_COMMITTED, 0),
        values.get(_F_SEQUENCE_NUMBER, 0),
        immediate_ts,
        values.get(_F_ORIGINAL_TS, immediate_ts),
        values.get(_F_TX_LENGTH, 0),
        immediate_version,
        values.get(_F_ORIGINAL_VERSION, immediate_version),
    )


def decode_previous_gtids(raw: RawEvent) -> PreviousGtidsEvent:
    """PREVIOUS_GTIDS (35): untagged (n_sids u64) or tagged (format byte 1 in the top and bottom bytes)."""
    body = raw.body
    head = U64(body, 0)[0]
    tagged = head >> 56 != 0
    count = (head >> 8) & ((1 << 48) - 1) if tagged else head & ((1 << 56) - 1)
    pos = 8
    entries = []
    for _ in range(count):
        sid = _sid(take(body, pos, 16))
        pos += 16
        tag = None
        if tagged:
            length, pos = varlen_uint(body, pos)
            tag = take(body, pos, length).decode("ascii") or None
            pos += length
        n_intervals = U64(body, pos)[0]
        pos += 8
        if n_intervals * 16 > len(body) - pos:
            raise ValueError(f"PREVIOUS_GTIDS declares {n_intervals} intervals beyond the body")
        intervals: tuple[tuple[int, int], ...] = tuple(_INTERVAL(body, pos + 16 * k) for k in range(n_intervals))
        pos += 16 * n_intervals
        entries.append(GtidSetEntry(sid, tag, intervals))
        if pos > len(body):
            raise ValueError("PREVIOUS_GTIDS runs past the body")
    return PreviousGtidsEvent(raw.file, raw.offset, raw.log_pos, raw.timestamp, raw.server_id, tuple(entries))


def decode_maria_gtid(raw: RawEvent) -> MariaGtidEvent:
    """MariaDB GTID (162): seq_no u64, domain_id u32, flags u8, then commit_id or an XA xid."""
    body = raw.body
    seq_no, domain_id, flags = _MARIA_GTID(body, 0)
    commit_id = None
    xid = None
    if flags & MARIA_FL_GROUP_COMMIT_ID:
        commit_id = U64(body, 13)[0]
    elif flags & (MARIA_FL_PREPARED_XA | MARIA_FL_COMPLETED_XA):
        format_id = U32(body, 13)[0]
        gtrid_len, bqual_len = body[17], body[18]
        data = take(body, 19, gtrid_len + bqual_len)
        xid = (format_id, data[:gtrid_len], data[gtrid_len:])
    return MariaGtidEvent(
        raw.file, raw.offset, raw.log_pos, raw.timestamp, raw.server_id, domain_id, seq_no, flags, commit_id, xid
    )


def decode_maria_gtid_list(raw: RawEvent) -> MariaGtidListEvent:
    """MariaDB GTID_LIST (163): count u32 (low 28 bits; flags in the top 4), then (domain, server, seq)."""
    body = raw.body
    head = U32(body, 0)[0]
    count = head & 0x0FFFFFFF
    if 4 + 16 * count > len(body):
        raise ValueError(f"GTID_LIST declares {count} entries beyond the body")
    gtids: tuple[tuple[int, int, int], ...] = tuple(_MARIA_LIST_ENTRY(body, 4 + 16 * k) for k in range(count))
    return MariaGtidListEvent(raw.file, raw.offset, raw.log_pos, raw.timestamp, raw.server_id, gtids, head >> 28)
