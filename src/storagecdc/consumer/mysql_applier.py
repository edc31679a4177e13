"""MySQL / MariaDB target over pymysql: ``mysql://user:password@host:port/[progress-db]``.

DDL runs as its own statement text after ``USE <db>`` (``CREATE DATABASE IF NOT EXISTS`` first), except a
CREATE ... SELECT, whose rows arrive as DML: that table, and any table a schema file names that the target
lacks (a schema file written from the DML path), is created from the schema file's columns. Replayed DDL
that finds its work done (table exists, unknown table, duplicate column...) is logged and passed over, so a
consume restarted between a DDL and its progress commit goes on. DML runs in batches inside one transaction
per replayer commit: for tables with a primary key, inserts, upserts and updates that keep the key are
multi-row ``REPLACE`` (``executemany``) of the whole new row, and deletes are ``DELETE ... WHERE key IN
(...)`` of up to 1000 keys; tables without one insert with ``INSERT`` and delete one matching row (``<=>``,
``LIMIT 1``) per delete. The session uses UTC and a non-strict ``sql_mode`` so zero dates replay as they
were. The password is never printed: ``display_uri`` redacts it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from storagecdc import ddl_types
from storagecdc.consumer import values as V
from storagecdc.consumer.applier import DdlChange
from storagecdc.consumer.changes import DELETE, INSERT, UPDATE, UPSERT, Change
from storagecdc.consumer.progress import PROGRESS_TABLE
from storagecdc.errors import ConfigError, ConsumerError
from storagecdc.model import ColumnInfo, TableInfo, TableName
from storagecdc.storage.uri import redact_uri

log = logging.getLogger(__name__)

DEFAULT_PROGRESS_DB = "_storagecdc"
_DONE_ALREADY = frozenset({1007, 1008, 1050, 1051, 1054, 1060, 1061, 1068, 1091, 1146})
"""Database/table exists or is unknown, duplicate or unknown column/key, multiple primary keys."""
_DATABASE_DDL = frozenset({ddl_types.CREATE_SCHEMA, ddl_types.DROP_SCHEMA, ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE})
DELETE_BY_KEY = "delete by key"
"""Marks deletes of a table with a primary key: batched as ``DELETE ... WHERE key IN (...)``."""
DELETE_CHUNK = 1000
_LENGTH_TYPES = frozenset({"CHAR", "VARCHAR", "BINARY", "VARBINARY", "BIT"})
_FSP_TYPES = frozenset({"TIME", "DATETIME", "TIMESTAMP"})


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _quote_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def column_sql(col: ColumnInfo) -> str:
    """A column definition rebuilt from a schema file's column."""
    name = col.type_name
    if name == "DECIMAL":
        text = f"DECIMAL({col.length or 10},{col.scale or 0})"
    elif name in _LENGTH_TYPES and col.length:
        text = f"{name}({col.length})"
    elif name in _FSP_TYPES and col.scale:
        text = f"{name}({col.scale})"
    elif name in ("ENUM", "SET"):
        text = f"{name}({','.join(_quote_text(e) for e in col.elems)})"
    elif name in ("FLOAT", "DOUBLE") and col.scale:
        text = f"{name}({col.length},{col.scale})"
    else:
        text = name
    if col.unsigned:
        text += " UNSIGNED"
    if col.charset and col.charset != "binary" and name not in ("JSON",):
        text += " CHARACTER SET utf8mb4"
    text += " NOT NULL" if not col.nullable else " NULL"
    return f"{quote_ident(col.name)} {text}"


def create_table_sql(info: TableInfo) -> str:
    parts = [column_sql(c) for c in info.columns]
    if info.pk_indexes:
        parts.append(f"PRIMARY KEY ({', '.join(quote_ident(info.columns[i].name) for i in info.pk_indexes)})")
    return f"CREATE TABLE IF NOT EXISTS {info.name.quoted()} ({', '.join(parts)}) DEFAULT CHARSET=utf8mb4"


