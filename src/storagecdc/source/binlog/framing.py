"""Framing: binlog bytes (a file, a gzip file, or live packets) into ``RawEvent``s, with CRC32 checks.

A binlog file is the magic ``\\xfebin`` followed by events. Each event starts with a common header
(v4: timestamp u32, type u8, server_id u32, event_size u32, log_pos u32, flags u16; v1: the first four) and,
when the last FORMAT_DESCRIPTION event says CRC32, ends with a 4-byte CRC32 of everything before it.
``FormatState`` holds what the last FORMAT_DESCRIPTION (or a v1/v3 START event) said; framing updates it
as it passes those events, so a ``FormatState`` given by the caller follows the stream.

Every framing error is a ``SourceError`` naming the file and the byte offset of the bad event; nothing after
it is yielded.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent

BINLOG_MAGIC = b"\xfebin"
GZIP_MAGIC = b"\x1f\x8b"
CHECKSUM_OFF = 0
CHECKSUM_CRC32 = 1
CHECKSUM_UNDEF = 255
V4_HEADER_LENGTH = 19
V1_HEADER_LENGTH = 13
BLOCK_SIZE = 1 << 20
MAX_READ = 1 << 26
"""Largest single read: a corrupt event size must not become one huge allocation."""

_HEADER = struct.Struct("<IBIIIH").unpack_from
_HEADER_V1 = struct.Struct("<IBII").unpack_from
_U32 = struct.Struct("<I").unpack_from
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_PRE_GA_NUMBERING = re.compile(r"5\.[12]\.\d-a_drop")
"""Servers of MySQL's 5.1 row-replication development trees ("5.1.x-a_drop5p..", "5.2.2-a_drop6p..")
numbered events 16..22 differently; their codes are renumbered to today's while framing."""
_PRE_GA_CODES = {
    16: et.TABLE_MAP,
    17: et.WRITE_ROWS_V0,
    18: et.UPDATE_ROWS_V0,
    19: et.DELETE_ROWS_V0,
    20: et.XID,
    21: et.BEGIN_LOAD_QUERY,
    22: et.EXECUTE_LOAD_QUERY,
}

# Post-header lengths of binlog v1 and v3 (MySQL 3.23 / 4.x), indexed by type code - 1.
_V1_POST_HEADERS = bytes([0, 11, 0, 0, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0])
_V3_POST_HEADERS = bytes([56, 11, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0])

_DEFAULT_POST_HEADERS = {
    et.QUERY: 13,
    et.ROTATE: 8,
    et.TABLE_MAP: 8,
    et.WRITE_ROWS_V0: 8,
    et.UPDATE_ROWS_V0: 8,
    et.DELETE_ROWS_V0: 8,
    et.WRITE_ROWS_V1: 8,
    et.UPDATE_ROWS_V1: 8,
    et.DELETE_ROWS_V1: 8,
    et.WRITE_ROWS_V2: 10,
    et.UPDATE_ROWS_V2: 10,
    et.DELETE_ROWS_V2: 10,
    et.PARTIAL_UPDATE_ROWS: 10,
    et.INCIDENT: 2,
    et.MARIA_QUERY_COMPRESSED: 13,
    et.MARIA_WRITE_ROWS_COMPRESSED_V1: 8,
    et.MARIA_UPDATE_ROWS_COMPRESSED_V1: 8,
    et.MARIA_DELETE_ROWS_COMPRESSED_V1: 8,
    et.MARIA_WRITE_ROWS_COMPRESSED: 10,
    et.MARIA_UPDATE_ROWS_COMPRESSED: 10,
    et.MARIA_DELETE_ROWS_COMPRESSED: 10,
}


