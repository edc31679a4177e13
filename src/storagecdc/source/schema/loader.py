"""Initial schemas for streams that start mid-history: a file of CREATE statements, or a live server's
information_schema."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storagecdc.errors import SchemaError, SourceError
from storagecdc.model import ColumnInfo, TableInfo, TableName

from . import charsets
from .columnops import MARIADB, resolve_column
from .sqltypes import parse_type_text
from .statements import ColumnSpec
from .versioning import add_system_versioning

if TYPE_CHECKING:
    from .tracker import SchemaTracker


def split_sql(text: str) -> Iterator[tuple[int, str]]:
    """(line number, statement) for each statement of a SQL script; honours ``DELIMITER`` lines, quotes
    and comments, as the mysql client does."""
    delimiter = ";"
    buf: list[str] = []
    start_line = 1
    line = 1
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if not buf:
            if ch.isspace():
                line += ch == "\n"
                i += 1
                continue
            start_line = line
            if text[i : i + 10].upper() == "DELIMITER ":
                eol = text.find("\n", i)
                eol = n if eol < 0 else eol
                delimiter = text[i + 10 : eol].strip()
                i = eol
                continue
        if ch == "\n":
            line += 1
        if ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" and ch != "`" else 1
            j = min(j, n - 1)
            line += text.count("\n", i, j + 1)
            buf.append(text[i : j + 1])
            i = j + 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            buf.append(text[i:j])
            i = j
            continue
        if ch == "#" or (text.startswith("--", i) and text[i + 2 : i + 3] in (" ", "\t", "\n", "")):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith(delimiter, i):
            stmt = "".join(buf).strip()
            if stmt:
                yield start_line, stmt
            buf.clear()
            i += len(delimiter)
            continue
        buf.append(ch)
        i += 1
    stmt = "".join(buf).strip()
    if stmt:
        yield start_line, stmt


def load_sql_file(tracker: SchemaTracker, path: str | Path, schema: str = "") -> None:
    """Apply a file of CREATE DATABASE/TABLE statements (mysqldump --no-data output, ``USE db;`` lines);
    ``schema`` is the default database until the first ``USE``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc.strerror}") from exc
    for line, stmt in split_sql(text):
        words = stmt.split(None, 1)
        if words[0].upper() == "USE" and len(words) == 2:
            schema = words[1].strip().strip("`").replace("``", "`")
            continue
        tracker.apply_query(stmt, schema, tracker.start_ts, position=f"{path}:{line}")


# ---- information_schema -------------------------------------------------------------------------------

_SCHEMATA = (
    "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
    " WHERE SCHEMA_NAME IN ({})"
)
_TABLES = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COLLATION, TABLE_TYPE FROM information_schema.TABLES"
    " WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA IN ({})"
)
_COLUMNS = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
    " CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, {generation} FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA IN ({marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)
"""``generation``: MariaDB's GENERATION_EXPRESSION (``ROW END`` marks a declared system-period column);
NULL elsewhere (MySQL 5.6 has no such column)."""
_PRIMARY = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
    " WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA IN ({})"
    " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
)


def _rows(conn: Any, sql: str, schemas: list[str]) -> list[tuple[Any, ...]]:
    try:
        with conn.cursor() as cur:
            if schemas:
                cur.execute(sql.format(", ".join(["%s"] * len(schemas))), schemas)
            else:
                cur.execute(sql)
            return list(cur.fetchall())
    except Exception as exc:  # pymysql raises its own tree; wrap it once, here
        raise SourceError(f"reading information_schema failed: {exc}", retryable=True) from exc


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _default(raw: str | None, mariadb: bool, nullable: bool) -> tuple[str | None, bool]:
    """(default, has_default) from COLUMN_DEFAULT: MariaDB quotes literals and writes NULL as 'NULL';
    MySQL writes SQL NULL both for "no default" and for a nullable column's (implicit) DEFAULT NULL."""
    if raw is None:
        return None, nullable and not mariadb
    if not mariadb:
        return raw, True
    if raw == "NULL":
        return None, True
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'").replace("\\\\", "\\"), True
    low = raw.lower()
    if low.startswith("current_timestamp("):
        digits = low[len("current_timestamp(") : -1]
        return ("CURRENT_TIMESTAMP" if digits in ("", "0") else f"CURRENT_TIMESTAMP({digits})"), True
    return raw, True


def load_from_server(tracker: SchemaTracker, conn: Any, schemas: Iterable[str]) -> None:
    """Read the selected databases' tables from a pymysql connection's information_schema."""
    names = sorted(set(schemas))
    if not names:
        return
    version = _text(_rows(conn, "SELECT VERSION()", [])[0][0]) or ""
    mariadb = "mariadb" in version.lower()
    for name, cs, coll in _rows(conn, _SCHEMATA, names):
        tracker.databases[_text(name) or ""] = (charsets.normalize_charset(_text(cs) or ""),
                                                 charsets.normalize_collation(_text(coll) or ""))
    table_cs: dict[TableName, tuple[str, str]] = {}
    versioned: set[TableName] = set()
    for schema, table, coll, kind in _rows(conn, _TABLES, names):
        tn = TableName(_text(schema) or "", _text(table) or "")
        if _text(kind) == "SYSTEM VERSIONED":
            versioned.add(tn)
        collation = _text(coll)
        table_cs[tn] = ((charsets.charset_of_collation(collation), charsets.normalize_collation(collation))
                        if collation else tracker.database_charset(tn.schema))
    pks: dict[TableName, set[str]] = {}
    for schema, table, column in _rows(conn, _PRIMARY, names):
        pks.setdefault(TableName(_text(schema) or "", _text(table) or ""), set()).add(_text(column) or "")
    columns: dict[TableName, list[ColumnInfo]] = {}
    declared_row_end: set[TableName] = set()
    query = _COLUMNS.format(generation="GENERATION_EXPRESSION" if mariadb else "NULL", marks="{}")
    for schema, table, column, col_type, nullable, default, cs, coll, extra, gen in _rows(conn, query, names):
        tn = TableName(_text(schema) or "", _text(table) or "")
        if tn not in table_cs:
            continue  # a view
        if _text(gen) == "ROW END":
            declared_row_end.add(tn)
        col_name = _text(column) or ""
        extra_text = (_text(extra) or "").upper()
        is_nullable = _text(nullable) == "YES"
        generated = any(w in extra_text for w in ("GENERATED", "VIRTUAL", "PERSISTENT", "STORED"))
        value, has_default = (None, False) if generated else _default(_text(default), mariadb, is_nullable)
        spec = ColumnSpec(
            name=col_name, type=parse_type_text(_text(col_type) or ""), nullable=is_nullable,
            default=value, has_default=has_default, primary=col_name in pks.get(tn, set()),
            generated=generated, invisible="INVISIBLE" in extra_text,
        )
        info = resolve_column(spec, table_cs[tn], MARIADB if mariadb else tracker.flavor)
        if _text(cs) and _text(coll):
            info = _with_charset(info, _text(cs) or "", _text(coll) or "")
        columns.setdefault(tn, []).append(info)
    for tn in versioned - declared_row_end:  # information_schema leaves out the implicit row_start/row_end
        add_system_versioning(columns.setdefault(tn, []), None, str(tn))
    for tn, cols in sorted(columns.items()):
        tracker.add_table(TableInfo(tn, tuple(cols), tracker.start_ts), table_cs[tn])


def _with_charset(info: ColumnInfo, cs: str, coll: str) -> ColumnInfo:
    return replace(info, charset=charsets.normalize_charset(cs), collation=charsets.normalize_collation(coll))
