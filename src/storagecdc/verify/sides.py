"""The sides verify reads: a MySQL/MariaDB server (``MySqlSide``) and a consumer-written SQLite file
(``SqliteSide``), both behind ``Side``: which tables exist, their columns, row counts and rows by column name.

Rows are streamed (pymysql's unbuffered cursor, SQLite's lazy cursor), so memory does not grow with a table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.cursors

from storagecdc.consumer.sqlite_applier import quote_ident as sqlite_ident
from storagecdc.consumer.sqlite_applier import sqlite_table_name
from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.model import TableName
from storagecdc.source.replication_uri import redact
from storagecdc.table_filter import SYSTEM_SCHEMAS, TableFilter

KeyRange = tuple[str, int, int]
"""(integer key column, start, stop): the rows with ``start <= key < stop``."""


class Side(Protocol):
    """One side of a comparison."""

    label: str

    def tables(self) -> set[TableName]:
        """The tables this side holds (already selected by the filter)."""
        ...

    def columns(self, name: TableName) -> list[str] | None:
        """Column names in table order, None when the table does not exist."""
        ...

    def count(self, name: TableName) -> int:
        ...

    def key_range(self, name: TableName, column: str) -> tuple[int, int] | None:
        """The smallest and largest value of an integer column (None: no rows)."""
        ...

    def rows(self, name: TableName, columns: Sequence[str], where: KeyRange | None = None
             ) -> Iterator[tuple[Any, ...]]:
        """Every row's values of ``columns`` (only those in ``where``), in no particular order."""
        ...


def connect_mysql(uri: str, *, database: str | None = None) -> pymysql.Connection[Any]:
    """A connection to ``mysql://user:password@host:port/`` (the path and query are ignored) in UTC."""
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port or 3306
    except ValueError:
        raise ConfigError(f"bad MySQL URI {redact(uri)}: cannot read host and port") from None
    if parts.scheme not in ("mysql", "mariadb") or not host or not parts.username:
        raise ConfigError(f"bad MySQL URI {redact(uri)}: expected mysql://user:password@host:port/")
    try:
        conn = pymysql.connect(host=host, port=port, user=unquote(parts.username),
                               password=unquote(parts.password or ""), database=database, charset="utf8mb4",
                               autocommit=True, connect_timeout=10)
    except pymysql.err.Error as exc:
        raise ConsumerError(f"cannot connect to {redact(uri)}: {exc.args[-1] if exc.args else exc}") from None
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
    return conn


def mysql_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySqlSide:
    """A MySQL/MariaDB server; ``tables`` are the filter's base tables, or the ones given."""

    def __init__(self, label: str, conn: pymysql.Connection[Any], table_filter: TableFilter,
                 tables: Iterable[TableName] | None = None) -> None:
        self.label = label
        self._conn = conn
        self._filter = table_filter
        self._tables = set(tables) if tables is not None else None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def tables(self) -> set[TableName]:
        if self._tables is not None:
            return {t for t in self._tables if self.columns(t) is not None}
        rows = self._query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                           "WHERE TABLE_TYPE = 'BASE TABLE'")
        names = (TableName(schema, table) for schema, table in rows)
        return {t for t in names if t.schema.lower() not in SYSTEM_SCHEMAS and self._filter.match(t)}

    def columns(self, name: TableName) -> list[str] | None:
        rows = self._query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                           "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (name.schema, name.table))
        return [r[0] for r in rows] or None

    def _table(self, name: TableName) -> str:
        return f"{mysql_ident(name.schema)}.{mysql_ident(name.table)}"

    def count(self, name: TableName) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM {self._table(name)}")[0][0])

    def key_range(self, name: TableName, column: str) -> tuple[int, int] | None:
        c = mysql_ident(column)
        lo, hi = self._query(f"SELECT MIN({c}), MAX({c}) FROM {self._table(name)}")[0]
        return None if lo is None else (int(lo), int(hi))

    def rows(self, name: TableName, columns: Sequence[str], where: KeyRange | None = None
             ) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join(mysql_ident(c) for c in columns)
        sql = f"SELECT {cols} FROM {self._table(name)}"
        params: tuple[int, ...] = ()
        if where is not None:
            key, start, stop = where
            sql += f" WHERE {mysql_ident(key)} >= %s AND {mysql_ident(key)} < %s"
            params = (start, stop)
        with self._conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(sql, params)
            yield from cur


class SqliteSide:
    """A SQLite database written by the consumer: MySQL table ``db.t`` is the SQLite table ``"db.t"``."""

    def __init__(self, label: str, db: sqlite3.Connection, tables: Iterable[TableName]) -> None:
        self.label = label
        self._db = db
        self._tables = set(tables)

    def tables(self) -> set[TableName]:
        return {t for t in self._tables if self.columns(t) is not None}

    def columns(self, name: TableName) -> list[str] | None:
        with closing(self._db.execute(f"PRAGMA table_info({sqlite_ident(sqlite_table_name(name))})")) as cur:
            cols = [r[1] for r in cur]
        return cols or None

    def count(self, name: TableName) -> int:
        row = self._db.execute(f"SELECT COUNT(*) FROM {sqlite_ident(sqlite_table_name(name))}").fetchone()
        return int(row[0])

    def key_range(self, name: TableName, column: str) -> tuple[int, int] | None:
        c = sqlite_ident(column)
        lo, hi = self._db.execute(f"SELECT MIN({c}), MAX({c}) FROM {sqlite_ident(sqlite_table_name(name))}"
                                  ).fetchone()
        return None if lo is None else (int(lo), int(hi))

    def rows(self, name: TableName, columns: Sequence[str], where: KeyRange | None = None
             ) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join(sqlite_ident(c) for c in columns)
        sql = f"SELECT {cols} FROM {sqlite_ident(sqlite_table_name(name))}"
        params: tuple[int, ...] = ()
        if where is not None:
            key, start, stop = where
            sql += f" WHERE {sqlite_ident(key)} >= ? AND {sqlite_ident(key)} < ?"
            params = (start, stop)
        with closing(self._db.execute(sql, params)) as cur:
            yield from cur