@dataclass(slots=True)
class FormatState:
    """What the stream's last FORMAT_DESCRIPTION (or v1/v3 START) event said about the events after it.

    ``post_header_lengths[t - 1]`` is the post-header length of event type ``t``. ``checksum_alg`` is
    ``CHECKSUM_CRC32`` when every event ends with a CRC32. The live client sets ``checksum_alg`` from the
    server's ``@@binlog_checksum`` before its first packet (the fake ROTATE comes before the FDE).
    """

    binlog_version: int = 4
    server_version: str = ""
    header_length: int = V4_HEADER_LENGTH
    post_header_lengths: bytes = b""
    checksum_alg: int = CHECKSUM_OFF
    create_timestamp: int = 0
    renumber: bytes = b""
    """For the few pre-GA servers with other event codes: ``renumber[code]`` is today's code."""

    @property
    def checksum(self) -> bool:
        """Whether events end with a CRC32."""
        return self.checksum_alg == CHECKSUM_CRC32

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self.server_version.lower()

    def post_header_length(self, type_code: int) -> int:
        """The post-header length of ``type_code`` (a fixed default when the FDE does not list it)."""
        lengths = self.post_header_lengths
        if 0 < type_code <= len(lengths):
            return lengths[type_code - 1]
        return _DEFAULT_POST_HEADERS.get(type_code, 0)

    def update(self, other: FormatState) -> None:
        """Take over every field of ``other`` (keeps the caller's object identity)."""
        self.binlog_version = other.binlog_version
        self.server_version = other.server_version
        self.header_length = other.header_length
        self.post_header_lengths = other.post_header_lengths
        self.checksum_alg = other.checksum_alg
        self.create_timestamp = other.create_timestamp
        self.renumber = other.renumber


def checksum_capable(server_version: str) -> bool:
    """Whether a server of this version writes the checksum-algorithm byte (and CRC) in its FDE."""
    match = _VERSION.match(server_version)
    if match is None:
        return False
    version = (int(match[1]), int(match[2]), int(match[3]))
    if "mariadb" in server_version.lower():
        return version >= (5, 3, 0)
    return version >= (5, 6, 1)


def format_state_from_fde(body: bytes, *, with_crc_field: bool) -> FormatState:
    """Decode a FORMAT_DESCRIPTION body (after the common header).

    ``with_crc_field``: the body still ends with the 4-byte checksum field (as framed from bytes); a
    ``RawEvent.body`` has it removed. Raises ``ValueError`` on a malformed body.
    """
    if len(body) < 57:
        raise ValueError(f"FORMAT_DESCRIPTION body of {len(body)} bytes is too short")
    binlog_version = body[0] | body[1] << 8
    server_version = body[2:52].split(b"\0", 1)[0].decode("ascii", "replace")
    create_timestamp = _U32(body, 52)[0]
    header_length = body[56]
    if binlog_version != 4 or header_length < V4_HEADER_LENGTH:
        raise ValueError(f"FORMAT_DESCRIPTION with binlog version {binlog_version}, header {header_length}")
    end = len(body)
    alg = CHECKSUM_OFF
    if checksum_capable(server_version):
        end -= 5 if with_crc_field else 1
        if end < 57:
            raise ValueError("FORMAT_DESCRIPTION too short for its checksum algorithm")
        alg = body[end]
        if alg == CHECKSUM_UNDEF:
            alg = CHECKSUM_OFF
        elif alg not in (CHECKSUM_OFF, CHECKSUM_CRC32):
            raise ValueError(f"unknown binlog checksum algorithm {alg}")
    post = bytes(body[57:end])
    renumber = b""
    if _PRE_GA_NUMBERING.match(server_version):
        table = bytearray(range(256))
        reordered = bytearray(post)
        for old, new in _PRE_GA_CODES.items():
            table[old] = new
            if old <= len(post) and new <= len(post):
                reordered[new - 1] = post[old - 1]
        renumber, post = bytes(table), bytes(reordered)
    return FormatState(4, server_version, header_length, post, alg, create_timestamp, renumber)


def format_state_from_start_v3(body: bytes, header_length: int) -> FormatState:
    """Decode a v1/v3 START event body (binlog version u16, server version, create time)."""
    if len(body) < 56:
        raise ValueError(f"START_V3 body of {len(body)} bytes is too short")
    binlog_version = body[0] | body[1] << 8
    server_version = body[2:52].split(b"\0", 1)[0].decode("ascii", "replace")
    if binlog_version == 1 and header_length == V1_HEADER_LENGTH:
        post = _V1_POST_HEADERS
    elif binlog_version == 3 and header_length == V4_HEADER_LENGTH:
        post = _V3_POST_HEADERS
    else:
        raise ValueError(f"START_V3 event with binlog version {binlog_version}")
    return FormatState(binlog_version, server_version, header_length, post, CHECKSUM_OFF, _U32(body, 52)[0])


def _fde_crc_ok(event: bytes | memoryview, hl: int) -> bool:
    """CRC32 check of a whole FDE; the server computes it with LOG_EVENT_BINLOG_IN_USE_F cleared."""
    size = len(event)
    header = bytearray(event[:hl])
    header[17] &= ~et.LOG_EVENT_BINLOG_IN_USE_F & 0xFF
    crc = zlib.crc32(event[hl : size - 4], zlib.crc32(header))
    stored: int = _U32(event, size - 4)[0]
    return crc == stored