def _to_mysql(col: ColumnInfo) -> Callable[[Any], Any] | None:
    kind = V.column_kind(col)
    if kind is V.Kind.TIME:
        digits = V.fsp(col)
        return lambda v: V.format_time(v, digits)
    if kind is V.Kind.TIMESTAMP:
        digits = V.fsp(col)
        return lambda v: v if v.__class__ is str else V.format_datetime(v, digits)
    return None


class _Statements:
    def __init__(self, info: TableInfo) -> None:
        t = info.name.quoted()
        cols = [quote_ident(c.name) for c in info.columns]
        self.pk = info.pk_indexes
        self.converters = [_to_mysql(c) for c in info.columns]
        marks = ", ".join(["%s"] * len(cols))
        self.insert = f"{'REPLACE' if self.pk else 'INSERT'} INTO {t} ({', '.join(cols)}) VALUES ({marks})"
        if self.pk:
            keys = [cols[i] for i in self.pk]
            self.delete = DELETE_BY_KEY
            self._delete_head = (f"DELETE FROM {t} WHERE {keys[0]} IN " if len(keys) == 1
                                 else f"DELETE FROM {t} WHERE ({', '.join(keys)}) IN ")
            self._key_marks = "%s" if len(keys) == 1 else "(" + ", ".join(["%s"] * len(keys)) + ")"
        else:
            self.delete = f"DELETE FROM {t} WHERE {' AND '.join(f'{c} <=> %s' for c in cols)} LIMIT 1"

    def delete_statements(self, keys: list[tuple[Any, ...]]) -> Iterator[tuple[str, list[Any]]]:
        """Deletes by primary key, ``DELETE_CHUNK`` keys per statement."""
        for start in range(0, len(keys), DELETE_CHUNK):
            chunk = keys[start:start + DELETE_CHUNK]
            sql = self._delete_head + "(" + ", ".join([self._key_marks] * len(chunk)) + ")"
            yield sql, [v for key in chunk for v in key]

    def convert(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v if v is None or f is None else f(v) for f, v in zip(self.converters, row, strict=True))

    def key(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in self.pk)

    def operations(self, changes: Sequence[Change], table: TableName) -> Iterator[tuple[str, tuple[Any, ...]]]:
        for change in changes:
            row = self.convert(change.row)
            if change.kind is INSERT:
                yield self.insert, row
            elif change.kind is DELETE:
                yield self.delete, (self.key(row) if self.pk else row)
            elif change.kind is UPSERT:
                if not self.pk:
                    raise ConsumerError(f"table {table}: an UPDATE written without old values (U record) cannot "
                                        "be applied to a table without a primary key; write with output-old-value")
                yield self.insert, row
            else:
                assert change.old is not None and change.kind is UPDATE
                old = self.convert(change.old)
                if self.pk and self.key(old) == self.key(row):
                    yield self.insert, row  # the whole new row under the same key: REPLACE batches
                else:
                    yield self.delete, (self.key(old) if self.pk else old)
                    yield self.insert, row


