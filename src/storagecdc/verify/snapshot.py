"""Reading the source at the output's point: a consistent snapshot whose binlog position the output reached.

``take_snapshot`` opens a REPEATABLE READ transaction with ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` and
learns the binlog position the snapshot corresponds to. MariaDB reports it lock-free in the status variables
``binlog_snapshot_file`` / ``binlog_snapshot_position`` of that very session. MySQL has no such variables:
there the snapshot is taken under a brief ``FLUSH TABLES WITH READ LOCK`` (needs RELOAD), with ``SHOW MASTER
STATUS`` (``SHOW BINARY LOG STATUS`` on 8.4+) read while writes are blocked, then ``UNLOCK TABLES``.

``align`` pairs that snapshot with the output. The resume record names the source position after the
transaction its checkpoint maps to, and only that one: the output keeps no map from any other position to a
commit-ts. So the rule is:

- the output's position is behind the snapshot's: poll (``poll_s``) until it gets there, unless the binlog
  in between holds nothing the filter selects (``gap``: an idle rotation, writes to other tables), which
  makes the two positions equivalent;
- it is exactly at the snapshot's position: the cut is found; the output is replayed up to the resume
  record's checkpoint-ts, which holds every change at or before the snapshot's position and none after it
  (the record is written only for a checkpoint whose data is durable, before ``metadata``, whose writes the
  sink may hold back: the replay does not wait for ``metadata``);
- it is past the snapshot's position (the source kept changing and the changefeed kept up): release the
  snapshot and take a new one, which will be at or past the output again.

When ``wait_s`` runs out first, ``CannotVerify`` says which: the output lags, or the source moved on every
attempt (a busy source: verify when writes pause, or compare a consumed target with ``--target`` only).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from storagecdc.errors import ConsumerError
from storagecdc.runtime.resume import read_resume
from storagecdc.storage.base import ObjectStore
from storagecdc.table_filter import TableFilter
from storagecdc.verify.gap import nothing_selected_between
from storagecdc.verify.sides import connect_mysql

log = logging.getLogger(__name__)

Position = tuple[str, int]


class CannotVerify(ConsumerError):
    """The source and the output could not be brought to the same point (exit code 3)."""


@dataclass(slots=True)
class SourceSnapshot:
    """An open consistent-snapshot transaction on the source and the binlog position it corresponds to."""

    conn: pymysql.Connection[Any]
    position: Position

    def close(self) -> None:
        with contextlib.suppress(pymysql.err.Error):
            self.conn.rollback()
        self.conn.close()


@dataclass(slots=True)
class Cut:
    """A snapshot of the source and the output point equal to it."""

    snapshot: SourceSnapshot
    until_ts: int
    """Replay the output's changes with commit-ts at or below this (the resume record's checkpoint)."""
    last_commit_ts: int
    """The commit-ts of the last transaction at or before the snapshot's position."""


def _status(cur: Any) -> dict[str, str]:
    cur.execute("SHOW SESSION STATUS LIKE 'binlog\\_snapshot\\_%'")
    return {str(k).lower(): str(v) for k, v in cur.fetchall()}


def _master_status(cur: Any) -> Position:
    for statement in ("SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"):
        try:
            cur.execute(statement)
        except pymysql.err.ProgrammingError:
            continue
        row = cur.fetchone()
        if row is None:
            raise ConsumerError("the source has no binary log enabled (SHOW MASTER STATUS is empty)")
        return str(row[0]), int(row[1])
    raise ConsumerError("the source answers neither SHOW MASTER STATUS nor SHOW BINARY LOG STATUS")


def take_snapshot(uri: str, *, locked: bool = False) -> SourceSnapshot:
    """A consistent snapshot of the source and its binlog position (see the module docstring); ``locked``
    uses the FLUSH TABLES WITH READ LOCK method even where the lock-free one is available."""
    conn = connect_mysql(uri)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if not locked:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                status = _status(cur)
                if status.get("binlog_snapshot_file"):
                    position = (status["binlog_snapshot_file"], int(status["binlog_snapshot_position"]))
                    return SourceSnapshot(conn, position)
                cur.execute("ROLLBACK")
            cur.execute("FLUSH TABLES WITH READ LOCK")
            try:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                position = _master_status(cur)
            finally:
                cur.execute("UNLOCK TABLES")
            return SourceSnapshot(conn, position)
    except pymysql.err.Error as exc:
        conn.close()
        raise ConsumerError(f"cannot take a consistent snapshot of the source: {exc.args[-1] if exc.args else exc}"
                            ) from None
    except BaseException:
        conn.close()
        raise


def _fmt(pos: Position | None) -> str:
    return "none (no checkpoint yet)" if pos is None else f"{pos[0]}:{pos[1]}"


def align(source_uri: str, store: ObjectStore, table_filter: TableFilter, *, wait_s: float, poll_s: float = 0.2,
          clock: Callable[[], float] = time.monotonic) -> Cut:
    """A snapshot of the source at the output's resume position (the caller closes ``cut.snapshot``)."""
    deadline = clock() + wait_s
    attempts = 0
    while True:
        attempts += 1
        snap = take_snapshot(source_uri)
        keep = False
        checked: set[Position] = set()
        try:
            while True:
                record = read_resume(store)
                pos = (record.state.position.file, record.state.position.offset) if record is not None else None
                if record is not None and pos == snap.position:
                    keep = True
                    log.info("source snapshot at %s matches the output's checkpoint %d", _fmt(pos),
                             record.checkpoint_ts)
                    return Cut(snap, record.checkpoint_ts, record.state.last_commit_ts)
                if pos is not None and pos > snap.position:
                    break
                if record is not None and pos is not None and pos not in checked:
                    checked.add(pos)
                    if nothing_selected_between(snap.conn, pos, snap.position, table_filter):
                        keep = True
                        log.info("nothing selected between the output's position %s and the source snapshot at "
                                 "%s", _fmt(pos), _fmt(snap.position))
                        return Cut(snap, record.checkpoint_ts, record.state.last_commit_ts)
                if clock() >= deadline:
                    raise CannotVerify(f"the output lags: its checkpoint is at source position {_fmt(pos)}, the "
                                       f"source snapshot at {_fmt(snap.position)} (waited {wait_s:g} s)")
                time.sleep(poll_s)
        finally:
            if not keep:
                snap.close()
        log.info("the output moved past the source snapshot at %s; taking a new snapshot", _fmt(snap.position))
        if clock() >= deadline:
            raise CannotVerify(f"cannot verify: the source moved during every one of {attempts} snapshots in "
                               f"{wait_s:g} s (verify while writes pause, or compare a consumed --target)")
