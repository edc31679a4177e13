"""One-column text result sets read straight off a pymysql connection's socket, as lines of text.

pymysql builds a packet object, a row tuple and a decoded value per row; a snapshot reader that has the server
format each row as one text value (``snapshot.columnar``) needs only the bytes. ``LineReader.query`` sends the
query through pymysql (which also reads the result header and the column definition, and raises the server's
errors), receives the row packets of the text protocol straight into one buffer that the reader keeps (from the
connection's own buffered reader, so the connection is left at the end of the result, ready for the next
query), and turns that buffer into lines in place: the first byte of each row packet's header becomes a line
break and the rest of the header and the value's length prefix become ``FILLER`` bytes. So per row the only
Python work is reading a packet length; the rows are never sliced or copied one by one. A value therefore
starts with ``FILLER`` bytes, which the query makes a field of its own by starting the value with the field
separator.

A value of 16 MiB or more (which the protocol splits into packets) or a NULL makes the result ``None``: the
caller reads that chunk another way. A server error in the middle of the rows is a ``SourceError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pymysql
from pymysql.constants import COMMAND

from storagecdc.errors import SourceError

FILLER = ord("x")
_MAX_PACKET = 0xFFFFFF
_READ = 1 << 20


@dataclass(frozen=True)
class Lines:
    """A result's rows, one line each (``\\n``-terminated), in ``data``."""

    data: memoryview
    rows: int


class LineReader:
    """Reads results of one connection into a buffer that it keeps from one query to the next (so that its
    pages, once touched, are not given back and zeroed again for every chunk). A result's ``Lines`` are valid
    until the next query."""

    def __init__(self, connection: pymysql.Connection[Any]) -> None:
        self._conn: Any = connection  # pymysql's protocol layer is neither typed nor public
        self._buf = bytearray(_READ)

    def query(self, sql: str) -> Lines | None:
        """The values of ``sql``'s single column as lines; None when a value cannot be one (see the module)."""
        conn = self._conn
        conn._execute_command(COMMAND.COM_QUERY, sql)
        header = conn._read_packet()
        columns = header.read_length_encoded_integer()
        if columns != 1:
            raise SourceError(f"snapshot query returned {columns} columns, expected one: {sql[:200]}")
        conn._read_packet()  # the column definition
        if not conn._read_packet().is_eof_packet():
            raise SourceError("snapshot query: no EOF packet after the column definition")
        try:
            starts, end, plain = self._packets(conn._rfile)
        except (OSError, ValueError) as exc:
            conn._force_close()
            raise SourceError(f"snapshot query: reading the result failed: {exc}", retryable=True) from None
        if not plain:
            return None
        return _as_lines(self._buf, starts, end)

    def _packets(self, rfile: Any) -> tuple[list[int], int, bool]:
        """Reads the row packets up to the EOF packet into the buffer: where each row starts, where the rows
        end, and whether every row is one packet with a plain (non-NULL, shorter than 16 MiB) value."""
        buf = self._buf
        have = 0
        starts: list[int] = []
        add = starts.append
        pos = 0
        plain = True
        continued = False
        while True:
            last = have - 5
            while pos <= last:
                first = buf[pos + 4]
                if buf[pos + 2] or continued or (first >= 0xFB and first != 0xFC):
                    # not a row packet under 64 KiB with a value of a 1- or 2-byte length: the slow path
                    size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
                    if continued or size == _MAX_PACKET or first >= 0xFE or first == 0xFB:
                        if not continued and first == 0xFE and size < 9:  # EOF: the end of the rows
                            if pos + 4 + size > have:
                                break
                            if pos + 4 + size != have:
                                raise ValueError(f"{have - pos - 4 - size} bytes after the end of the result")
                            return starts, pos, plain
                        if not continued and first == 0xFF:
                            if pos + 4 + size > have:
                                break
                            code = int.from_bytes(buf[pos + 5:pos + 7], "little")
                            message = buf[pos + 7:pos + 4 + size].decode("utf-8", "replace")
                            raise SourceError(f"server error {code} while sending rows: {message}",
                                              retryable=True)
                        plain = False
                        continued = size == _MAX_PACKET
                    else:
                        add(pos)
                    pos += 4 + size
                    continue
                add(pos)  # the common case, with as little work per row as Python allows
                pos += 4 + (buf[pos] | buf[pos + 1] << 8)
            if len(buf) - have < _READ:  # grow by doubling, into a new buffer (a result may still be viewed)
                grown = bytearray(2 * len(buf))
                grown[:have] = buf[:have]
                buf = self._buf = grown
            if not have:  # what pymysql's reader holds (read1 asks the socket only when it holds nothing)
                data = rfile.read1(_READ)
                got = len(data)
                buf[:got] = data
            else:  # its buffer is empty now: one socket read each time, straight into ours
                with memoryview(buf) as view:
                    got = rfile.readinto1(view[have:have + _READ])
            if not got:
                raise ValueError("the server closed the connection in the middle of a result")
            have += got


def _as_lines(buf: bytearray, starts: list[int], end: int) -> Lines:
    """Row packets to lines, in place (see the module docstring)."""
    if not starts:
        return Lines(memoryview(b""), 0)
    arr = np.frombuffer(buf, dtype=np.uint8, count=end + 1)
    at = np.array(starts, dtype=np.int64)
    first = arr[at + 4]
    arr[end] = 10
    arr[at] = 10
    for k in (1, 2, 3, 4):
        arr[at + k] = FILLER
    wide = at[first >= 0xFC]  # 0xFC: a 2-byte length follows, 0xFD: a 3-byte one
    arr[wide + 5] = FILLER
    arr[wide + 6] = FILLER
    arr[at[first == 0xFD] + 7] = FILLER
    return Lines(memoryview(buf)[1:end + 1], len(starts))
