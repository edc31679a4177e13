"""The live source: a server's binlog, streamed over the MySQL replication protocol as ``RawEvent``s.

``LiveSource`` logs in with pymysql (handshake and authentication only), prepares the session as a replica
does (``@master_binlog_checksum``, ``@master_heartbeat_period``, MariaDB's ``@mariadb_slave_capability`` and
``@slave_connect_state``), registers (``COM_REGISTER_SLAVE``) and asks for the binlog
(``COM_BINLOG_DUMP`` from a file and position, ``COM_BINLOG_DUMP_GTID`` from a MySQL GTID set, or a MariaDB
GTID position). Then ``replication_protocol.PacketStream`` reads the events and ``framing`` frames them
(CRC32 checked), exactly as they are in the server's binlog files.

The stream also carries the server's artificial events: a ROTATE (``log_pos`` 0) naming the file at the
start, FORMAT_DESCRIPTION copies, MariaDB's GTID_LIST, and HEARTBEAT events while the binlog is idle (their
``log_pos`` is the server's current end of binlog). When the connection is lost, the source reconnects
with exponential backoff and continues right after the last event it yielded; the ROTATE and
FORMAT_DESCRIPTION copy that a reconnect replays are not yielded again, so the stream reads as unbroken.

Errors are ``SourceError``s naming the server as ``mysql://user:***@host:port/``: the password never
appears in a message, a ``repr`` or a log line.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import pymysql

from storagecdc.errors import ConfigError, SourceError
from storagecdc.model import SourcePosition
from storagecdc.source import tls
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.framing import CHECKSUM_CRC32, CHECKSUM_OFF, FormatState, decode_packet_event
from storagecdc.source.gtid import MariaDBGtidPos, MySQLGtidSet
from storagecdc.source.replication_protocol import (
    BINLOG_DUMP_NON_BLOCK,
    BINLOG_SEND_ANNOTATE_ROWS_EVENT,
    ER_ACCESS_DENIED,
    ER_MASTER_FATAL_ERROR_READING_BINLOG,
    ConnectionLost,
    PacketStream,
    ServerError,
    binlog_dump,
    binlog_dump_gtid,
    parse_error,
    register_slave,
)
from storagecdc.source.replication_uri import ReplicationUri

log = logging.getLogger(__name__)

LOG_EVENT_ARTIFICIAL_F = 0x20
"""Header flag of events the server made up for the stream (they are not in the binlog file)."""
MARIA_SLAVE_CAPABILITY_GTID = 4
"""``@mariadb_slave_capability``: the replica understands GTID events (sent as they are in the file)."""

_NOT_RETRYABLE = frozenset({1044, ER_ACCESS_DENIED, 1142, 1227, ER_MASTER_FATAL_ERROR_READING_BINLOG})
"""Server errors that no reconnect can cure: access denied, missing privileges, binlog not readable."""
_ER_UNKNOWN_SYSTEM_VARIABLE = 1193
_ER_PARSE_ERROR = 1064

Start = SourcePosition | MySQLGtidSet | MariaDBGtidPos | None
"""Where a ``LiveSource`` starts: a file and offset (``SourcePosition.gtid_set`` is not used), every
transaction not in a MySQL GTID set, the transactions after a MariaDB GTID position, or (None) the
oldest binlog the server still has."""


def _is_mariadb(conn: pymysql.Connection[Any]) -> bool:
    return "mariadb" in str(getattr(conn, "server_version", "")).lower()


class LiveSource:
    """The binlog of one server, read as a replica.

    ``uri``: ``mysql://user:password@host:port/?server-id=N&...`` (options in ``replication_uri``).
    ``blocking``: wait for new events forever (True), or end ``events()`` at the current end of the binlog
    (False, for "catch up until now").
    """

    def __init__(self, uri: str | ReplicationUri, start: Start = None, *, blocking: bool = True) -> None:
        self.uri = uri if isinstance(uri, ReplicationUri) else ReplicationUri.parse(uri)
        if start is not None and not isinstance(start, SourcePosition | MySQLGtidSet | MariaDBGtidPos):
            raise ConfigError(f"live source start must be a position or a GTID set, not {type(start).__name__}")
        if isinstance(start, SourcePosition) and not (start.file and start.offset >= 4):
            raise ConfigError(f"live source start position needs a binlog file and an offset >= 4: {start}")
        self.start = start
        self.blocking = blocking
        self.state = FormatState()
        """The framing state (checksum, header lengths) of the stream, shared with the event decoder."""
        self.reconnects = 0
        """How many times the connection was re-established after a loss."""
        self.is_mariadb: bool | None = None
        self._file = start.file if isinstance(start, SourcePosition) else ""
        self._pos = start.offset if isinstance(start, SourcePosition) else 0
        self._stream: PacketStream | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"LiveSource({self.uri.redacted()!r}, position={self.position}, blocking={self.blocking})"

    @property
    def position(self) -> SourcePosition | None:
        """Where the stream continues: the file and the offset after the last event yielded (None until
        the server has named the file)."""
        return SourcePosition(self._file, self._pos) if self._file and self._pos else None

    # -- the stream ----------------------------------------------------------------------------------------

    def events(self) -> Iterator[RawEvent]:
        """The server's binlog events from the start position, heartbeats included, in order.

        Reconnects after a lost connection (``max-reconnects`` attempts, exponential backoff); a failure
        of the very first connection, a refused login and a purged binlog raise ``SourceError`` at once.
        """
        attempt = 0
        delivered = False
        while not self._stopped():
            resuming = self.position is not None and delivered
            try:
                self._stream = self._open_stream(resuming)
                for event in self._pump(self._stream, resuming):
                    if not delivered or attempt:
                        delivered, attempt = True, 0
                    yield event
                return
            except SourceError as e:
                if self._stopped():
                    return
                if not (e.retryable and delivered):
                    raise
                if 0 <= self.uri.max_reconnects <= attempt:
                    raise SourceError(
                        f"gave up on server {self.uri} after {attempt} reconnect attempts "
                        f"at {self._file}:{self._pos}: {e}",
                        retryable=True,
                    ) from e
                delay = min(self.uri.reconnect_backoff * 2**attempt, self.uri.reconnect_backoff_max)
                log.warning("live source %s: %s; reconnecting in %.1f s", self.uri, e, delay)
                self._close_stream()
                time.sleep(delay)
                attempt += 1
                self.reconnects += 1
            finally:
                self._close_stream()

    def _pump(self, stream: PacketStream, resuming: bool) -> Iterator[RawEvent]:
        """Frame the dump stream's packets; keep the position; hide a reconnect's replayed events."""
        state = self.state
        skipping = resuming
        resume_file = self._file
        while True:
            packet = stream.receive()
            head = packet[0] if packet else -1
            if head != 0:
                if head == 0xFE and len(packet) < 9:
                    if self.blocking:  # e.g. a server shutting down: the binlog itself has no end
                        raise ConnectionLost(f"server {self.uri} ended the binlog stream at {self._where()}")
                    return
                if head == 0xFF:
                    raise self._dump_error(parse_error(packet, str(self.uri)))
                raise SourceError(f"server {self.uri} sent an unexpected packet {head:#x} after {self._where()}")
            event = decode_packet_event(packet[1:], state, self._file)
            code = event.type_code
            artificial = event.log_pos == 0 or event.flags & LOG_EVENT_ARTIFICIAL_F
            if code == et.ROTATE:
                body = event.body
                self._pos = int.from_bytes(body[:8], "little")
                name = body[8:].decode("utf-8", "replace")
                if artificial:
                    event.file = name  # it stands for the file it names
                    if skipping and name == resume_file:
                        self._file = name
                        continue
                else:
                    skipping = False
                self._file = name
            elif code in (et.HEARTBEAT, et.HEARTBEAT_V2):
                yield event
                continue
            else:
                if event.log_pos:
                    self._pos = event.log_pos
                if skipping:
                    if artificial:
                        continue
                    skipping = False
            yield event

    def _where(self) -> str:
        return f"{self._file or '(first binlog)'}:{self._pos}"

    def _dump_error(self, error: ServerError) -> SourceError:
        if error.code == ER_MASTER_FATAL_ERROR_READING_BINLOG:
            if self._file:
                start = f"binlog {self._where()}"
            else:
                start = f"GTID position {self.start}" if self.start else "the oldest binlog"
            text = error.server_message
            hint = (
                "The binlog there was purged (SHOW BINARY LOGS lists what is left): start from a position "
                "or GTID set the server still has, or take a new snapshot"
                if "purged" in text or "Could not find" in text
                else "Start from the position of an event boundary (SHOW BINLOG EVENTS lists them)"
            )
            return ServerError(
                f"server {self.uri} cannot send its binlog from {start} (error {error.code}: {text}). {hint}",
                error.code,
                text,
            )
        error.retryable = error.code not in _NOT_RETRYABLE
        return error

    def _stopped(self) -> bool:
        return self._closed  # a call, so that type checkers do not take it as constant inside the loop

    def close(self) -> None:
        """Stop streaming (from any thread): ``events()`` ends without reconnecting."""
        self._closed = True
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- connecting ------------------------------------------------------------------------------------------

    def connect(self, sock: socket.socket | None = None) -> pymysql.Connection[Any]:
        """A new logged-in pymysql connection (on ``sock`` when given), e.g. to read information_schema;
        the caller closes it. Failures are ``SourceError``s without the password."""
        uri = self.uri
        conn: pymysql.Connection[Any] = tls.Connection(
            host=uri.host,
            port=uri.port,
            user=uri.user,
            password=uri.password,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=uri.connect_timeout,
            read_timeout=uri.connect_timeout,
            write_timeout=uri.connect_timeout,
            defer_connect=True,
        )
        try:
            conn.connect(sock)
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
            text = str(e.args[1]) if len(e.args) > 1 else str(e)
            if code == ER_ACCESS_DENIED:
                raise SourceError(f"server {uri} refused the login: {self._scrub(text)}") from None
            raise SourceError(f"cannot connect to server {uri}: {self._scrub(text)}", retryable=True) from None
        return conn

    def _scrub(self, text: str) -> str:
        password = self.uri.password
        return text.replace(password, "***") if len(password) >= 3 else text

    def _open_stream(self, resuming: bool) -> PacketStream:
        uri = self.uri
        try:
            sock = socket.create_connection((uri.host, uri.port), timeout=uri.connect_timeout)
        except OSError as e:
            raise SourceError(f"cannot connect to server {uri}: {e.strerror or e}", retryable=True) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        conn = self.connect(sock)
        stream = PacketStream(sock, str(uri), uri.read_timeout, owner=conn)
        try:
            command = self._prepare_session(conn, resuming)
            stream.command(register_slave(uri.server_id))
            stream.send(command)
        except ServerError as e:
            stream.close()
            raise self._dump_error(e) from None
        except BaseException:
            stream.close()
            raise
        log.info("live source %s: streaming from %s", uri, self._where() if resuming or self._file else self.start)
        return stream

    def _prepare_session(self, conn: pymysql.Connection[Any], resuming: bool) -> bytes:
        """Set the replica's session variables; returns the dump command to send."""
        self.is_mariadb = _is_mariadb(conn)
        start = None if resuming else self.start
        flags = 0 if self.blocking else BINLOG_DUMP_NON_BLOCK
        heartbeat_ns = int(self.uri.heartbeat_interval * 1e9)
        statements = [f"SET @{who}_heartbeat_period = {heartbeat_ns}" for who in ("master", "source")]
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT @@global.binlog_checksum")
                row = cur.fetchone()
                checksum = str(row[0]).upper() if row else "NONE"
                statements.append("SET @master_binlog_checksum = @@global.binlog_checksum")
                statements.append("SET @source_binlog_checksum = @@global.binlog_checksum")
            except pymysql.err.MySQLError as e:
                if e.args[0] != _ER_UNKNOWN_SYSTEM_VARIABLE:
                    raise
                checksum = "NONE"  # a server older than binlog checksums
            self.state.checksum_alg = CHECKSUM_CRC32 if checksum == "CRC32" else CHECKSUM_OFF
            if self.is_mariadb:
                flags |= BINLOG_SEND_ANNOTATE_ROWS_EVENT
                statements.append(f"SET @mariadb_slave_capability = {MARIA_SLAVE_CAPABILITY_GTID}")
                if isinstance(start, MySQLGtidSet):
                    raise ConfigError(f"server {self.uri} is MariaDB: start from a MariaDB GTID position")
                if isinstance(start, MariaDBGtidPos):
                    statements.append(f"SET @slave_connect_state = '{start}'")
                    statements.append("SET @slave_gtid_strict_mode = 1")
            elif isinstance(start, MariaDBGtidPos):
                raise ConfigError(f"server {self.uri} is MySQL: start from a MySQL GTID set")
            try:
                for sql in statements:
                    cur.execute(sql)
            except pymysql.err.MySQLError as e:
                raise SourceError(f"server {self.uri} refused to set up replication: {e.args[-1]}") from None
        server_id = self.uri.server_id
        if isinstance(start, MySQLGtidSet):
            return binlog_dump_gtid(start.encode_sid_block(), server_id, flags)
        if isinstance(start, MariaDBGtidPos) or (start is None and not resuming):
            return binlog_dump("", 4, server_id, flags)
        return binlog_dump(self._file, max(self._pos, 4), server_id, flags)

    # -- the server's own view ---------------------------------------------------------------------------------

    def _query(self, sql: str) -> tuple[Any, ...] | None:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(sql)
            row: tuple[Any, ...] | None = cur.fetchone()
            return row

    def server_gtid_executed(self) -> str:
        """The server's executed GTID set (MySQL ``gtid_executed``, MariaDB ``gtid_binlog_pos``); "" if none."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            mariadb = _is_mariadb(conn)
            try:
                cur.execute("SELECT @@GLOBAL.gtid_binlog_pos" if mariadb else "SELECT @@GLOBAL.gtid_executed")
            except pymysql.err.MySQLError as e:
                if e.args[0] == _ER_UNKNOWN_SYSTEM_VARIABLE:
                    return ""  # a server without GTIDs
                raise SourceError(f"server {self.uri}: cannot read its GTID set: {e.args[-1]}") from None
            row = cur.fetchone()
            return str(row[0] or "").replace("\n", "") if row else ""

    def server_position(self) -> SourcePosition:
        """The server's current end of binlog (file, offset, executed GTID set): "now" as a start."""
        row: tuple[Any, ...] | None = None
        for sql in ("SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"):  # the second for MySQL 8.4+
            try:
                row = self._query(sql)
                break
            except pymysql.err.MySQLError as e:
                if e.args[0] != _ER_PARSE_ERROR:
                    raise SourceError(f"server {self.uri}: {sql} failed: {e.args[-1]}") from None
        if not row:
            raise SourceError(f"server {self.uri} has no binary log (log_bin is off)")
        return SourcePosition(str(row[0]), int(row[1]), self.server_gtid_executed())
