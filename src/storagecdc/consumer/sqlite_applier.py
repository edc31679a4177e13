"""The embedded target: one SQLite file, each MySQL table ``db.t`` the SQLite table named ``"db.t"``.

Values are stored losslessly (``consumer.sqlite_values``). DDL is applied from the schema files' column lists,
not from the MySQL text: CREATE builds the table from its columns (primary key included, no other
constraints), RENAME/DROP/TRUNCATE act directly, and anything that changes columns rebuilds the table and
copies the rows by column name (added columns get their default). DML: inserts and ``U`` upserts are
``INSERT OR REPLACE`` for tables with a primary key, updates ``UPDATE ... WHERE <pk>`` (delete + insert when
the key changes); a table without a primary key deletes and updates one matching row (``IS`` comparisons, so
NULLs match). Everything runs in one SQLite transaction per ``commit``, progress included.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from storagecdc.consumer.applier import DdlChange, TableChange
from storagecdc.consumer.changes import DELETE, INSERT, UPDATE, UPSERT, Change
from storagecdc.consumer.progress import PROGRESS_TABLE
from storagecdc.consumer.sqlite_values import declared_type, default_value, from_sqlite, to_sqlite
from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.model import TableInfo, TableName

_REBUILD_SUFFIX = "\x1fstoragecdc-rebuild"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_table_name(name: TableName) -> str:
    """The SQLite table of a MySQL table: ``<database>.<table>`` (one identifier, quoted when used)."""
    return f"{name.schema}.{name.table}"


class _Statements:
    """The DML of one table version, built once."""

    def __init__(self, info: TableInfo) -> None:
        t = quote_ident(sqlite_table_name(info.name))
        cols = [quote_ident(c.name) for c in info.columns]
        self.pk = info.pk_indexes
        self.converters = [to_sqlite(c) for c in info.columns]
        marks = ", ".join("?" * len(cols))
        verb = "INSERT OR REPLACE" if self.pk else "INSERT"
        self.insert = f"{verb} INTO {t} ({', '.join(cols)}) VALUES ({marks})"
        every = " AND ".join(f"{c} IS ?" for c in cols)
        if self.pk:
            where = " AND ".join(f"{cols[i]} = ?" for i in self.pk)
            self.delete = f"DELETE FROM {t} WHERE {where}"
            self.update = f"UPDATE {t} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {where}"
        else:
            self.delete = f"DELETE FROM {t} WHERE rowid = (SELECT rowid FROM {t} WHERE {every} LIMIT 1)"
            self.update = ""

    def convert(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v if v is None or f is None else f(v)
                     for f, v in zip(self.converters, row, strict=True))

    def key(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in self.pk)

    def operations(self, changes: Sequence[Change], table: TableName) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(statement, parameters) per change, in order (a key-changing update is two)."""
        for change in changes:
            row = self.convert(change.row)
            kind = change.kind
            if kind is INSERT:
                yield self.insert, row
            elif kind is DELETE:
                yield self.delete, (self.key(row) if self.pk else row)
            elif kind is UPSERT:
                if not self.pk:
                    raise ConsumerError(f"table {table}: an UPDATE written without old values (U record) cannot "
                                        "be applied to a table without a primary key; write with output-old-value")
                yield self.insert, row
            else:
                assert change.old is not None and kind is UPDATE
                old = self.convert(change.old)
                if self.pk and self.key(old) == self.key(row):
                    yield self.update, row + self.key(old)
                else:
                    yield self.delete, (self.key(old) if self.pk else old)
                    yield self.insert, row


