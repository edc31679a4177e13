"""A consistent point: snapshot readers in snapshot transactions that all see the same binlog position.

MariaDB reports, inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, the binlog file and position that
the snapshot corresponds to (status ``Binlog_snapshot_file``/``Binlog_snapshot_position``), without any lock;
``BINLOG_GTID_POS(file, pos)`` gives the GTID position there. Every reader takes a snapshot (all asked at
once) and their positions are compared: when they agree, they see the same data. A busy server may commit
between them, so after a few attempts (and always on MySQL, which has no snapshot position) the snapshots are
taken the way mysqldump does it: ``FLUSH TABLES WITH READ LOCK`` on one connection (commits wait), the
position from ``SHOW BINARY LOG STATUS`` (``SHOW MASTER STATUS`` before MySQL 8.2 and on MariaDB) with
``gtid_executed``, every reader's ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, then ``UNLOCK TABLES``:
the lock lasts a few round trips. That needs the RELOAD privilege.

The changefeed's process keeps one more connection (``meta``) for information_schema, the server clock and
GTID positions.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from storagecdc.errors import SourceError
from storagecdc.model import SourcePosition
from storagecdc.snapshot.process_reader import ProcessReader
from storagecdc.snapshot.thread_reader import ThreadReader
from storagecdc.snapshot.workers import Reader
from storagecdc.source.live import LiveSource

log = logging.getLogger(__name__)

LOCK_FREE_ATTEMPTS = 5
"""MariaDB: how many times several lock-free snapshots are tried before the brief global read lock."""


@dataclass
class ConsistentPoint:
    """Readers inside snapshot transactions at ``position``; ``close()`` ends them."""

    position: SourcePosition
    """The binlog position (and executed GTID set) the snapshot corresponds to."""
    server_ms: int
    """The server's clock when the snapshot was taken (milliseconds since the epoch)."""
    mariadb: bool
    workers: list[Reader]
    meta: pymysql.Connection[Any]
    locked: bool
    """True when the snapshot needed ``FLUSH TABLES WITH READ LOCK``."""

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers.clear()
        with contextlib.suppress(Exception):
            self.meta.close()


def take_point(source: LiveSource, uri: str, readers: int, *,
               threads: bool | Callable[[pymysql.Connection[Any]], bool] = False,
               lock_free_attempts: int | None = None) -> ConsistentPoint:
    """Start ``readers`` readers for ``uri`` (threads of this process, else processes: ``snapshot.workers``;
    ``threads`` may decide from the server, through the ``meta`` connection) that each hold a snapshot of the
    same binlog position (MariaDB: lock-free for up to ``lock_free_attempts`` tries, default
    ``LOCK_FREE_ATTEMPTS`` as it is when called)."""
    if lock_free_attempts is None:
        lock_free_attempts = LOCK_FREE_ATTEMPTS
    workers: list[Reader] = []
    meta = None
    try:
        meta = source.connect()
        kind = ThreadReader if (threads(meta) if callable(threads) else threads) else ProcessReader
        workers.extend(kind(uri, i) for i in range(readers))
        for worker in workers:
            worker.ready()
        mariadb = workers[0].mariadb
        position = _lock_free(meta, workers, lock_free_attempts) if mariadb else None
        locked = position is None
        if position is None:
            position = _with_read_lock(source, meta, workers, mariadb)
        server_ms = int(_one(meta, "SELECT ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000)"))
        log.info("snapshot: consistent point %s:%d%s (%d reader(s)%s)", position.file, position.offset,
                 f" gtid {position.gtid_set}" if position.gtid_set else "", readers,
                 ", global read lock" if locked else "")
        return ConsistentPoint(position, server_ms, mariadb, workers, meta, locked)
    except BaseException as exc:
        for worker in workers:
            worker.close()
        if meta is not None:
            with contextlib.suppress(Exception):
                meta.close()
        if isinstance(exc, pymysql.err.MySQLError):
            raise SourceError(f"server {source.uri}: cannot take a consistent snapshot: {exc}",
                              retryable=True) from None
        raise


def _one(conn: pymysql.Connection[Any], sql: str, args: Any = None) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row[0] if row else None


def _begin_all(workers: list[Reader]) -> list[Any]:
    for worker in workers:
        worker.send("begin")
    return [worker.expect("pos") for worker in workers]


def _lock_free(meta: pymysql.Connection[Any], workers: list[Reader], attempts: int) -> SourcePosition | None:
    for attempt in range(attempts):
        positions = [tuple(p) for p in _begin_all(workers)]
        if len(set(positions)) == 1:
            file, offset = positions[0]
            gtid = _one(meta, "SELECT BINLOG_GTID_POS(%s, %s)", (file, offset))
            return SourcePosition(str(file), int(offset), str(gtid or ""))
        log.debug("snapshot: readers saw different positions %s (attempt %d)", positions, attempt + 1)
        for worker in workers:
            worker.send("rollback")
        for worker in workers:
            worker.expect("ok")
    return None


def _with_read_lock(source: LiveSource, meta: pymysql.Connection[Any], workers: list[Reader],
                    mariadb: bool) -> SourcePosition:
    lock = source.connect()
    try:
        with lock.cursor() as cur:
            cur.execute("FLUSH TABLES WITH READ LOCK")
            try:
                file, offset, gtid = _master_status(cur, mariadb)
                positions = _begin_all(workers)
            finally:
                cur.execute("UNLOCK TABLES")
    finally:
        lock.close()
    if mariadb:
        file, offset = positions[0]
        gtid = str(_one(meta, "SELECT BINLOG_GTID_POS(%s, %s)", (file, offset)) or "")
    return SourcePosition(str(file), int(offset), gtid)


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
