"""The hand parser: every table/database DDL form MySQL and MariaDB write to the binlog, from tokens.

It reads what sqlglot cannot (parenthesised ``ADD (...)``, ``CONVERT TO``, ``RENAME TABLE``, spatial
types, MariaDB's ``IF [NOT] EXISTS`` clauses...), and the tests hold it equal to the sqlglot path wherever
both read a statement.
"""

from __future__ import annotations

from dataclasses import replace

from storagecdc import ddl_types
from storagecdc.errors import SchemaError

from .columns import (
    TABLE_OPTIONS,
    key_columns,
    parse_charset_option,
    parse_column,
    parse_default,
    parse_table_options,
)
from .lexer import Token, TokenStream
from .statements import (
    AddColumn,
    AddPeriod,
    AddPrimaryKey,
    AlterAction,
    AlterDatabase,
    AlterTable,
    ChangeColumn,
    ColumnSpec,
    ConvertCharset,
    CreateDatabase,
    CreateTable,
    DropColumn,
    DropDatabase,
    DropPeriod,
    DropPrimaryKey,
    DropTables,
    IndexChange,
    OtherAlter,
    Position,
    RenameColumn,
    RenameTables,
    RenameTo,
    SetDefault,
    SetOptions,
    Statement,
    SystemVersioning,
    TableOptions,
    TableRef,
    TruncateTable,
)

_INDEX_WORDS = ("INDEX", "KEY", "FULLTEXT", "SPATIAL", "UNIQUE")
_ALTER_OTHER = frozenset(
    {"ALGORITHM", "LOCK", "FORCE", "ORDER", "ENABLE", "DISABLE", "DISCARD", "IMPORT", "TRUNCATE", "COALESCE",
     "REORGANIZE", "EXCHANGE", "ANALYZE", "CHECK", "OPTIMIZE", "REBUILD", "REPAIR", "UPGRADE", "WITH",
     "WITHOUT", "VALIDATION", "SECONDARY_LOAD", "SECONDARY_UNLOAD", "NOWAIT", "WAIT", "ADD", "REMOVE"}
)
"""ALTER TABLE clauses that change no column (besides table options)."""


def table_ref(ts: TokenStream) -> TableRef:
    schema, table = ts.qualified()
    return TableRef(schema, table)


def _if_exists(ts: TokenStream) -> bool:
    return ts.accept_words("IF", "EXISTS")


def _if_not_exists(ts: TokenStream) -> bool:
    return ts.accept_words("IF", "NOT", "EXISTS")


def parse_create_table(ts: TokenStream, *, temporary: bool) -> CreateTable:
    """After ``CREATE [OR REPLACE] [TEMPORARY] TABLE``."""
    if_not_exists = _if_not_exists(ts)
    ref = table_ref(ts)
    if ts.accept_word("LIKE"):
        return CreateTable(ref, (), if_not_exists=if_not_exists, like=table_ref(ts), temporary=temporary)
    nxt = ts.peek()
    if nxt is not None and nxt.is_punct("(") and (after := ts.peek(1)) is not None and after.is_word("LIKE"):
        ts.next()
        ts.next()
        like = table_ref(ts)
        ts.expect_punct(")")
        return CreateTable(ref, (), if_not_exists=if_not_exists, like=like, temporary=temporary)
    columns: list[ColumnSpec] = []
    pk: tuple[str, ...] = ()
    periods: dict[str, tuple[str, str]] = {}
    if nxt is not None and nxt.is_punct("(") and not _starts_select(ts.peek(1)):
        ts.next()
        while True:
            item_pk = _create_item(ts, columns, periods)
            pk = item_pk or pk
            if ts.accept_punct(")"):
                break
            ts.expect_punct(",")
        columns, pk = _apply_periods(columns, pk, periods)
    nxt = ts.peek()
    if nxt is not None and nxt.is_punct("("):  # CREATE TABLE t (SELECT ...)
        ts.skip_parens()
        return CreateTable(ref, tuple(columns), primary_key=pk, if_not_exists=if_not_exists, as_select=True,
                           temporary=temporary)
    opts = parse_table_options(ts, TableOptions(), stop_at_comma=False)
    as_select = False
    if not ts.at_end():
        if ts.accept_word("PARTITION"):
            _skip_rest_until_select(ts)
        ts.accept_word("IGNORE", "REPLACE")
        ts.accept_word("AS")
        tok = ts.peek()
        as_select = tok is not None and (_starts_select(tok) or tok.is_word("WITH", "VALUES", "TABLE"))
        if not as_select and tok is not None:
            raise SchemaError(f"unexpected {tok.text!r} after CREATE TABLE options")
        ts.pos = len(ts.tokens)  # the SELECT: its columns come from the rows' TABLE_MAP
    if pk:
        keys = {p.lower() for p in pk}
        columns = [replace(c, primary=True, nullable=False) if c.name.lower() in keys else c for c in columns]
    if any(c.versioned for c in columns):
        opts = replace(opts, system_versioning=True)
    return CreateTable(ref, tuple(columns), primary_key=pk, options=opts, if_not_exists=if_not_exists,
                       as_select=as_select, temporary=temporary,
                       periods=tuple((name, *bounds) for name, bounds in periods.items()))


