"""Compressed events: MariaDB's zlib QUERY/ROWS events and MySQL's zstd TRANSACTION_PAYLOAD.

MariaDB (log_bin_compress) compresses only the statement text of a QUERY event and the row images of a
rows event: a header byte ``0x80 | algorithm << 4 | n`` (algorithm 0 = zlib), the uncompressed length in
``n`` big-endian bytes, then a zlib stream. Decompressing gives back the plain event's body.

MySQL's TRANSACTION_PAYLOAD body is a list of (type, length, value) fields in packed integers, ended by
type 0, then the payload: whole events (19-byte headers, no checksums), zstd-compressed (type 0) or not
(255). The payload is decompressed as a stream, so a large transaction is never held whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import zstandard

from storagecdc.source.binlog.body import packed_int, take, uint_le
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.framing import V4_HEADER_LENGTH

_PAYLOAD_END = 0
_PAYLOAD_SIZE = 1
_PAYLOAD_COMPRESSION = 2
_PAYLOAD_UNCOMPRESSED_SIZE = 3
COMPRESSION_ZSTD = 0
COMPRESSION_NONE = 255
_READ_SIZE = 1 << 20


def maria_uncompress(body: bytes, start: int) -> bytes:
    """``body`` with the MariaDB-compressed part from ``start`` on replaced by its uncompressed bytes."""
    head = body[start]
    if not head & 0x80 or (head >> 4) & 0x07 != 0:
        raise ValueError(f"unknown MariaDB compression header {head:#04x}")
    lenlen = head & 0x07
    if not 1 <= lenlen <= 4:
        raise ValueError(f"MariaDB compressed length of {lenlen} bytes")
    expected = int.from_bytes(take(body, start + 1, lenlen), "big")
    inflater = zlib.decompressobj()
    data = inflater.decompress(body[start + 1 + lenlen :], expected + 1)
    if len(data) != expected or not inflater.eof:
        raise ValueError(f"MariaDB compressed data inflates to {len(data)} bytes, header says {expected}")
    return body[:start] + data


def _payload_fields(body: bytes) -> tuple[int, int, int, int]:
    """(payload start, payload size, compression type, uncompressed size) of a TRANSACTION_PAYLOAD."""
    pos = 0
    size = compression = uncompressed = -1
    while True:
        field, pos = packed_int(body, pos)
        if field == _PAYLOAD_END:
            break
        length, pos = packed_int(body, pos)
        value_bytes = take(body, pos, length)
        value = packed_int(value_bytes, 0)[0]
        pos += length
        if field == _PAYLOAD_SIZE:
            size = value
        elif field == _PAYLOAD_COMPRESSION:
            compression = value
        elif field == _PAYLOAD_UNCOMPRESSED_SIZE:
            uncompressed = value
    if size != len(body) - pos:
        raise ValueError(f"TRANSACTION_PAYLOAD says {size} payload bytes, the event holds {len(body) - pos}")
    if compression not in (COMPRESSION_ZSTD, COMPRESSION_NONE):
        raise ValueError(f"TRANSACTION_PAYLOAD compression type {compression} is not supported")
    return pos, size, compression, uncompressed


class _Reader:
    """Reads exact byte counts from a (possibly decompressing) stream."""

    __slots__ = ("buf", "pos", "stream", "total")

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.total = 0

    def read(self, n: int) -> bytes:
        """Exactly n bytes; fewer only at the end of the stream."""
        end = self.pos + n
        if end > len(self.buf):
            parts = [self.buf[self.pos :]]
            have = len(parts[0])
            while have < n:
                # Fixed-size reads: a corrupt size must not become one huge allocation.
                chunk = self.stream.read(_READ_SIZE)
                if not chunk:
                    break
                parts.append(chunk)
                have += len(chunk)
            self.buf = b"".join(parts)
            self.pos = 0
            end = n
        data = self.buf[self.pos : end]
        self.pos += len(data)
        self.total += len(data)
        return data


def iter_payload_events(raw: RawEvent) -> Iterator[RawEvent]:
    """The events inside a TRANSACTION_PAYLOAD, each with the payload event's file, offset and log_pos."""
    start, _size, compression, uncompressed = _payload_fields(raw.body)
    payload = memoryview(raw.body)[start:]
    if compression == COMPRESSION_ZSTD:
        stream: Any = zstandard.ZstdDecompressor().stream_reader(payload, read_across_frames=True)
    else:
        stream = _BytesStream(bytes(payload))
    reader = _Reader(stream)
    with stream:
        while True:
            header = reader.read(V4_HEADER_LENGTH)
            if not header:
                break
            if len(header) < V4_HEADER_LENGTH:
                raise ValueError("TRANSACTION_PAYLOAD ends inside an event header")
            size = uint_le(header, 9, 4)
            if size < V4_HEADER_LENGTH:
                raise ValueError(f"event of size {size} inside TRANSACTION_PAYLOAD")
            if uncompressed >= 0 and reader.total - V4_HEADER_LENGTH + size > uncompressed:
                raise ValueError(f"event of size {size} runs past the TRANSACTION_PAYLOAD's uncompressed size")
            body = reader.read(size - V4_HEADER_LENGTH)
            if len(body) != size - V4_HEADER_LENGTH:
                raise ValueError("TRANSACTION_PAYLOAD ends inside an event")
            yield RawEvent(
                raw.file,
                raw.offset,
                uint_le(header, 0, 4),
                header[4],
                uint_le(header, 5, 4),
                size,
                raw.log_pos,
                uint_le(header, 17, 2),
                body,
            )
    if uncompressed >= 0 and reader.total != uncompressed:
        raise ValueError(f"TRANSACTION_PAYLOAD inflates to {reader.total} bytes, it says {uncompressed}")


class _BytesStream:
    """An uncompressed payload, read like the zstd stream reader."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def __enter__(self) -> _BytesStream:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
