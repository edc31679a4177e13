"""The OUTPUT side: the sink replayed by the real consumer into a temporary SQLite file, up to a commit-ts;
and the TARGET side: a database ``storagecdc consume`` wrote, with the checkpoint its progress names."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from storagecdc.consumer import Progress, Replayer, SqliteApplier, carries_commit_ts, open_applier
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.progress import PROGRESS_TABLE
from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.model import TableInfo, TableName
from storagecdc.storage.base import ObjectStore
from storagecdc.table_filter import TableFilter
from storagecdc.verify.sides import MySqlSide, Side, SqliteSide, connect_mysql


def cuts_by_commit_ts(options: ConsumerOptions) -> bool:
    """Whether the files let the replay stop at any commit-ts (False only when the protocol is known and its
    records carry no commit-ts: CSV without include-commit-ts, canal-json without the TiDB extension)."""
    return options.extension is None or carries_commit_ts(options.extension, options)


def _infos(progress: Progress, table_filter: TableFilter) -> dict[TableName, TableInfo]:
    out = {}
    for name, state in progress.tables.items():
        info = state.info
        if info is not None and name.table and table_filter.match(name):
            out[name] = info
    return out


@dataclass
class Replayed:
    """The output replayed into ``path``: its tables' schemas and the commit-ts it is consistent with."""

    side: SqliteSide
    infos: dict[TableName, TableInfo]
    checkpoint: int | None
    applier: SqliteApplier

    def close(self) -> None:
        self.applier.close()


def replay_output(store: ObjectStore, options: ConsumerOptions, path: Path, checkpoint: int | None,
                  table_filter: TableFilter) -> Replayed:
    """Replay the output into a new SQLite file at ``path``, up to ``checkpoint``.

    ``checkpoint`` must be known durable (the resume record's checkpoint, or a target's progress): when the
    files carry commit-ts the replay runs one round up to exactly it, even if ``metadata`` (whose writes the
    sink may hold back) is still below it. Otherwise (or with None) it runs up to ``metadata``.
    """
    applier = SqliteApplier(path)
    try:
        replayer = Replayer(store, applier, options)
        if checkpoint is not None and cuts_by_commit_ts(options):
            replayer.run_round(checkpoint)
            reached: int | None = checkpoint
        else:
            reached = replayer.run().checkpoint
    except BaseException:
        applier.close()
        raise
    infos = _infos(replayer.progress, table_filter)
    return Replayed(SqliteSide("output", applier.connection, infos), infos, reached, applier)


@dataclass
class Target:
    side: Side
    checkpoint: int
    infos: dict[TableName, TableInfo]
    close: Callable[[], None]


def open_target(uri: str, table_filter: TableFilter) -> Target:
    """A consumed target (``sqlite:///path.db`` or ``mysql://...``), read-only, with its progress."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "sqlite":
        parts = urlsplit(uri)
        file = unquote(parts.path[1:])
        if parts.netloc or not Path(file).is_file():
            raise ConfigError(f"--target {uri}: no such SQLite file (sqlite:///relative.db or sqlite:////abs.db)")
        db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            rows = dict(db.execute(f"SELECT k, v FROM {PROGRESS_TABLE}").fetchall())
        except sqlite3.Error as exc:
            db.close()
            raise ConsumerError(f"--target {uri}: not written by storagecdc consume ({exc})") from None
        progress = Progress.from_rows(rows)
        infos = _infos(progress, table_filter)
        return Target(SqliteSide("target", db, infos), progress.checkpoint, infos, db.close)
    applier = open_applier(uri)
    try:
        progress = Progress.from_rows(applier.load_progress())
    finally:
        applier.close()
    infos = _infos(progress, table_filter)
    conn = connect_mysql(uri)
    return Target(MySqlSide("target", conn, table_filter, infos), progress.checkpoint, infos, conn.close)