def _starts_select(tok: Token | None) -> bool:
    return tok is not None and (tok.is_word("SELECT") or tok.is_punct("("))


def _skip_rest_until_select(ts: TokenStream) -> None:
    while not ts.at_end():
        tok = ts.peek()
        assert tok is not None
        if tok.is_word("SELECT", "AS", "IGNORE", "REPLACE", "WITH"):
            return
        if tok.is_punct("("):
            ts.skip_parens()
        else:
            ts.pos += 1


def _apply_periods(
    columns: list[ColumnSpec], pk: tuple[str, ...], periods: dict[str, tuple[str, str]]
) -> tuple[list[ColumnSpec], tuple[str, ...]]:
    """MariaDB's application-time periods: ``PERIOD FOR p(s, e)`` makes s and e NOT NULL, and ``p WITHOUT
    OVERLAPS`` in the primary key stands for s and e."""
    if not periods:
        return columns, pk
    bounds = {b.lower() for pair in periods.values() for b in pair}
    columns = [replace(c, nullable=False) if c.name.lower() in bounds else c for c in columns]
    by_name = {k.lower(): v for k, v in periods.items()}
    expanded = tuple(n for key in pk for n in by_name.get(key.lower(), (key,)))
    return columns, expanded


def _period(ts: TokenStream) -> tuple[str, tuple[str, str]]:
    """After ``PERIOD``: ``FOR name (start, end)``."""
    ts.expect_word("FOR")
    name = ts.name()
    ts.expect_punct("(")
    start = ts.name()
    ts.expect_punct(",")
    end = ts.name()
    ts.expect_punct(")")
    return name, (start, end)


