"""One DDL's schema files -> a ``DdlChange`` for the applier, and the progress it leaves behind.

What the files say: a file with columns is the table's new version (created, altered, truncated or
renamed-to); a table file without columns is a name the DDL dropped or renamed away (or, for CREATE TABLE,
a CREATE ... SELECT whose columns come later from the DML path); a database-level file is CREATE/DROP/ALTER
DATABASE. RENAME pairs come from the statement (MySQL's parser in ``source.schema``); a RENAME that cannot be
parsed falls back to pairing the one dropped name with the one new name. Every name the DDL writes a file
for gets the DDL's version as its watermark; DROP DATABASE raises the watermark of every table it drops.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from storagecdc import ddl_types
from storagecdc.consumer.applier import DdlChange, TableChange
from storagecdc.consumer.progress import Progress
from storagecdc.consumer.scanner import DdlStep
from storagecdc.errors import SchemaError
from storagecdc.model import TableInfo, TableName
from storagecdc.source.schema.parse import parse_ddl
from storagecdc.source.schema.statements import AlterTable, CreateTable, RenameTables, RenameTo, TableRef
from storagecdc.storage.schema_file import SchemaFile

log = logging.getLogger(__name__)

_RENAMES = frozenset({ddl_types.RENAME_TABLE, ddl_types.RENAME_TABLES, ddl_types.MULTI_SCHEMA_CHANGE})


def _resolve(ref: TableRef, candidates: list[str], known: set[TableName]) -> TableName:
    """A table reference with its database: written, or the candidate database where the name is known."""
    if ref.schema is not None:
        return TableName(ref.schema, ref.table)
    for schema in candidates:
        if TableName(schema, ref.table) in known:
            return TableName(schema, ref.table)
    return TableName(candidates[0], ref.table)


def _parsed_renames(query: str, candidates: list[str], known: set[TableName]) -> list[tuple[TableName, TableName]]:
    try:
        stmt = parse_ddl(query)
    except SchemaError:
        return []
    if isinstance(stmt, RenameTables):
        pairs = []
        for src, dst in stmt.pairs:
            old = _resolve(src, candidates, known)
            new = _resolve(dst, candidates, known | {old})
            pairs.append((old, new))
            known = (known - {old}) | {new}
        return pairs
    if isinstance(stmt, AlterTable):
        for action in stmt.actions:
            if isinstance(action, RenameTo):
                old = _resolve(stmt.table, candidates, known)
                return [(old, _resolve(action.table, [old.schema, *candidates], known))]
    return []


def _is_create_select(query: str) -> bool:
    try:
        stmt = parse_ddl(query)
    except SchemaError:
        return False
    return isinstance(stmt, CreateTable) and stmt.as_select


def plan_ddl(step: DdlStep, progress: Progress) -> DdlChange:
    """The change the step's files describe; updates ``progress`` (watermarks, current columns)."""
    version = step.version
    first = next((f for f in step.files if f.query), step.files[0])  # not a schema file of the DML path
    query, ddl_type = first.query, first.ddl_type
    create_dbs: list[str] = []
    drop_dbs: list[str] = []
    by_name: dict[TableName, list[SchemaFile]] = defaultdict(list)
    for f in step.files:
        if f.table:
            by_name[TableName(f.schema, f.table)].append(f)
        elif f.ddl_type == ddl_types.CREATE_SCHEMA:
            create_dbs.append(f.schema)
        elif f.ddl_type == ddl_types.DROP_SCHEMA:
            drop_dbs.append(f.schema)
        progress.touch(TableName(f.schema, f.table)).ddl = version
    current = {name: state.info for name, state in progress.tables.items() if state.info is not None}
    with_columns = {name: [f for f in files if f.columns][-1] for name, files in by_name.items()
                    if any(f.columns for f in files)}
    empty = [name for name in by_name if name not in with_columns]
    schema = next(iter(with_columns)).schema if with_columns else first.schema
    candidates = [schema, *sorted({f.schema for f in step.files} - {schema})]
    renames: list[tuple[TableName, TableName]] = []
    if ddl_type in _RENAMES and query:
        renames = _parsed_renames(query, candidates, set(current) | set(empty))
        if not renames and ddl_type != ddl_types.MULTI_SCHEMA_CHANGE and len(empty) == 1 and len(with_columns) == 1:
            renames = [(empty[0], next(iter(with_columns)))]
    for old, new in renames:
        info = current.pop(old, None)
        if info is not None:
            current[new] = info
    sources = {old for old, _ in renames}
    dropped = [] if ddl_type == ddl_types.CREATE_TABLE else [n for n in empty if n not in sources]
    for db in drop_dbs:
        for name, state in progress.tables.items():
            if name.schema == db and name.table and state.schema is not None:
                dropped.append(name)
    tables: list[TableChange] = []
    for name, file in sorted(with_columns.items()):
        tables.append(TableChange(current.get(name), file.to_table_info()))
    for name in [*dropped, *sources]:
        state = progress.touch(name)
        state.ddl = max(state.ddl, version)
        state.schema = None
    for name, file in with_columns.items():
        progress.touch(name).schema = file
    truncated = tuple(sorted(with_columns)) if ddl_type == ddl_types.TRUNCATE_TABLE else ()
    return DdlChange(version, query, ddl_type, schema, tuple(create_dbs), tuple(renames), tuple(dropped),
                     tuple(drop_dbs), tuple(tables), truncated,
                     ddl_type == ddl_types.CREATE_TABLE and bool(query) and _is_create_select(query))


def ensure_change(version: int, old: TableInfo | None, new: TableInfo) -> DdlChange:
    """The change that gives a table the columns of a data step's schema file (a schema file written from the
    DML path, or a CREATE ... SELECT whose columns were not known at the DDL)."""
    return DdlChange(version, tables=(TableChange(old, new),))
