"""``SchemaTracker``: the schema of every table at every point of the stream.

State: databases (with default charset/collation) and tables (current ``TableInfo`` plus the table's default
charset/collation). DDL from QUERY events changes it and yields ``DDLEvent`` block events; TABLE_MAP
events are checked against it, or teach it a table's columns when the stream started mid-history.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from storagecdc import ddl_types
from storagecdc.errors import SchemaError
from storagecdc.model import BlockScope, DDLEvent, TableInfo, TableName
from storagecdc.source.binlog.contract import TableMap

from . import charsets, loader
from .columnops import MARIADB, MYSQL, AlterResult, alter_ddl_type, apply_alter, resolve_column
from .cowtables import CowTables, FrozenTables
from .jsonstate import table_from_json, table_to_json
from .parse import parse_ddl
from .sequences import sequence_statement
from .statements import (
    AlterDatabase,
    AlterTable,
    CreateDatabase,
    CreateTable,
    DropDatabase,
    DropTables,
    RenameTables,
    RenameTo,
    Statement,
    TableRef,
    TruncateTable,
)
from .tablemap import columns_from_table_map
from .versioning import add_system_versioning

log = logging.getLogger(__name__)

_QUERY_IN_ERRORS = 160
_STATE_FORMAT = 1


@dataclass(slots=True)
class TrackedTable:
    """A table's current version, its default (charset, collation), and whether its columns still have to
    be learned from the next TABLE_MAP (``CREATE TABLE ... SELECT`` without a column list).

    Never changed once in ``SchemaTracker.tables`` (a change puts a new one there), so a ``SchemaSnapshot``
    may share it and its state JSON is made once."""

    info: TableInfo
    charset: tuple[str, str]
    pending: bool = False
    periods: dict[str, tuple[str, str]] = field(default_factory=dict)
    """MariaDB application-time periods by name: (start, end) columns (``p WITHOUT OVERLAPS`` keys them)."""
    state_json: str | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> str:
        if self.state_json is None:
            doc = {**table_to_json(self.info), "charset": list(self.charset), "pending": self.pending,
                   **({"periods": {k: list(v) for k, v in sorted(self.periods.items())}} if self.periods else {})}
            self.state_json = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.state_json


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """The tracker's state at one moment, cheap to take (``SchemaTracker.snapshot``: the tables are shared,
    not copied), serialised only when asked (``to_json``, the resume record's schema state)."""

    flavor: str
    start_ts: int
    server_charset: tuple[str, str]
    next_table_id: int
    databases: dict[str, tuple[str, str]]
    tables: FrozenTables[TableName, TrackedTable]
    sequences: frozenset[TableName]

    def to_json(self) -> str:
        """All state as JSON text with a stable order (same state, same bytes); each table's part is made once
        per table version, so a changefeed that learns 10,000 tables does not serialise them all 10,000 times."""
        doc = {
            "format": _STATE_FORMAT,
            "flavor": self.flavor,
            "start_ts": self.start_ts,
            "server_charset": list(self.server_charset),
            "next_table_id": self.next_table_id,
            "databases": {name: list(cs) for name, cs in sorted(self.databases.items())},
            "sequences": [[n.schema, n.table] for n in sorted(self.sequences)],
        }
        head = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        tables = ",".join(t.to_json() for _, t in sorted(self.tables.items()))
        return f'{head[:-1]},"tables":[{tables}]}}'  # "tables" sorts last among the keys


class SchemaTracker:
    """Tracks databases and tables through DDL and TABLE_MAP events.

    ``server_charset``/``server_collation`` are the server defaults (``character_set_server``...);
    ``flavor`` is ``"mysql"`` or ``"mariadb"`` (MariaDB stores JSON as LONGTEXT); ``start_ts`` is the version
    of tables known from the start (initial schema, or learned from TABLE_MAP metadata); ``ignore_ddl``
    are regular expressions: DDL that cannot be parsed and matches one is passed over with a warning.
    """

    def __init__(
        self,
        *,
        start_ts: int = 0,
        server_charset: str = "utf8mb4",
        server_collation: str | None = None,
        flavor: str = MYSQL,
        ignore_ddl: Iterable[str] = (),
    ) -> None:
        if flavor not in (MYSQL, MARIADB):
            raise ValueError(f"flavor must be {MYSQL!r} or {MARIADB!r}, not {flavor!r}")
        cs = charsets.normalize_charset(server_charset)
        self.server_charset: tuple[str, str] = charsets.resolve(cs, server_collation, (cs, ""))
        if not self.server_charset[1]:
            self.server_charset = (cs, charsets.default_collation(cs))
        self.flavor = flavor
        self.start_ts = start_ts
        self.ignore_ddl = [re.compile(p) for p in ignore_ddl]
        self.databases: dict[str, tuple[str, str]] = {}
        self.tables: CowTables[TableName, TrackedTable] = CowTables()
        self.sequences: set[TableName] = set()
        """MariaDB sequences: their rows events are the server's bookkeeping and are passed over."""
        self.next_table_id = 1
        self._map_cache: dict[int, tuple[TableMap, TableInfo]] = {}

    # ---- queries ---------------------------------------------------------------------------------------

    def table(self, name: TableName) -> TableInfo | None:
        """The current version of ``name``, or None when the table is not known."""
        tracked = self.tables.get(name)
        return tracked.info if tracked is not None else None

    def table_names(self, schema: str | None = None) -> list[TableName]:
        """Known tables (of one database when ``schema`` is given), sorted."""
        return sorted(n for n in self.tables if schema is None or n.schema == schema)

    def database_charset(self, schema: str) -> tuple[str, str]:
        """The database's default (charset, collation); the server's for databases never seen."""
        return self.databases.get(schema, self.server_charset)

    def learn_database_collation(self, schema: str, collation_id: int | None) -> None:
        """A database the stream never created takes the default collation the server logged for it (a
        QUERY event's Q_CHARSET_DATABASE_CODE); a known database, or an unknown collation id, changes nothing."""
        if not collation_id or not schema or schema in self.databases:
            return
        try:
            cs, coll = charsets.collation_by_id(collation_id)
        except SchemaError:
            return
        self.databases[schema] = (cs, coll or charsets.default_collation(cs))

    # ---- TABLE_MAP -------------------------------------------------------------------------------------

    def on_table_map(self, tm: TableMap, commit_ts: int, *, position: str = "") -> TableInfo:
        """The TableInfo for the mapped table, checked against (or learned from) the map's metadata."""
        cached = self._map_cache.get(tm.table_id)
        if cached is not None and (cached[0] is tm or cached[0] == tm):
            return cached[1]
        name = TableName(tm.schema, tm.table)
        where = f"table {name} at {position or '?'}"
        tracked = self.tables.get(name)
        if tracked is None or tracked.pending:
            columns = columns_from_table_map(tm, where)
            version = self.start_ts if tracked is None else tracked.info.version
            table_id = self._new_table_id() if tracked is None else tracked.info.table_id
            info = TableInfo(name, columns, version, table_id)
            charset = self.database_charset(name.schema) if tracked is None else tracked.charset
            self.tables[name] = TrackedTable(info, charset)
        else:
            info = tracked.info
            if len(info.columns) != tm.column_count:
                raise SchemaError(f"{where}: TABLE_MAP has {tm.column_count} columns, the tracked schema "
                                  f"(version {info.version}) has {len(info.columns)}")
            if tm.column_names is not None:
                tracked_names = [c.casefold() for c in info.column_names]
                if tracked_names != [c.casefold() for c in tm.column_names]:
                    raise SchemaError(f"{where}: TABLE_MAP columns {list(tm.column_names)} differ from the "
                                      f"tracked schema's {list(info.column_names)}")
        self._map_cache[tm.table_id] = (tm, info)
        return info

    # ---- DDL ---------------------------------------------------------------------------------------------

    def apply_query(
        self, query: str, default_schema: str, commit_ts: int, *, position: str = "",
        server_collation_id: int | None = None,
    ) -> DDLEvent | None:
        """Apply a QUERY event's statement; the DDLEvent it makes, or None when it changes no table.

        The event's ``position`` is left None (the caller knows the SourcePosition); ``position`` here is
        only for error messages. ``server_collation_id`` is the QUERY event's ``collation_server`` (status
        variable Q_CHARSET_CODE) when present: it becomes the server default that databases created
        without a charset inherit.
        """
        if server_collation_id is not None:
            cs, coll = charsets.collation_by_id(server_collation_id)
            self.server_charset = (cs, coll or charsets.default_collation(cs))
        sequence = sequence_statement(query, default_schema)
        if sequence is not None:
            verb, names = sequence
            if verb == "drop":
                self.sequences.difference_update(names)
            else:
                self.sequences.update(names)
            return None
        try:
            stmt = parse_ddl(query)
        except SchemaError as exc:
            if any(p.search(query) for p in self.ignore_ddl):
                log.warning("passing over DDL that cannot be parsed, as ignore-ddl allows, at %s: %s",
                            position or "?", _clip(query))
                return None
            raise SchemaError(f"cannot parse DDL at {position or '?'}: {_clip(str(exc))}: {_clip(query)}") from None
        if stmt is None:
            return None
        self._map_cache.clear()
        try:
            return self._apply(stmt, query, default_schema, commit_ts)
        except SchemaError as exc:
            raise SchemaError(f"cannot apply DDL at {position or '?'}: {_clip(str(exc))}: {_clip(query)}") from None

    def _apply(self, stmt: Statement, query: str, default_schema: str, ts: int) -> DDLEvent | None:
        if isinstance(stmt, CreateDatabase | AlterDatabase | DropDatabase):
            return self._database(stmt, query, default_schema, ts)
        if isinstance(stmt, CreateTable):
            return self._create(stmt, query, default_schema, ts)
        if isinstance(stmt, DropTables):
            if stmt.temporary:
                return None
            names = tuple(self._name(r, default_schema) for r in stmt.tables)
            for n in names:
                self.tables.pop(n, None)
            return DDLEvent(ts, query, names[0].schema, ddl_types.DROP_TABLE, BlockScope.TABLE,
                            tables=names, dropped=names)
        if isinstance(stmt, TruncateTable):
            name = self._name(stmt.table, default_schema)
            tracked = self.tables.get(name)
            new: tuple[TableInfo, ...] = ()
            if tracked is not None:
                tracked = replace(tracked, info=TableInfo(name, tracked.info.columns, ts, self._new_table_id()))
                self.tables[name] = tracked
                new = (tracked.info,)
            return DDLEvent(ts, query, name.schema, ddl_types.TRUNCATE_TABLE, BlockScope.TABLE,
                            tables=(name,), new_tables=new)
        if isinstance(stmt, RenameTables):
            return self._rename(stmt, query, default_schema, ts)
        return self._alter(stmt, query, default_schema, ts)

    def _database(self, stmt: CreateDatabase | AlterDatabase | DropDatabase, query: str, default_schema: str,
                  ts: int) -> DDLEvent | None:
        if isinstance(stmt, DropDatabase):
            self.databases.pop(stmt.name, None)
            gone = tuple(self.table_names(stmt.name))
            for n in gone:
                del self.tables[n]
            return DDLEvent(ts, query, stmt.name, ddl_types.DROP_SCHEMA, BlockScope.DATABASE,
                            tables=gone, dropped=gone)
        if isinstance(stmt, CreateDatabase):
            if stmt.if_not_exists and stmt.name in self.databases:
                return None
            self.databases[stmt.name] = charsets.resolve(stmt.options.charset, stmt.options.collation,
                                                         self.server_charset)
            return DDLEvent(ts, query, stmt.name, ddl_types.CREATE_SCHEMA, BlockScope.DATABASE)
        name = stmt.name or default_schema
        if not name:
            raise SchemaError("ALTER DATABASE without a database name and no default database")
        self.databases[name] = charsets.resolve(stmt.options.charset, stmt.options.collation,
                                                self.database_charset(name))
        return DDLEvent(ts, query, name, ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE, BlockScope.DATABASE)

    def _create(self, stmt: CreateTable, query: str, default_schema: str, ts: int) -> DDLEvent | None:
        if stmt.temporary:
            return None
        name = self._name(stmt.table, default_schema)
        if stmt.if_not_exists and name in self.tables:
            return None
        pending = False
        periods = {name: (start, end) for name, start, end in stmt.periods}
        if stmt.like is not None:
            src_name = self._name(stmt.like, default_schema)
            src = self.tables.get(src_name)
            if src is None or src.pending:
                raise SchemaError(f"CREATE TABLE {name} LIKE {src_name}: the columns of {src_name} are unknown")
            columns = src.info.columns
            charset = src.charset
            periods = dict(src.periods)
        else:
            charset = charsets.resolve(stmt.options.charset, stmt.options.collation,
                                       self.database_charset(name.schema))
            columns = tuple(resolve_column(c, charset, self.flavor) for c in stmt.columns)
            if stmt.options.system_versioning:
                row_end = next((c.name for c in stmt.columns if c.row_period == "END"), None)
                versioned = list(columns)
                add_system_versioning(versioned, row_end, str(name))
                columns = tuple(versioned)
            pending = stmt.as_select
            if pending:
                columns = ()
        info = TableInfo(name, columns, ts, self._new_table_id())
        self.tables[name] = TrackedTable(info, charset, pending, periods)
        return DDLEvent(ts, query, name.schema, ddl_types.CREATE_TABLE, BlockScope.TABLE, new_tables=(info,))

    def _rename(self, stmt: RenameTables, query: str, default_schema: str, ts: int) -> DDLEvent:
        before = set(self.tables)
        sources: list[TableName] = []
        touched: list[TableName] = []
        for src_ref, dst_ref in stmt.pairs:
            src = self._name(src_ref, default_schema)
            dst = self._name(dst_ref, default_schema)
            if src in before and src not in sources:
                sources.append(src)
            elif src not in before and src not in touched:
                sources.append(src)  # unknown to the tracker (stream started mid-history)
            tracked = self.tables.pop(src, None)
            self.tables.pop(dst, None)
            if tracked is not None:
                self.tables[dst] = replace(tracked, info=TableInfo(dst, tracked.info.columns, ts,
                                                                   tracked.info.table_id, tracked.info.partition_ids))
            if dst not in touched:
                touched.append(dst)
        new = tuple(self.tables[n].info for n in touched if n in self.tables)
        dropped = tuple(n for n in sources if n not in self.tables)
        kind = ddl_types.RENAME_TABLE if len(stmt.pairs) == 1 else ddl_types.RENAME_TABLES
        return DDLEvent(ts, query, sources[0].schema, kind, BlockScope.TABLE, tables=tuple(sources),
                        new_tables=new, dropped=dropped)

    def _alter(self, stmt: AlterTable, query: str, default_schema: str, ts: int) -> DDLEvent:
        name = self._name(stmt.table, default_schema)
        ddl_type = alter_ddl_type(stmt.actions)
        tracked = self.tables.get(name)
        if tracked is None or tracked.pending:
            state = AlterResult([], self.database_charset(name.schema))
            for action in stmt.actions:
                if isinstance(action, RenameTo):
                    apply_alter(state, action, str(name), self.flavor)
            dropped = (name,) if state.rename_to is not None else ()
            if tracked is not None:
                del self.tables[name]
            log.warning("ALTER TABLE on %s, whose columns are not known; it stays unknown", name)
            return DDLEvent(ts, query, name.schema, ddl_type, BlockScope.TABLE, tables=(name,), dropped=dropped)
        state = AlterResult(list(tracked.info.columns), tracked.charset, dict(tracked.periods))
        for action in stmt.actions:
            apply_alter(state, action, str(name), self.flavor)
        new_name = name
        if state.rename_to is not None:
            new_name = TableName(state.rename_to[0] or default_schema, state.rename_to[1])
        info = TableInfo(new_name, tuple(state.columns), ts, tracked.info.table_id, tracked.info.partition_ids)
        del self.tables[name]
        self.tables[new_name] = TrackedTable(info, state.charset, periods=state.periods)
        dropped = (name,) if new_name != name else ()
        return DDLEvent(ts, query, name.schema, ddl_type, BlockScope.TABLE, tables=(name,), new_tables=(info,),
                        dropped=dropped)

    # ---- initial schema ------------------------------------------------------------------------------------

    def load_sql_file(self, path: str | Path, *, schema: str = "") -> None:
        """Apply a file of CREATE DATABASE/TABLE statements (e.g. ``mysqldump --no-data``, with ``USE db;``
        lines; ``schema`` is the database before the first USE); tables get version ``start_ts``."""
        loader.load_sql_file(self, path, schema)

    def load_from_server(self, conn: Any, schemas: Iterable[str]) -> None:
        """Read the tables of ``schemas`` from a pymysql connection's information_schema (version
        ``start_ts``); database default charsets from SCHEMATA, primary keys from KEY_COLUMN_USAGE."""
        loader.load_from_server(self, conn, schemas)

    # ---- resume record -------------------------------------------------------------------------------------

    def snapshot(self) -> SchemaSnapshot:
        """The state as it is now; later changes do not show in it."""
        return SchemaSnapshot(self.flavor, self.start_ts, self.server_charset, self.next_table_id,
                              dict(self.databases), self.tables.freeze(), frozenset(self.sequences))

    def to_json(self) -> str:
        """All state as JSON text with a stable order (same state, same bytes)."""
        return self.snapshot().to_json()

    @classmethod
    def from_json(cls, text: str, *, ignore_ddl: Iterable[str] = ()) -> SchemaTracker:
        """The tracker ``to_json`` saved (``ignore_ddl`` is configuration, not state)."""
        try:
            doc = json.loads(text)
            if doc.get("format") != _STATE_FORMAT:
                raise SchemaError(f"schema state: unsupported format {doc.get('format')!r}")
            cs, coll = doc["server_charset"]
            tracker = cls(start_ts=int(doc["start_ts"]), server_charset=cs, server_collation=coll,
                          flavor=doc["flavor"], ignore_ddl=ignore_ddl)
            tracker.next_table_id = int(doc["next_table_id"])
            tracker.databases = {name: (v[0], v[1]) for name, v in doc["databases"].items()}
            for rec in doc["tables"]:
                info = table_from_json(rec)
                periods = {str(k): (str(v[0]), str(v[1])) for k, v in rec.get("periods", {}).items()}
                tracker.tables[info.name] = TrackedTable(info, (rec["charset"][0], rec["charset"][1]),
                                                         bool(rec["pending"]), periods)
            tracker.sequences = {TableName(str(a), str(b)) for a, b in doc.get("sequences", [])}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SchemaError(f"schema state cannot be read: {exc}") from exc
        return tracker

    # ---- helpers ------------------------------------------------------------------------------------------

    def _name(self, ref: TableRef, default_schema: str) -> TableName:
        schema = ref.schema if ref.schema is not None else default_schema
        if not schema:
            raise SchemaError(f"table {ref.table!r} has no database and no default database is selected")
        return TableName(schema, ref.table)

    def _new_table_id(self) -> int:
        table_id = self.next_table_id
        self.next_table_id += 1
        return table_id

    def add_table(self, info: TableInfo, charset: tuple[str, str]) -> None:
        """Register a table known from an initial schema (information_schema)."""
        if info.table_id is None:
            info = replace(info, table_id=self._new_table_id())
        self.tables[info.name] = TrackedTable(info, charset)
        self._map_cache.clear()


def _clip(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= _QUERY_IN_ERRORS else text[:_QUERY_IN_ERRORS] + "..."