class MySqlApplier:
    """``Applier`` over a MySQL or MariaDB server."""

    def __init__(self, *, host: str, port: int, user: str, password: str, progress_db: str = DEFAULT_PROGRESS_DB,
                 display_uri: str = "") -> None:
        self._display = display_uri or f"mysql://{user}@{host}:{port}/{progress_db}"
        self._progress = f"{quote_ident(progress_db)}.{quote_ident(PROGRESS_TABLE)}"
        try:
            self._conn = pymysql.connect(host=host, port=port, user=user, password=password, charset="utf8mb4",
                                         autocommit=False, connect_timeout=10)
            with self._conn.cursor() as cur:
                cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', "
                            "foreign_key_checks = 0")
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_ident(progress_db)}")
                cur.execute(f"CREATE TABLE IF NOT EXISTS {self._progress} (h CHAR(40) CHARACTER SET ascii PRIMARY "
                            "KEY, k TEXT CHARACTER SET utf8mb4 NOT NULL, v MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL)")
            self._conn.commit()
        except pymysql.MySQLError as exc:
            raise ConsumerError(f"cannot open MySQL target {self._display}: {exc}", retryable=True) from exc
        self._statements: dict[tuple[TableName, tuple[Any, ...]], _Statements] = {}

    @classmethod
    def from_uri(cls, uri: str) -> MySqlApplier:
        parts = urlsplit(uri)
        if not parts.hostname or parts.username is None:
            raise ConfigError(f"MySQL target must be mysql://user:password@host:port/, got {redact_uri(uri)}")
        try:
            port = parts.port or 3306
        except ValueError:
            raise ConfigError(f"MySQL target has a bad port: {redact_uri(uri)}") from None
        db = unquote(parts.path.strip("/")) or DEFAULT_PROGRESS_DB
        return cls(host=parts.hostname, port=port, user=unquote(parts.username),
                   password=unquote(parts.password or ""), progress_db=db, display_uri=redact_uri(uri))

    @property
    def display_uri(self) -> str:
        return self._display

    def load_progress(self) -> dict[str, str]:
        with self._conn.cursor() as cur:
            cur.execute(f"SELECT k, v FROM {self._progress}")
            rows = dict(cur.fetchall())
        self._conn.commit()
        return rows

    # -- DDL ------------------------------------------------------------------------------------------------

    def _execute_ddl(self, sql: str, version: int) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql)
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            if code in _DONE_ALREADY:
                log.warning("DDL at version %d passed over (its work is done already: %s): %.200s", version, exc, sql)
                return
            raise ConsumerError(f"MySQL target {self._display}: DDL at version {version} failed: {exc}: "
                                f"{sql[:200]!r}") from exc

    def _table_exists(self, name: TableName) -> bool:
        with self._conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                        (name.schema, name.table))
            return cur.fetchone() is not None

    def apply_ddl(self, ddl: DdlChange) -> None:
        self._conn.commit()
        if ddl.query and not ddl.create_select:
            if ddl.ddl_type not in _DATABASE_DDL and ddl.schema:
                self._execute_ddl(f"CREATE DATABASE IF NOT EXISTS {quote_ident(ddl.schema)}", ddl.version)
                self._execute_ddl(f"USE {quote_ident(ddl.schema)}", ddl.version)
            self._execute_ddl(ddl.query, ddl.version)
        for change in ddl.tables:
            if not self._table_exists(change.new.name):
                self._execute_ddl(f"CREATE DATABASE IF NOT EXISTS {quote_ident(change.new.name.schema)}", ddl.version)
                self._execute_ddl(create_table_sql(change.new), ddl.version)
        self._statements.clear()

    # -- DML ------------------------------------------------------------------------------------------------

    def apply_changes(self, table: TableInfo, changes: Sequence[Change]) -> None:
        key = (table.name, table.columns)
        stmts = self._statements.get(key)
        if stmts is None:
            stmts = self._statements[key] = _Statements(table)
        try:
            with self._conn.cursor() as cur:
                for sql, group in itertools.groupby(stmts.operations(changes, table.name), key=lambda op: op[0]):
                    params = [p for _, p in group]
                    if sql is DELETE_BY_KEY:
                        for statement, values in stmts.delete_statements(params):
                            cur.execute(statement, values)
                    else:
                        cur.executemany(sql, params)
        except pymysql.MySQLError as exc:
            raise ConsumerError(f"MySQL target {self._display}: applying changes to {table.name} failed: "
                                f"{exc}") from exc

    def commit(self, progress: Mapping[str, str]) -> None:
        try:
            with self._conn.cursor() as cur:
                if progress:
                    cur.executemany(f"REPLACE INTO {self._progress} (h, k, v) VALUES (%s, %s, %s)",
                                    [(hashlib.sha1(k.encode()).hexdigest(), k, v) for k, v in progress.items()])
            self._conn.commit()
        except pymysql.MySQLError as exc:
            raise ConsumerError(f"MySQL target {self._display}: commit failed: {exc}", retryable=True) from exc

    def rollback(self) -> None:
        try:
            self._conn.rollback()
        except pymysql.MySQLError as exc:
            log.warning("rollback on %s failed: %s", self._display, exc)

    def close(self) -> None:
        self.rollback()
        self._conn.close()