def _framed_fde(event: bytes | memoryview, where: str) -> tuple[FormatState, bytes]:
    """(new state, body without the CRC field) of a framed FORMAT_DESCRIPTION event."""
    hl = V4_HEADER_LENGTH
    try:
        state = format_state_from_fde(bytes(event[hl:]), with_crc_field=True)
    except ValueError as exc:
        raise SourceError(f"{where}: bad FORMAT_DESCRIPTION event: {exc}") from None
    if not checksum_capable(state.server_version):
        return state, bytes(event[hl:])
    if state.checksum and not _fde_crc_ok(event, hl):
        raise SourceError(f"{where}: CRC32 mismatch in FORMAT_DESCRIPTION event")
    return state, bytes(event[hl:-4])


def decode_packet_event(data: bytes, state: FormatState, file: str) -> RawEvent:
    """Frame one event from a replication packet (the bytes after the OK byte); updates ``state`` on FDEs.

    ``offset`` is ``log_pos - event_size`` (0 for artificial events whose log_pos is 0).
    """
    n = len(data)
    if n < V4_HEADER_LENGTH:
        raise SourceError(f"{file}: replication packet of {n} bytes is shorter than an event header")
    ts, type_code, server_id, size, log_pos, flags = _HEADER(data, 0)
    if state.renumber:
        type_code = state.renumber[type_code]
    offset = log_pos - size if log_pos >= size else 0
    if size != n:
        raise SourceError(f"{file}: offset {offset}: event size {size} but the packet holds {n} bytes")
    if type_code == et.FORMAT_DESCRIPTION:
        new_state, body = _framed_fde(data, f"{file}: offset {offset}")
        state.update(new_state)
        return RawEvent(file, offset, ts, type_code, server_id, size, log_pos, flags, body)
    hl = state.header_length
    if state.checksum_alg == CHECKSUM_CRC32:
        if n < hl + 4:
            raise SourceError(f"{file}: offset {offset}: event of {n} bytes is too short for its CRC32")
        if zlib.crc32(memoryview(data)[: n - 4]) != _U32(data, n - 4)[0]:
            raise SourceError(f"{file}: offset {offset}: CRC32 mismatch in {et.type_name(type_code)} event")
        return RawEvent(file, offset, ts, type_code, server_id, size, log_pos, flags, data[hl : n - 4])
    return RawEvent(file, offset, ts, type_code, server_id, size, log_pos, flags, data[hl:])


def open_binlog(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a binlog file for reading, transparently gunzipping it when it starts with gzip's magic."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        head = raw.read(2)
        raw.seek(0)
    except OSError:
        raw.close()
        raise
    if head == GZIP_MAGIC:
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))  # _close closes raw too
    return raw


def _close(f: BinaryIO) -> None:
    inner = getattr(f, "fileobj", None)
    f.close()
    if inner is not None:
        inner.close()


def iter_file_events(
    path: str | os.PathLike[str], start_offset: int = 4, state: FormatState | None = None
) -> Iterator[RawEvent]:
    """Frame the events of one binlog file (plain or gzip), streaming in large blocks.

    Starts at ``start_offset``; when that is past the first event, the FORMAT_DESCRIPTION event at
    offset 4 is still yielded first (decoding needs it). ``state`` (updated in place) follows the
    file's FORMAT_DESCRIPTION events; ``RawEvent.file`` is the file's base name.
    """
    if start_offset < 4:
        raise ValueError(f"start_offset must be >= 4, got {start_offset}")
    if state is None:
        state = FormatState()
    where = os.fspath(path)
    try:
        f = open_binlog(path)
    except OSError as exc:
        raise SourceError(f"{where}: cannot open binlog file: {exc.strerror or exc}") from None
    try:
        yield from _FileFramer(f, where, state).events(start_offset)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{where}: cannot read binlog file: {exc}") from None
    finally:
        _close(f)