class SqliteApplier:
    """``Applier`` over a SQLite database file."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        try:
            self._db = sqlite3.connect(self._path, isolation_level=None)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        except sqlite3.Error as exc:
            raise ConsumerError(f"cannot open SQLite target {self._path}: {exc}") from exc
        self._in_txn = False
        self._statements: dict[tuple[TableName, tuple[Any, ...]], _Statements] = {}

    @classmethod
    def from_uri(cls, uri: str) -> SqliteApplier:
        """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:`` (the
        SQLAlchemy convention: the path follows the third slash)."""
        parts = urlsplit(uri)
        if parts.scheme != "sqlite" or parts.netloc or len(parts.path) < 2:
            raise ConfigError(f"SQLite target must be sqlite:///path.db (sqlite:////abs/path.db), got {uri!r}")
        return cls(unquote(parts.path[1:]))

    @property
    def display_uri(self) -> str:
        return f"sqlite:///{self._path}"

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def _begin(self) -> None:
        if not self._in_txn:
            self._db.execute("BEGIN")
            self._in_txn = True

    def load_progress(self) -> dict[str, str]:
        return dict(self._db.execute(f"SELECT k, v FROM {PROGRESS_TABLE}").fetchall())

    # -- DDL ------------------------------------------------------------------------------------------------

    def _exists(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return row is not None

    def apply_ddl(self, ddl: DdlChange) -> None:
        self._begin()
        try:
            for old, new in ddl.renames:
                src, dst = sqlite_table_name(old), sqlite_table_name(new)
                if self._exists(src) and not self._exists(dst):
                    self._db.execute(f"ALTER TABLE {quote_ident(src)} RENAME TO {quote_ident(dst)}")
            for name in ddl.dropped:
                self._db.execute(f"DROP TABLE IF EXISTS {quote_ident(sqlite_table_name(name))}")
            for change in ddl.tables:
                self._ensure(change)
            for name in ddl.truncated:
                self._db.execute(f"DELETE FROM {quote_ident(sqlite_table_name(name))}")
        except sqlite3.Error as exc:
            raise ConsumerError(f"SQLite target {self._path}: DDL at version {ddl.version} "
                                f"({ddl.query[:120]!r}) failed: {exc}") from exc
        self._statements.clear()

    def _ensure(self, change: TableChange) -> None:
        """Give the table ``change.new``'s columns: create it, or rebuild it keeping rows by column name."""
        info = change.new
        name = sqlite_table_name(info.name)
        wanted = [(c.name, declared_type(c), info.pk_indexes.index(i) + 1 if c.is_pk else 0)
                  for i, c in enumerate(info.columns)]
        if self._exists(name):
            have = [(r[1], r[2], r[5]) for r in self._db.execute(f"PRAGMA table_info({quote_ident(name)})")]
            if have == wanted:
                return
            temp = name + _REBUILD_SUFFIX
            self._db.execute(f"DROP TABLE IF EXISTS {quote_ident(temp)}")
            self._create(temp, info)
            kept = {n for n, _, _ in have}
            common = [c.name for c in info.columns if c.name in kept]
            added = [c for c in info.columns if c.name not in kept]
            cols = ", ".join(quote_ident(n) for n in [*common, *(c.name for c in added)])
            select = ", ".join([*(quote_ident(n) for n in common), *("?" * len(added))])
            self._db.execute(f"INSERT INTO {quote_ident(temp)} ({cols}) SELECT {select} FROM {quote_ident(name)}",
                             [default_value(c) for c in added])
            self._db.execute(f"DROP TABLE {quote_ident(name)}")
            self._db.execute(f"ALTER TABLE {quote_ident(temp)} RENAME TO {quote_ident(name)}")
        else:
            self._create(name, info)

    def _create(self, name: str, info: TableInfo) -> None:
        cols = [f"{quote_ident(c.name)} {declared_type(c)}".rstrip() for c in info.columns]
        if info.pk_indexes:
            cols.append(f"PRIMARY KEY ({', '.join(quote_ident(info.columns[i].name) for i in info.pk_indexes)})")
        self._db.execute(f"CREATE TABLE {quote_ident(name)} ({', '.join(cols)})")

    # -- DML ------------------------------------------------------------------------------------------------

    def _statements_for(self, info: TableInfo) -> _Statements:
        key = (info.name, info.columns)
        stmts = self._statements.get(key)
        if stmts is None:
            stmts = self._statements[key] = _Statements(info)
        return stmts

    def apply_changes(self, table: TableInfo, changes: Sequence[Change]) -> None:
        self._begin()
        stmts = self._statements_for(table)
        try:
            for sql, group in itertools.groupby(stmts.operations(changes, table.name), key=_first):
                self._db.executemany(sql, [params for _, params in group])
        except sqlite3.Error as exc:
            raise ConsumerError(f"SQLite target {self._path}: applying changes to {table.name} failed: {exc}") from exc

    def commit(self, progress: Mapping[str, str]) -> None:
        self._begin()
        self._db.executemany(f"INSERT OR REPLACE INTO {PROGRESS_TABLE} (k, v) VALUES (?, ?)", progress.items())
        self._db.execute("COMMIT")
        self._in_txn = False

    def rollback(self) -> None:
        if self._in_txn:
            self._db.execute("ROLLBACK")
            self._in_txn = False

    def close(self) -> None:
        self.rollback()
        self._db.close()

    # -- reading back ----------------------------------------------------------------------------------------

    def rows(self, info: TableInfo) -> list[tuple[Any, ...]]:
        """Every row of a table as the model's values, ordered by primary key (or by every column)."""
        convert: list[Callable[[Any], Any] | None] = [from_sqlite(c) for c in info.columns]
        cols = ", ".join(quote_ident(c.name) for c in info.columns)
        order = ", ".join(quote_ident(info.columns[i].name) for i in info.pk_indexes) or "rowid"
        cursor = self._db.execute(f"SELECT {cols} FROM {quote_ident(sqlite_table_name(info.name))} ORDER BY {order}")
        return [tuple(v if v is None or f is None else f(v) for f, v in zip(convert, row, strict=True))
                for row in cursor]

    def tables(self) -> list[str]:
        """The replayed tables' SQLite names."""
        return [r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != ? ORDER BY name", (PROGRESS_TABLE,))]


def _first(item: tuple[str, tuple[Any, ...]]) -> str:
    return item[0]
