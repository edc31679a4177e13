"""MySQL client/server packets for the replication stream, on a socket that has already logged in.

pymysql does the handshake and authentication (and the ``SET @...`` queries); then ``PacketStream`` owns the
socket: it frames packets (4-byte header: 3-byte length, sequence id; payloads of 16 MiB - 1 continue in the
next packet), sends the replication commands and reads the dump stream. It knows nothing about the events
inside the packets: a dump-stream packet is ``0x00`` + one binlog event, ``0xFE`` (short) at the end of the
binlog in non-blocking mode, or ``0xFF`` + an error.
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct

from storagecdc.errors import SourceError

COM_BINLOG_DUMP = 0x12
COM_REGISTER_SLAVE = 0x15
COM_BINLOG_DUMP_GTID = 0x1E

BINLOG_DUMP_NON_BLOCK = 0x01
"""Dump flag: send EOF at the end of the binlog instead of waiting for more."""
BINLOG_SEND_ANNOTATE_ROWS_EVENT = 0x02
"""MariaDB dump flag: send ANNOTATE_ROWS events (the statement text of row events)."""
BINLOG_THROUGH_POSITION = 0x02
"""MySQL ``COM_BINLOG_DUMP_GTID`` flag: start at the file and position given."""
BINLOG_THROUGH_GTID = 0x04
"""MySQL ``COM_BINLOG_DUMP_GTID`` flag: a GTID set (SID block) follows."""

ER_ACCESS_DENIED = 1045
ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236

MAX_PAYLOAD = 0xFFFFFF
_HEADER = struct.Struct("<I")
_U32 = _HEADER.unpack


class ConnectionLost(SourceError):
    """The connection to the server broke or timed out; reconnecting may help."""

    retryable = True


class ServerError(SourceError):
    """The server answered with an error packet (``code`` is the MySQL error number)."""

    def __init__(self, message: str, code: int, server_message: str = "", *, retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code
        self.server_message = server_message


def register_slave(server_id: int) -> bytes:
    """``COM_REGISTER_SLAVE`` without host, user, password or port (the server needs none of them)."""
    return struct.pack("<BIBBBHII", COM_REGISTER_SLAVE, server_id, 0, 0, 0, 0, 0, 0)


def binlog_dump(file: str, position: int, server_id: int, flags: int) -> bytes:
    """``COM_BINLOG_DUMP`` from ``file`` at ``position`` (an empty name: the oldest binlog)."""
    if not 0 <= position < 1 << 32:
        raise SourceError(f"binlog position {position} of {file!r} does not fit COM_BINLOG_DUMP's 4 bytes")
    return struct.pack("<BIHI", COM_BINLOG_DUMP, position, flags, server_id) + file.encode()


def binlog_dump_gtid(sid_block: bytes, server_id: int, flags: int, file: str = "", position: int = 4) -> bytes:
    """``COM_BINLOG_DUMP_GTID`` (MySQL): stream every transaction that is not in the encoded GTID set."""
    name = file.encode()
    flags |= BINLOG_THROUGH_GTID
    return (
        struct.pack("<BHII", COM_BINLOG_DUMP_GTID, flags, server_id, len(name))
        + name
        + struct.pack("<QI", position, len(sid_block))
        + sid_block
    )


def parse_error(payload: bytes, server: str) -> ServerError:
    """The ``ServerError`` an ``0xFF`` error packet carries."""
    code = int.from_bytes(payload[1:3], "little") if len(payload) >= 3 else 0
    text = payload[3:]
    if text[:1] == b"#":  # '#' + 5-character SQL state
        text = text[6:]
    message = text.decode("utf-8", "replace")
    return ServerError(f"server {server} refused: error {code}: {message}", code, message)


class PacketStream:
    """Packets over a connected socket. ``server`` names the peer in messages (redacted, no password);
    ``owner`` is kept alive with the stream (pymysql's connection closes the socket when collected)."""

    def __init__(self, sock: socket.socket, server: str, read_timeout: float, owner: object = None) -> None:
        self._sock = sock
        self._owner = owner
        self.server = server
        sock.settimeout(read_timeout)
        self._rfile = io.BufferedReader(sock.makefile("rb", buffering=0), 1 << 18)
        self._seq = 0

    def send(self, payload: bytes) -> None:
        """Send one command (a command starts a new sequence: id 0)."""
        if len(payload) >= MAX_PAYLOAD:
            raise SourceError(f"command of {len(payload)} bytes is too large for server {self.server}")
        try:
            self._sock.sendall(_HEADER.pack(len(payload))[:3] + b"\x00" + payload)
        except OSError as e:
            raise ConnectionLost(f"lost connection to server {self.server} while sending: {e}") from e
        self._seq = 1

    def receive(self) -> bytes:
        """One whole payload (continuation packets joined); checks the sequence ids."""
        read = self._rfile.read
        chunks: list[bytes] = []
        try:
            while True:
                head = read(4)
                if len(head) != 4:
                    raise ConnectionLost(f"server {self.server} closed the connection")
                header = _U32(head)[0]
                length = header & MAX_PAYLOAD
                if header >> 24 != self._seq:
                    raise ConnectionLost(
                        f"packet out of order from server {self.server}: got {header >> 24}, expected {self._seq}"
                    )
                self._seq = (self._seq + 1) & 0xFF
                chunk = read(length)
                if len(chunk) != length:
                    raise ConnectionLost(f"server {self.server} closed the connection")
                if length < MAX_PAYLOAD:
                    if not chunks:
                        return chunk
                    chunks.append(chunk)
                    return b"".join(chunks)
                chunks.append(chunk)
        except TimeoutError as e:
            raise ConnectionLost(f"no packet from server {self.server} in {self._sock.gettimeout()} s") from e
        except OSError as e:
            raise ConnectionLost(f"lost connection to server {self.server}: {e}") from e

    def command(self, payload: bytes) -> None:
        """Send a command that the server answers with OK (or an error, raised as ``ServerError``)."""
        self.send(payload)
        answer = self.receive()
        if answer[:1] == b"\xff":
            raise parse_error(answer, self.server)

    def close(self) -> None:
        """Shut the socket down (unblocking any reader) and close it."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._rfile.close()
        self._sock.close()