def _create_item(ts: TokenStream, columns: list[ColumnSpec], periods: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    """One item of a CREATE TABLE list; returns the PK columns when the item is a table-level PK (periods
    go into ``periods``, except SYSTEM_TIME: its columns say ``AS ROW START|END`` themselves)."""
    tok = ts.peek()
    assert tok is not None
    if tok.is_word("CONSTRAINT"):
        ts.next()
        if not (ts.peek() or tok).is_word("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            ts.name()
        tok = ts.peek() or tok
    if tok.is_word("PRIMARY"):
        ts.next()
        ts.expect_word("KEY")
        return _index_columns(ts)
    if tok.is_word("PERIOD"):
        ts.next()
        name, bounds = _period(ts)
        if name.upper() != "SYSTEM_TIME":
            periods[name] = bounds
        return ()
    if tok.is_word(*_INDEX_WORDS, "FOREIGN", "CHECK", "SYSTEM"):
        ts.skip_until_comma()
        return ()
    columns.append(parse_column(ts))
    return ()


def _index_columns(ts: TokenStream) -> tuple[str, ...]:
    """After ``PRIMARY KEY``: ``[name] [USING x] (cols) [options]``."""
    while True:
        nxt = ts.peek()
        if nxt is None:
            raise SchemaError("PRIMARY KEY without a column list")
        if nxt.is_punct("("):
            break
        ts.next()
    cols = key_columns(ts)
    ts.skip_until_comma()
    return cols


def parse_drop_table(ts: TokenStream, *, temporary: bool) -> DropTables:
    _if_exists(ts)
    refs = [table_ref(ts)]
    while ts.accept_punct(","):
        refs.append(table_ref(ts))
    ts.accept_word("RESTRICT", "CASCADE")
    return DropTables(tuple(refs), temporary=temporary)


def parse_rename_table(ts: TokenStream) -> RenameTables:
    """After ``RENAME TABLE``/``RENAME TABLES``."""
    pairs = []
    while True:
        _if_exists(ts)
        src = table_ref(ts)
        if ts.accept_word("WAIT"):
            ts.next()
        else:
            ts.accept_word("NOWAIT")
        ts.expect_word("TO")
        pairs.append((src, table_ref(ts)))
        if not ts.accept_punct(","):
            return RenameTables(tuple(pairs))


def parse_database(ts: TokenStream, verb: str) -> CreateDatabase | DropDatabase | AlterDatabase:
    """After ``CREATE|DROP|ALTER DATABASE|SCHEMA``."""
    if verb == "DROP":
        _if_exists(ts)
        return DropDatabase(ts.name())
    if verb == "CREATE":
        ine = _if_not_exists(ts)
        created = ts.name()
        return CreateDatabase(created, _db_options(ts), if_not_exists=ine)
    tok = ts.peek()
    name: str | None = None
    if tok is not None and not tok.is_word("DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "COMMENT",
                                           "READ", "ENCRYPTION", "UPGRADE"):
        name = ts.name()
    return AlterDatabase(name, _db_options(ts))


def _db_options(ts: TokenStream) -> TableOptions:
    return parse_table_options(ts, TableOptions(), stop_at_comma=False)


def parse_alter_table(ts: TokenStream) -> AlterTable:
    """After ``ALTER [ONLINE] [IGNORE] TABLE``."""
    _if_exists(ts)
    ref = table_ref(ts)
    actions: list[AlterAction] = []
    while not ts.at_end():
        actions.extend(_alter_action(ts))
        if not ts.accept_punct(","):
            tok = ts.peek()
            if tok is not None and not tok.is_word("PARTITION", "REMOVE"):
                raise SchemaError(f"unexpected {tok.text!r} in ALTER TABLE")
    row_end = next((a.column.name for a in actions if isinstance(a, AddColumn) and a.column.row_period == "END"),
                   None)
    if row_end is not None:
        actions = [replace(a, row_end=row_end) if isinstance(a, SystemVersioning) and a.add else a for a in actions]
    return AlterTable(ref, tuple(actions))


def _position(ts: TokenStream) -> Position | None:
    if ts.accept_word("FIRST"):
        return Position(None)
    if ts.accept_word("AFTER"):
        return Position(ts.name())
    return None


def _alter_action(ts: TokenStream) -> list[AlterAction]:
    word = ts.next().upper
    if word == "ADD":
        return _alter_add(ts)
    if word == "DROP":
        return [_alter_drop(ts)]
    if word in ("MODIFY", "CHANGE"):
        ts.accept_word("COLUMN")
        _if_exists(ts)
        old = ts.name()
        col = parse_column(ts, name=old if word == "MODIFY" else None)
        return [ChangeColumn(old, col, _position(ts))]
    if word == "RENAME":
        if ts.accept_word("COLUMN"):
            _if_exists(ts)
            old = ts.name()
            ts.expect_word("TO")
            return [RenameColumn(old, ts.name())]
        if ts.accept_word("INDEX", "KEY"):
            ts.skip_until_comma()
            return [IndexChange(ddl_types.RENAME_INDEX)]
        ts.accept_word("TO", "AS")
        return [RenameTo(table_ref(ts))]
    if word == "ALTER":
        return [_alter_alter(ts)]
    if word == "CONVERT":
        ts.expect_word("TO")
        kw = ts.expect_word("CHARACTER", "CHARSET")
        opts = parse_charset_option(ts, kw, TableOptions())
        if ts.accept_word("COLLATE"):
            opts = parse_charset_option(ts, "COLLATE", opts)
        return [ConvertCharset(opts)]
    if word in ("DEFAULT", "CHARACTER", "CHARSET", "COLLATE"):
        ts.pos -= 1
        opts = parse_table_options(ts, TableOptions(), stop_at_comma=True)
        return [SetOptions(opts)]
    if word in ("PARTITION", "REMOVE"):
        while not ts.at_end():
            tok = ts.next()
            if tok.is_punct("("):
                ts.pos -= 1
                ts.skip_parens()
        return [OtherAlter(ddl_types.ADD_TABLE_PARTITION if word == "PARTITION" else 0)]
    if word in ("COMMENT",):
        ts.accept_punct("=")
        ts.next()
        return [OtherAlter(ddl_types.MODIFY_TABLE_COMMENT)]
    if word == "AUTO_INCREMENT":
        ts.accept_punct("=")
        ts.next()
        return [OtherAlter(ddl_types.REBASE_AUTO_ID)]
    if word not in _ALTER_OTHER and word not in TABLE_OPTIONS:
        raise SchemaError(f"unknown ALTER TABLE clause {word!r}")
    ts.skip_until_comma()
    return [OtherAlter(0)]


def _alter_add(ts: TokenStream) -> list[AlterAction]:
    tok = ts.peek()
    if tok is None:
        raise SchemaError("ALTER TABLE ADD without a definition")
    if ts.accept_words("SYSTEM", "VERSIONING"):
        return [SystemVersioning(add=True)]
    if ts.accept_word("PERIOD"):
        _if_not_exists(ts)
        name, (start, end) = _period(ts)
        return [OtherAlter(0) if name.upper() == "SYSTEM_TIME" else AddPeriod(name, start, end)]
    if tok.is_word("CONSTRAINT", "PRIMARY", *_INDEX_WORDS, "FOREIGN", "CHECK", "SYSTEM"):
        if ts.accept_word("CONSTRAINT"):
            _if_not_exists(ts)
            if not (ts.peek() or tok).is_word("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
                ts.name()
        if ts.accept_word("PRIMARY"):
            ts.expect_word("KEY")
            return [AddPrimaryKey(_index_columns(ts))]
        kind = ts.next().upper
        ts.skip_until_comma()
        if kind == "FOREIGN":
            return [IndexChange(ddl_types.ADD_FOREIGN_KEY)]
        return [IndexChange(ddl_types.ADD_INDEX if kind in _INDEX_WORDS else 0)]
    if tok.is_word("PARTITION"):
        ts.next()
        ts.skip_until_comma()
        return [OtherAlter(ddl_types.ADD_TABLE_PARTITION)]
    ts.accept_word("COLUMN")
    ine = _if_not_exists(ts)
    if ts.accept_punct("("):
        cols: list[AlterAction] = []
        while True:
            cols.append(AddColumn(parse_column(ts), if_not_exists=ine))
            if ts.accept_punct(")"):
                return cols
            ts.expect_punct(",")
    col = parse_column(ts)
    return [AddColumn(col, _position(ts), if_not_exists=ine)]


def _alter_drop(ts: TokenStream) -> AlterAction:
    if ts.accept_words("SYSTEM", "VERSIONING"):
        return SystemVersioning(add=False)
    if ts.accept_word("PERIOD"):
        _if_exists(ts)
        ts.expect_word("FOR")
        _if_exists(ts)
        name = ts.name()
        return OtherAlter(0) if name.upper() == "SYSTEM_TIME" else DropPeriod(name)
    if ts.accept_word("PRIMARY"):
        ts.expect_word("KEY")
        return DropPrimaryKey()
    kind = ts.accept_word("INDEX", "KEY", "FOREIGN", "CONSTRAINT", "CHECK", "PARTITION", "UNIQUE")
    if kind is not None:
        ts.skip_until_comma()
        if kind == "FOREIGN":
            return IndexChange(ddl_types.DROP_FOREIGN_KEY)
        if kind == "PARTITION":
            return OtherAlter(ddl_types.DROP_TABLE_PARTITION)
        return IndexChange(ddl_types.DROP_INDEX if kind in ("INDEX", "KEY", "UNIQUE") else 0)
    ts.accept_word("COLUMN")
    if_exists = _if_exists(ts)
    name = ts.name()
    ts.accept_word("RESTRICT", "CASCADE")
    return DropColumn(name, if_exists)


def _alter_alter(ts: TokenStream) -> AlterAction:
    if ts.accept_word("INDEX", "KEY", "CHECK", "CONSTRAINT"):
        ts.skip_until_comma()
        return IndexChange(ddl_types.ALTER_INDEX_VISIBILITY)
    ts.accept_word("COLUMN")
    _if_exists(ts)
    name = ts.name()
    if ts.accept_word("SET"):
        if ts.accept_word("DEFAULT"):
            return SetDefault(name, parse_default(ts))
        ts.expect_word("VISIBLE", "INVISIBLE")
        return OtherAlter(0)
    ts.expect_word("DROP")
    ts.expect_word("DEFAULT")
    return SetDefault(name, None, drop=True)


def parse_truncate(ts: TokenStream) -> TruncateTable:
    ts.accept_word("TABLE")
    return TruncateTable(table_ref(ts))


def parse_index_statement(ts: TokenStream, verb: str) -> AlterTable:
    """``CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name ON t (...)`` / ``DROP INDEX name ON t``."""
    if not _if_not_exists(ts):
        _if_exists(ts)
    ts.name()
    if ts.accept_word("USING"):
        ts.next()
    ts.expect_word("ON")
    ref = table_ref(ts)
    while not ts.at_end():  # the key part list and index options
        ts.next()
    return AlterTable(ref, (IndexChange(ddl_types.ADD_INDEX if verb == "CREATE" else ddl_types.DROP_INDEX),))


def parse_table_statement(ts: TokenStream) -> Statement | None:
    """Parse a statement whose kind the caller recognised as table/database DDL; None if not such DDL."""
    verb = ts.next().upper
    if verb == "RENAME":
        ts.expect_word("TABLE", "TABLES")
        return parse_rename_table(ts)
    if verb == "TRUNCATE":
        return parse_truncate(ts)
    if verb == "CREATE" and ts.accept_words("OR", "REPLACE"):
        pass
    if verb == "ALTER":
        ts.accept_word("ONLINE")
        ts.accept_word("IGNORE")
    temporary = ts.accept_word("TEMPORARY") is not None
    kind = ts.accept_word("TABLE", "DATABASE", "SCHEMA", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL")
    if kind in ("UNIQUE", "FULLTEXT", "SPATIAL"):
        ts.expect_word("INDEX")
        kind = "INDEX"
    if kind == "INDEX":
        return parse_index_statement(ts, verb)
    if kind in ("DATABASE", "SCHEMA"):
        return parse_database(ts, verb)
    if kind != "TABLE":
        return None
    if verb == "CREATE":
        return parse_create_table(ts, temporary=temporary)
    if verb == "DROP":
        return parse_drop_table(ts, temporary=temporary)
    return parse_alter_table(ts)
