"""A tiny reader of QUERY events' text from real binlog files, for the DDL tests (the product's decoder is
built elsewhere; this reads only the fields these tests need)."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_HEADER = 19
_QUERY = 2
_FORMAT_DESCRIPTION = 15
_QUERY_POST_HEADER = 13


@dataclass(frozen=True)
class Query:
    file: str
    offset: int
    db: str
    text: str
    timestamp: int


def _has_checksum(body: bytes) -> bool:
    version = body[2:52].split(b"\0", 1)[0].decode("ascii", "replace")
    digits = [int("".join(ch for ch in part if ch.isdigit()) or 0) for part in version.split(".")[:3]]
    major, minor, patch = ([*digits, 0, 0, 0])[:3]
    return (major, minor, patch) >= (5, 6, 1) and body[-5] == 1


def read_queries(path: Path) -> Iterator[Query]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    assert data[:4] == b"\xfebin", f"{path} is not a binlog"
    pos = 4
    checksum = 0
    while pos + _HEADER <= len(data):
        timestamp, type_code, _server, size, _log_pos, _flags = struct.unpack_from("<IBIIIH", data, pos)
        if size < _HEADER or pos + size > len(data):
            return
        body = data[pos + _HEADER : pos + size - checksum]
        if type_code == _FORMAT_DESCRIPTION:
            checksum = 4 if _has_checksum(data[pos + _HEADER : pos + size]) else 0
        elif type_code == _QUERY:
            db_len = body[8]
            status_len = struct.unpack_from("<H", body, 11)[0]
            start = _QUERY_POST_HEADER + status_len
            db = body[start : start + db_len].decode("utf-8", "replace")
            text = body[start + db_len + 1 :].decode("utf-8", "replace")
            yield Query(path.name, pos, db, text, timestamp)
        pos += size
