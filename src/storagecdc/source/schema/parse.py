"""One entry point for a QUERY event's text: what it does to tables and databases, or None.

Statements are first recognised from their leading words. Table and database DDL is parsed with sqlglot
(MySQL dialect) and, where sqlglot cannot read a valid MySQL/MariaDB form, with the hand parser.
Statements that change no table (transaction control, accounts, grants, views, routines, DML text...)
give None.
"""

from __future__ import annotations

from storagecdc.errors import SchemaError

from .glotparse import parse_with_sqlglot
from .handparse import parse_table_statement
from .lexer import Token, TokenStream, tokenize
from .statements import Statement

_PASS_FIRST = frozenset(
    {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA", "START", "GRANT", "REVOKE", "SET",
     "FLUSH", "ANALYZE", "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM", "INSERT", "UPDATE", "DELETE", "REPLACE",
     "LOAD", "CALL", "DO", "SELECT", "LOCK", "UNLOCK", "INSTALL", "UNINSTALL", "KILL", "RESET", "PURGE",
     "HANDLER", "SHOW", "USE", "DEALLOCATE", "PREPARE", "EXECUTE", "SIGNAL", "RESIGNAL", "WITH", "VALUES",
     "BINLOG", "SHUTDOWN", "CACHE", "DESCRIBE", "DESC", "EXPLAIN", "HELP", "STOP", "CHANGE", "BACKUP",
     "IMPORT"}
)
_TABLE_OBJECTS = frozenset({"TABLE", "TABLES", "DATABASE", "SCHEMA", "INDEX"})
_OTHER_OBJECTS = frozenset(
    {"VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER", "ROLE", "SERVER", "TABLESPACE",
     "LOGFILE", "SEQUENCE", "PACKAGE", "RESOURCE", "SPATIAL", "UNDO", "INSTANCE", "PLUGIN"}
)


def statement_kind(tokens: list[Token]) -> str:
    """``"empty"``, ``"pass"`` (changes no table), ``"table"`` (table/database DDL) or ``"unknown"``."""
    if not tokens:
        return "empty"
    first = tokens[0]
    if first.is_punct("("):
        return "pass"
    if first.kind != "word":
        return "unknown"
    verb = first.upper
    if verb in _PASS_FIRST:
        return "pass"
    if verb == "TRUNCATE":
        return "table"
    if verb not in ("CREATE", "DROP", "ALTER", "RENAME"):
        return "unknown"
    for tok in tokens[1:16]:
        if tok.kind != "word":
            continue
        if tok.upper in _TABLE_OBJECTS:
            return "table"
        if tok.upper == "SPATIAL" and verb == "CREATE":
            continue  # CREATE SPATIAL INDEX / CREATE SPATIAL REFERENCE SYSTEM: decided by the next word
        if tok.upper in _OTHER_OBJECTS:
            return "pass"
    return "unknown"


_DML_FIRST = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD"})


def is_dml(query: str) -> bool:
    """True for DML text (statement-format binlog), which the tracker passes over and callers warn about."""
    try:
        tokens = tokenize(query)
    except SchemaError:
        return False
    return bool(tokens) and tokens[0].is_word(*_DML_FIRST)


def parse_ddl(query: str) -> Statement | None:
    """What ``query`` does to tables/databases, or None when it changes none.

    Raises SchemaError when the statement is not understood (the caller adds the binlog position).
    """
    tokens = tokenize(query)
    kind = statement_kind(tokens)
    if kind in ("empty", "pass"):
        return None
    if kind == "unknown":
        raise SchemaError("statement not recognised")
    stmt = parse_with_sqlglot(query)
    if stmt is not None:
        return stmt
    return parse_tokens(tokens)


def parse_tokens(tokens: list[Token]) -> Statement | None:
    """The hand parser over a recognised table/database DDL statement's tokens."""
    ts = TokenStream(tokens)
    stmt = parse_table_statement(ts)
    if stmt is not None and not ts.at_end():
        raise SchemaError(f"unexpected {ts.next().text!r} after the statement")
    return stmt
