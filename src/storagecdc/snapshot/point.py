"""A consistent point: reader connections inside snapshot transactions that all see the same binlog position.

MariaDB reports, inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, the binlog file and position that
the snapshot corresponds to (status ``Binlog_snapshot_file``/``Binlog_snapshot_position``), without any lock;
``BINLOG_GTID_POS(file, pos)`` gives the GTID position there. Several connections each take a snapshot and
their positions are compared: when they agree, they see the same data. A busy server may commit between
them, so after a few attempts (and always on MySQL, which has no snapshot position) the snapshots are taken
the way mysqldump does it: ``FLUSH TABLES WITH READ LOCK`` on one connection (commits wait), the position
from ``SHOW MASTER STATUS`` (``SHOW BINARY LOG STATUS`` on MySQL 8.4+) with ``gtid_executed``, every
reader's ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, then ``UNLOCK TABLES``: the lock lasts a few
round trips. That needs the RELOAD privilege.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, TypeAlias

import pymysql

from storagecdc.errors import SourceError
from storagecdc.model import SourcePosition
from storagecdc.source.live import LiveSource

log = logging.getLogger(__name__)

LOCK_FREE_ATTEMPTS = 5
"""MariaDB: how many times several lock-free snapshots are tried before the brief global read lock."""
_SESSION = (
    "SET SESSION time_zone = '+00:00'",  # TIMESTAMP values come back in UTC, as the binlog has them
    "SET SESSION net_write_timeout = 3600",  # a reader may wait on the sink between chunks
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
)

Conn: TypeAlias = "pymysql.Connection[Any]"


@dataclass
class ConsistentPoint:
    """Reader connections inside snapshot transactions at ``position``; ``close()`` ends them."""

    position: SourcePosition
    """The binlog position (and executed GTID set) the snapshot corresponds to."""
    server_ms: int
    """The server's clock when the snapshot was taken (milliseconds since the epoch)."""
    mariadb: bool
    connections: list[Conn]
    locked: bool
    """True when the snapshot needed ``FLUSH TABLES WITH READ LOCK``."""

    def close(self) -> None:
        for conn in self.connections:
            with contextlib.suppress(Exception):
                conn.close()
        self.connections.clear()


def take_point(source: LiveSource, readers: int, *, lock_free_attempts: int = LOCK_FREE_ATTEMPTS) -> ConsistentPoint:
    """Open ``readers`` connections that each hold a snapshot of the same binlog position (MariaDB: lock-free
    for up to ``lock_free_attempts`` tries)."""
    conns: list[Conn] = []
    try:
        for _ in range(readers):
            conns.append(_reader(source))
        mariadb = "mariadb" in str(getattr(conns[0], "server_version", "")).lower()
        point = _lock_free(conns, lock_free_attempts) if mariadb else None
        locked = point is None
        if point is None:
            point = _with_read_lock(source, conns, mariadb)
        server_ms = int(_one(conns[0], "SELECT ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000)"))
        log.info("snapshot: consistent point %s:%d%s (%d reader(s)%s)", point.file, point.offset,
                 f" gtid {point.gtid_set}" if point.gtid_set else "", readers, ", global read lock" if locked else "")
        return ConsistentPoint(point, server_ms, mariadb, conns, locked)
    except pymysql.err.MySQLError as exc:
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        raise SourceError(f"server {source.uri}: cannot take a consistent snapshot: {exc}", retryable=True) from None
    except BaseException:
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        raise


def _reader(source: LiveSource) -> Conn:
    conn = source.connect()
    with conn.cursor() as cur:
        for statement in _SESSION:
            cur.execute(statement)
    return conn


def _one(conn: Conn, sql: str, args: Any = None) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row[0] if row else None


def _begin(conn: Conn) -> None:
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


def _maria_snapshot_position(conn: Conn) -> tuple[str, int]:
    with conn.cursor() as cur:
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(k).lower(): str(v) for k, v in cur.fetchall()}
    file = status.get("binlog_snapshot_file", "")
    if not file:
        raise SourceError("the server reports no binlog snapshot position: is log_bin on?")
    return file, int(status.get("binlog_snapshot_position", "0"))


def _lock_free(conns: list[Conn], attempts: int) -> SourcePosition | None:
    for attempt in range(attempts):
        positions = []
        for conn in conns:
            _begin(conn)
            positions.append(_maria_snapshot_position(conn))
        if len(set(positions)) == 1:
            file, offset = positions[0]
            gtid = _one(conns[0], "SELECT BINLOG_GTID_POS(%s, %s)", (file, offset))
            return SourcePosition(file, offset, str(gtid or ""))
        log.debug("snapshot: readers saw different positions %s (attempt %d)", positions, attempt + 1)
        for conn in conns:
            conn.rollback()
    return None


def _with_read_lock(source: LiveSource, conns: list[Conn], mariadb: bool) -> SourcePosition:
    lock = source.connect()
    try:
        with lock.cursor() as cur:
            cur.execute("FLUSH TABLES WITH READ LOCK")
            try:
                file, offset, gtid = _master_status(cur, mariadb)
                for conn in conns:
                    _begin(conn)
                if mariadb:
                    file, offset = _maria_snapshot_position(conns[0])
                    gtid = str(_one(conns[0], "SELECT BINLOG_GTID_POS(%s, %s)", (file, offset)) or "")
            finally:
                cur.execute("UNLOCK TABLES")
    finally:
        lock.close()
    return SourcePosition(file, offset, gtid)


def _master_status(cur: Any, mariadb: bool) -> tuple[str, int, str]:
    try:
        cur.execute("SHOW BINARY LOG STATUS")
    except pymysql.err.ProgrammingError:
        cur.execute("SHOW MASTER STATUS")
    row = cur.fetchone()
    if not row:
        raise SourceError("SHOW MASTER STATUS returned nothing: is log_bin on?")
    gtid = ""
    if not mariadb and len(row) >= 5 and row[4]:
        gtid = str(row[4]).replace("\n", "")
    return str(row[0]), int(row[1]), gtid
