"""``EventDecoder``: framed ``RawEvent``s into typed events (``events.py``); row images stay undecoded.

The decoder follows FORMAT_DESCRIPTION events for post-header lengths and keeps the TABLE_MAP of every
table id until the statement that used it ends (STMT_END_F), which bounds memory on long streams.

Failure rules: INCIDENT, START_ENCRYPTION, and unknown event types without LOG_EVENT_IGNORABLE_F raise
``SourceError``; so does any malformed body, wrapped once here with the file and offset (no IndexError,
struct.error or decompression error escapes). Event types that carry no change data (IGNORABLE, the group
replication TRANSACTION_CONTEXT and VIEW_CHANGE, Aurora's ignorable padding) produce nothing.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import zstandard

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.body import U16, U32, U64, packed_int, take
from storagecdc.source.binlog.compression import iter_payload_events, maria_uncompress
from storagecdc.source.binlog.contract import RawEvent, TableMap
from storagecdc.source.binlog.events import (
    STMT_END_F,
    AnnotateRowsEvent,
    BinlogCheckpointEvent,
    Event,
    FormatDescriptionEvent,
    HeartbeatEvent,
    IntVarEvent,
    QueryEvent,
    RandEvent,
    RotateEvent,
    RowsEvent,
    StopEvent,
    TableMapEvent,
    UnhandledEvent,
    UserVarEvent,
    XaPrepareEvent,
    XidEvent,
)
from storagecdc.source.binlog.framing import (
    FormatState,
    format_state_from_fde,
    format_state_from_start_v3,
)
from storagecdc.source.binlog.gtid import (
    decode_gtid,
    decode_gtid_tagged,
    decode_maria_gtid,
    decode_maria_gtid_list,
    decode_previous_gtids,
)
from storagecdc.source.binlog.query import split_query
from storagecdc.source.binlog.rows import KINDS, RowsHeader
from storagecdc.source.binlog.tablemap import decode_table_map
from storagecdc.source.binlog.textcodec import decode_text

_BAD_BODY = (ValueError, IndexError, struct.error, OverflowError, zlib.error, zstandard.ZstdError)
_NOTHING: tuple[Event, ...] = ()
_TWO_IMAGES = frozenset(
    {
        et.UPDATE_ROWS_V1,
        et.UPDATE_ROWS_V2,
        et.PARTIAL_UPDATE_ROWS,
        et.MARIA_UPDATE_ROWS_COMPRESSED_V1,
        et.MARIA_UPDATE_ROWS_COMPRESSED,
    }
)
_MARIA_COMPRESSED_ROWS = frozenset(range(et.MARIA_WRITE_ROWS_COMPRESSED_V1, et.MARIA_DELETE_ROWS_COMPRESSED + 1))
_NO_DATA = frozenset({et.IGNORABLE, et.TRANSACTION_CONTEXT, et.VIEW_CHANGE})
_UNHANDLED = frozenset(
    {
        et.LOAD,
        et.SLAVE,
        et.CREATE_FILE,
        et.APPEND_BLOCK,
        et.EXEC_LOAD,
        et.DELETE_FILE,
        et.NEW_LOAD,
        et.BEGIN_LOAD_QUERY,
        et.EXECUTE_LOAD_QUERY,
    }
)
_INCIDENTS = {0: "NONE", 1: "LOST_EVENTS"}
_TABLE_MAP_CACHE_SIZE = 4096
_HEARTBEAT_LOG_FILENAME = 1
_HEARTBEAT_LOG_POSITION = 2


class EventDecoder:
    """Decodes ``RawEvent``s of one stream, in order. Not thread-safe; one per stream.

    ``decode(raw)`` returns the events a raw event stands for: usually one, none for events without
    change data, many for a TRANSACTION_PAYLOAD (streamed: iterate the result before decoding the next raw
    event). ``table_maps`` holds the TABLE_MAPs in force by table id.
    """

    def __init__(self, state: FormatState | None = None) -> None:
        self.state = state if state is not None else FormatState()
        self.table_maps: dict[int, TableMap] = {}
        self._decoded_maps: dict[bytes, TableMap] = {}
        """TABLE_MAP bodies repeat in every transaction: decoded once, by body (bounded; cleared on FDE)."""
        self._handlers: dict[int, Callable[[RawEvent], Iterable[Event]]] = {
            et.FORMAT_DESCRIPTION: self._format_description,
            et.START_V3: self._start_v3,
            et.ROTATE: self._rotate,
            et.STOP: self._stop,
            et.QUERY: self._query,
            et.MARIA_QUERY_COMPRESSED: self._query,
            et.TABLE_MAP: self._table_map,
            et.XID: self._xid,
            et.XA_PREPARE: self._xa_prepare,
            et.GTID: _one(decode_gtid),
            et.ANONYMOUS_GTID: _one(decode_gtid),
            et.GTID_TAGGED: _one(decode_gtid_tagged),
            et.PREVIOUS_GTIDS: _one(decode_previous_gtids),
            et.MARIA_GTID: _one(decode_maria_gtid),
            et.MARIA_GTID_LIST: _one(decode_maria_gtid_list),
            et.MARIA_BINLOG_CHECKPOINT: self._binlog_checkpoint,
            et.MARIA_ANNOTATE_ROWS: self._annotate,
            et.ROWS_QUERY: self._rows_query,
            et.INTVAR: self._intvar,
            et.RAND: self._rand,
            et.USER_VAR: self._user_var,
            et.HEARTBEAT: self._heartbeat,
            et.HEARTBEAT_V2: self._heartbeat_v2,
            et.TRANSACTION_PAYLOAD: self._payload,
            et.INCIDENT: self._incident,
            et.MARIA_START_ENCRYPTION: self._encryption,
        }
        for code in KINDS:
            self._handlers[code] = self._rows

    def decode(self, raw: RawEvent) -> Iterable[Event]:
        """The typed events ``raw`` stands for; raises ``SourceError`` naming file and offset."""
        handler = self._handlers.get(raw.type_code)
        if handler is None:
            if raw.type_code in _NO_DATA or raw.flags & et.LOG_EVENT_IGNORABLE_F:
                return _NOTHING
            if raw.type_code in _UNHANDLED:
                return (UnhandledEvent(*_pos(raw), raw.type_code, raw.body),)
            raise SourceError(
                f"{raw.file}: offset {raw.offset}: unknown event type {raw.type_code} "
                "(not marked ignorable); cannot continue"
            )
        try:
            return handler(raw)
        except _BAD_BODY as exc:
            raise _bad(raw, exc) from None

    def decode_all(self, raws: Iterable[RawEvent]) -> Iterator[Event]:
        """Every event of a stream of raw events, in order."""
        decode = self.decode
        for raw in raws:
            yield from decode(raw)

    # -- format and control events -------------------------------------------------------------------

    def _format_description(self, raw: RawEvent) -> tuple[Event]:
        self.state.update(format_state_from_fde(raw.body, with_crc_field=False))
        self._decoded_maps.clear()
        return (FormatDescriptionEvent(*_pos(raw), replace(self.state)),)

    def _start_v3(self, raw: RawEvent) -> tuple[Event]:
        header_length = raw.size - len(raw.body)
        self.state.update(format_state_from_start_v3(raw.body, header_length))
        return (FormatDescriptionEvent(*_pos(raw), replace(self.state)),)

    def _rotate(self, raw: RawEvent) -> tuple[Event]:
        body = raw.body
        post = self.state.post_header_length(et.ROTATE)
        position = U64(body, 0)[0] if post >= 8 else 4
        name = body[post:].decode("utf-8", "surrogateescape")
        return (RotateEvent(*_pos(raw), name, position),)

    def _stop(self, raw: RawEvent) -> tuple[Event]:
        return (StopEvent(*_pos(raw)),)

    def _incident(self, raw: RawEvent) -> tuple[Event]:
        body = raw.body
        kind = U16(body, 0)[0]
        message = take(body, 3, body[2]).decode("utf-8", "replace") if len(body) > 2 else ""
        raise SourceError(
            f"{raw.file}: offset {raw.offset}: INCIDENT event ({_INCIDENTS.get(kind, f'kind {kind}')})"
            f"{': ' + message if message else ''}; the source lost changes here, the stream cannot be trusted"
        )

    def _encryption(self, raw: RawEvent) -> tuple[Event]:
        raise SourceError(
            f"{raw.file}: offset {raw.offset}: START_ENCRYPTION event: encrypted binlogs are not supported"
        )

    def _heartbeat(self, raw: RawEvent) -> tuple[Event]:
        name = raw.body.decode("utf-8", "surrogateescape")
        return (HeartbeatEvent(*_pos(raw), name, raw.log_pos),)

    def _heartbeat_v2(self, raw: RawEvent) -> tuple[Event]:
        body = raw.body
        pos = 0
        name = ""
        position = raw.log_pos
        while pos < len(body):
            field, pos = packed_int(body, pos)
            if field == 0:
                break
            length, pos = packed_int(body, pos)
            value = take(body, pos, length)
            pos += length
            if field == _HEARTBEAT_LOG_FILENAME:
                name = value.decode("utf-8", "surrogateescape")
            elif field == _HEARTBEAT_LOG_POSITION:
                position = packed_int(value, 0)[0]
        return (HeartbeatEvent(*_pos(raw), name, position),)

    # -- statements ----------------------------------------------------------------------------------

    def _query(self, raw: RawEvent) -> tuple[Event]:
        parts = split_query(raw.body, self.state.post_header_length(et.QUERY))
        body = raw.body
        if raw.type_code == et.MARIA_QUERY_COMPRESSED:
            body = maria_uncompress(body, parts.query_start)
        client = parts.status.charset[0] if parts.status.charset else None
        return (
            QueryEvent(
                *_pos(raw),
                parts.thread_id,
                parts.exec_time,
                parts.error_code,
                parts.schema.decode("utf-8", "surrogateescape"),
                decode_text(body[parts.query_start :], client),
                parts.status,
            ),
        )

    def _annotate(self, raw: RawEvent) -> tuple[Event]:
        return (AnnotateRowsEvent(*_pos(raw), raw.body.decode("utf-8", "surrogateescape")),)

    def _rows_query(self, raw: RawEvent) -> tuple[Event]:
        return (AnnotateRowsEvent(*_pos(raw), raw.body[1:].decode("utf-8", "surrogateescape")),)

    def _intvar(self, raw: RawEvent) -> tuple[Event]:
        return (IntVarEvent(*_pos(raw), raw.body[0], U64(raw.body, 1)[0]),)

    def _rand(self, raw: RawEvent) -> tuple[Event]:
        return (RandEvent(*_pos(raw), U64(raw.body, 0)[0], U64(raw.body, 8)[0]),)

    def _user_var(self, raw: RawEvent) -> tuple[Event]:
        body = raw.body
        name_len = U32(body, 0)[0]
        name = take(body, 4, name_len).decode("utf-8", "surrogateescape")
        pos = 4 + name_len
        if body[pos]:
            return (UserVarEvent(*_pos(raw), name, None),)
        value_type = body[pos + 1]
        charset = U32(body, pos + 2)[0]
        value_len = U32(body, pos + 6)[0]
        value = take(body, pos + 10, value_len)
        pos += 10 + value_len
        flags = body[pos] if pos < len(body) else 0
        return (UserVarEvent(*_pos(raw), name, value, value_type, charset, flags),)

    # -- transactions --------------------------------------------------------------------------------

    def _xid(self, raw: RawEvent) -> tuple[Event]:
        return (XidEvent(*_pos(raw), U64(raw.body, 0)[0]),)

    def _xa_prepare(self, raw: RawEvent) -> tuple[Event]:
        body = raw.body
        one_phase = bool(body[0])
        format_id, gtrid_len, bqual_len = struct.unpack_from("<iII", body, 1)
        data = take(body, 13, gtrid_len + bqual_len)
        return (XaPrepareEvent(*_pos(raw), one_phase, format_id, data[:gtrid_len], data[gtrid_len:]),)

    def _binlog_checkpoint(self, raw: RawEvent) -> tuple[Event]:
        name_len = U32(raw.body, 0)[0]
        name = take(raw.body, 4, name_len).decode("utf-8", "surrogateescape")
        return (BinlogCheckpointEvent(*_pos(raw), name),)

    def _payload(self, raw: RawEvent) -> Iterator[Event]:
        """The payload's events, decoded as they are decompressed."""
        inner = iter_payload_events(raw)
        while True:
            try:
                event = next(inner)
            except StopIteration:
                return
            except _BAD_BODY as exc:
                raise _bad(raw, exc) from None
            if event.type_code in (et.TRANSACTION_PAYLOAD, et.FORMAT_DESCRIPTION):
                raise SourceError(
                    f"{raw.file}: offset {raw.offset}: {et.type_name(event.type_code)} event inside TRANSACTION_PAYLOAD"
                )
            yield from self.decode(event)

    # -- tables and rows -----------------------------------------------------------------------------

    def _table_map(self, raw: RawEvent) -> tuple[Event]:
        table_map = self._decoded_maps.get(raw.body)
        if table_map is None:
            table_map = decode_table_map(
                raw.body, self.state.post_header_length(et.TABLE_MAP), mariadb=self.state.is_mariadb
            )
            if len(self._decoded_maps) >= _TABLE_MAP_CACHE_SIZE:
                self._decoded_maps.clear()
            self._decoded_maps[raw.body] = table_map
        self.table_maps[table_map.table_id] = table_map
        return (TableMapEvent(*_pos(raw), table_map),)

    def _rows(self, raw: RawEvent) -> tuple[Event, ...]:
        code = raw.type_code
        body = raw.body
        header = RowsHeader(body, self.state.post_header_length(code), code in _TWO_IMAGES)
        table_map = self.table_maps.get(header.table_id)
        if table_map is None and header.column_count == 0 and header.rows_start == len(body):
            # MySQL's dummy statement-end event (no table, no rows).
            if header.flags & STMT_END_F:
                self.table_maps.clear()
            return _NOTHING
        if table_map is None:
            raise SourceError(
                f"{raw.file}: offset {raw.offset}: {et.type_name(code)} event for table id "
                f"{header.table_id} without a preceding TABLE_MAP"
            )
        if header.column_count != table_map.column_count:
            raise SourceError(
                f"{raw.file}: offset {raw.offset}: {et.type_name(code)} event has {header.column_count} "
                f"columns, its TABLE_MAP ({table_map.schema}.{table_map.table}) {table_map.column_count}"
            )
        if code in _MARIA_COMPRESSED_ROWS:
            body = maria_uncompress(body, header.rows_start)
        if header.flags & STMT_END_F:
            self.table_maps.clear()
        return (
            RowsEvent(
                *_pos(raw),
                code,
                KINDS[code],
                header.table_id,
                header.flags,
                header.column_count,
                header.present,
                header.present if code == et.UPDATE_ROWS_V0 else header.present_after,
                body,
                header.rows_start,
                table_map,
                header.partition_id,
                header.source_partition_id,
            ),
        )


def _pos(raw: RawEvent) -> tuple[str, int, int, int, int]:
    return raw.file, raw.offset, raw.log_pos, raw.timestamp, raw.server_id


def _one(decode: Callable[[RawEvent], Event]) -> Callable[[RawEvent], tuple[Event]]:
    def handler(raw: RawEvent) -> tuple[Event]:
        return (decode(raw),)

    return handler


def _bad(raw: RawEvent, exc: BaseException) -> SourceError:
    return SourceError(
        f"{raw.file}: offset {raw.offset}: malformed {et.type_name(raw.type_code)} event: {type(exc).__name__}: {exc}"
    )