class _FileFramer:
    """Block-buffered framing of one file object: ``buf[i:]`` holds the unread bytes from ``base + i``."""

    __slots__ = ("base", "buf", "f", "name", "state", "where")

    def __init__(self, f: BinaryIO, where: str, state: FormatState) -> None:
        self.f = f
        self.where = where
        self.name = Path(where).name
        self.state = state
        self.buf = b""
        self.base = 0

    def _fill(self, i: int, need: int) -> int:
        """Keep ``buf[i:]`` and read until at least ``need`` bytes follow ``i`` (or EOF); returns new i."""
        rest = self.buf[i:]
        chunks = [rest]
        have = len(rest)
        while have < need:
            try:
                chunk = self.f.read(min(max(BLOCK_SIZE, need - have), MAX_READ))
            except (OSError, EOFError, zlib.error) as exc:
                raise SourceError(f"{self.where}: offset {self.base + i + have}: cannot read: {exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
        self.base += i
        self.buf = b"".join(chunks)
        return 0

    def _skip_to(self, offset: int) -> int:
        """Position at file ``offset`` (forward only); returns the new index into ``buf``."""
        if offset <= self.base + len(self.buf):
            return offset - self.base
        self.f.seek(offset)
        self.base = offset
        self.buf = b""
        return 0

    def _start_v3_header(self, i: int) -> None:
        """A v1/v3 file starts with START_V3 instead of an FDE: its size tells the header length."""
        buf = self.buf
        if len(buf) - i >= V1_HEADER_LENGTH and buf[i + 4] == et.START_V3:
            size = _U32(buf, i + 9)[0]
            v1 = size == V1_HEADER_LENGTH + 56
            self.state.binlog_version = 1 if v1 else 3
            self.state.header_length = V1_HEADER_LENGTH if v1 else V4_HEADER_LENGTH
            self.state.checksum_alg = CHECKSUM_OFF

    def events(self, start_offset: int) -> Iterator[RawEvent]:
        state = self.state
        where = self.where
        name = self.name
        i = self._fill(0, BLOCK_SIZE)
        if self.buf[:4] != BINLOG_MAGIC:
            raise SourceError(f"{where}: offset 0: not a binlog file (magic {self.buf[:4]!r})")
        i = 4
        state.update(FormatState())  # every file describes its own format
        self._start_v3_header(i)
        first = True
        buf = self.buf
        mv = memoryview(buf)
        n = len(buf)
        while True:
            hl = state.header_length
            if n - i < hl:
                i = self._fill(i, hl)
                buf = self.buf
                mv = memoryview(buf)
                n = len(buf)
                if n == 0:
                    return
                if n < hl:
                    raise SourceError(f"{where}: offset {self.base}: truncated event header ({n} bytes)")
            offset = self.base + i
            if state.binlog_version == 4:
                ts, type_code, server_id, size, log_pos, flags = _HEADER(buf, i)
                if state.renumber:
                    type_code = state.renumber[type_code]
            else:
                ts, type_code, server_id, size = _HEADER_V1(buf, i)
                log_pos = flags = 0
            if size < hl:
                raise SourceError(f"{where}: offset {offset}: event size {size} is smaller than its header")
            end = i + size
            if end > n:
                i = self._fill(i, size)
                buf = self.buf
                mv = memoryview(buf)
                n = len(buf)
                end = size
                if end > n:
                    raise SourceError(
                        f"{where}: offset {offset}: truncated {et.type_name(type_code)} event "
                        f"(size {size}, {n} bytes left in the file)"
                    )
            if type_code == et.FORMAT_DESCRIPTION:
                new_state, body = _framed_fde(mv[i:end], f"{where}: offset {offset}")
                state.update(new_state)
                hl = state.header_length
            elif first:
                if type_code != et.START_V3 or state.binlog_version == 4:
                    raise SourceError(
                        f"{where}: offset {offset}: first event is {et.type_name(type_code)}, not FORMAT_DESCRIPTION"
                    )
                try:
                    state.update(format_state_from_start_v3(buf[i + hl : end], hl))
                except ValueError as exc:
                    raise SourceError(f"{where}: offset {offset}: {exc}") from None
                body = buf[i + hl : end]
            elif state.checksum_alg == CHECKSUM_CRC32:
                if size < hl + 4:
                    raise SourceError(f"{where}: offset {offset}: event size {size} leaves no room for CRC32")
                if zlib.crc32(mv[i : end - 4]) != _U32(buf, end - 4)[0]:
                    raise SourceError(f"{where}: offset {offset}: CRC32 mismatch in {et.type_name(type_code)} event")
                body = buf[i + hl : end - 4]
            else:
                body = buf[i + hl : end]
            yield RawEvent(name, offset, ts, type_code, server_id, size, log_pos, flags, body)
            i = end
            if first:
                first = False
                if start_offset > self.base + i:
                    i = self._skip_to(start_offset)
                    buf = self.buf
                    mv = memoryview(buf)
                    n = len(buf)
