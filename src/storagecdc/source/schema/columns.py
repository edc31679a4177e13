"""Column definitions and table options, read from tokens (the hand parser's shared pieces)."""

from __future__ import annotations

from dataclasses import replace

from storagecdc.errors import SchemaError

from .lexer import IDENT, NUMBER, STRING, Token, TokenStream, join_tokens
from .sqltypes import parse_type
from .statements import ColumnSpec, TableOptions

_NOW = ("CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP")
_END_WORDS = ("FIRST", "AFTER")


def parse_default(ts: TokenStream) -> str | None:
    """A DEFAULT value as text: strings unquoted, numbers as written, NOW() as CURRENT_TIMESTAMP[(n)],
    expressions as SQL text; None for NULL."""
    tok = ts.next()
    if tok.kind == "word" and tok.text.startswith("_") and (nxt := ts.peek()) and nxt.kind == STRING:
        tok = ts.next()  # charset introducer: _utf8mb4'abc'
    if tok.kind == STRING:
        if tok.raw_type == "HEX_STRING":
            return f"x'{tok.text}'"
        if tok.raw_type == "BIT_STRING":
            return f"b'{tok.text}'"
        return tok.text
    if tok.kind == NUMBER:
        return tok.text
    if tok.text in ("-", "+"):
        num = ts.next()
        if num.kind != NUMBER:
            raise SchemaError(f"expected a number after {tok.text!r} in DEFAULT")
        return num.text if tok.text == "+" else "-" + num.text
    if tok.is_word("NULL"):
        return None
    if tok.is_word("TRUE", "FALSE"):
        return "1" if tok.upper == "TRUE" else "0"
    if tok.is_word(*_NOW) or tok.is_word("CURRENT_DATE", "CURRENT_TIME"):
        base = "CURRENT_TIMESTAMP" if tok.upper in _NOW else tok.upper
        nxt = ts.peek()
        if nxt is not None and nxt.is_punct("("):
            inner = ts.skip_parens()
            if inner and inner[0].text != "0":
                return f"{base}({inner[0].text})"
        return base
    if tok.is_punct("("):
        ts.pos -= 1
        return join_tokens(ts.skip_parens())
    nxt = ts.peek()
    if tok.kind in ("word", IDENT) and nxt is not None and nxt.is_punct("("):
        return tok.text + "(" + join_tokens(ts.skip_parens()) + ")"
    if tok.kind == "word":
        return tok.text
    raise SchemaError(f"cannot read DEFAULT value at {tok.text!r}")


def _skip_expr_value(ts: TokenStream) -> None:
    """Skip a value after ON UPDATE / SRID / COLUMN_FORMAT...: a word or number, plus a (...) group."""
    ts.next()
    nxt = ts.peek()
    if nxt is not None and nxt.is_punct("("):
        ts.skip_parens()


def parse_column(ts: TokenStream, name: str | None = None) -> ColumnSpec:
    """``name type [attributes]``; stops before ``,``, ``)``, FIRST/AFTER or the end."""
    col = ColumnSpec(name=ts.name() if name is None else name, type=parse_type(ts))
    if col.type.serial:
        col = replace(col, nullable=False)
    while not ts.at_end():
        tok = ts.peek()
        assert tok is not None
        if tok.is_punct(",") or tok.is_punct(")") or tok.is_word(*_END_WORDS):
            break
        ts.pos += 1
        word = tok.upper if tok.kind == "word" else ""
        if word == "NOT":
            if ts.expect_word("NULL", "ENFORCED") == "NULL":
                col = replace(col, nullable=False)
        elif word == "NULL":
            col = replace(col, nullable=True)
        elif word == "DEFAULT":
            col = replace(col, default=parse_default(ts), has_default=True)
        elif word == "PRIMARY":
            ts.expect_word("KEY")
            col = replace(col, primary=True, nullable=False)
        elif word == "KEY":
            col = replace(col, primary=True, nullable=False)
        elif word == "UNIQUE":
            ts.accept_word("KEY")
        elif word == "COLLATE":
            col = replace(col, type=replace(col.type, collation=ts.name().lower()))
        elif word in ("CHARACTER", "CHARSET"):
            if word == "CHARACTER":
                ts.expect_word("SET")
            col = replace(col, type=replace(col.type, charset=ts.name().lower()))
        elif word == "ON":
            ts.expect_word("UPDATE")
            _skip_expr_value(ts)
        elif word in ("GENERATED", "AS"):
            if word == "GENERATED":
                ts.expect_word("ALWAYS")
                ts.expect_word("AS")
            if ts.accept_word("ROW"):  # MariaDB's system-versioning period column: NOT NULL, server-set
                period = ts.expect_word("START", "END")
                col = replace(col, generated=True, nullable=False, row_period=period)
                continue
            ts.skip_parens()
            ts.accept_word("VIRTUAL", "STORED", "PERSISTENT")
            col = replace(col, generated=True)
        elif word == "INVISIBLE":
            col = replace(col, invisible=True)
        elif word in ("VISIBLE", "AUTO_INCREMENT", "ENFORCED"):
            pass
        elif word == "SERIAL":
            ts.expect_word("DEFAULT")
            ts.expect_word("VALUE")
        elif word in ("COMMENT", "COLUMN_FORMAT", "STORAGE", "SRID", "REF_SYSTEM_ID", "ENGINE_ATTRIBUTE",
                      "SECONDARY_ENGINE_ATTRIBUTE"):
            ts.accept_punct("=")
            _skip_expr_value(ts)
        elif word == "COMPRESSED":
            if ts.accept_punct("="):
                ts.next()
        elif word == "CONSTRAINT":
            nxt = ts.peek()
            if nxt is not None and not nxt.is_word("CHECK"):
                ts.name()
        elif word == "CHECK":
            ts.skip_parens()
        elif word == "REFERENCES":
            _skip_references(ts)
        elif word in ("WITH", "WITHOUT"):
            ts.expect_word("SYSTEM")
            ts.expect_word("VERSIONING")
            col = replace(col, versioned=word == "WITH")
        else:
            raise SchemaError(f"unexpected {tok.text!r} in the definition of column {col.name!r}")
    return col


def _skip_references(ts: TokenStream) -> None:
    ts.qualified()
    nxt = ts.peek()
    if nxt is not None and nxt.is_punct("("):
        ts.skip_parens()
    while True:
        if ts.accept_word("MATCH"):
            ts.next()
        elif ts.accept_word("ON"):
            ts.expect_word("DELETE", "UPDATE")
            if ts.accept_word("SET"):
                ts.expect_word("NULL", "DEFAULT")
            elif ts.accept_word("NO"):
                ts.expect_word("ACTION")
            else:
                ts.expect_word("RESTRICT", "CASCADE")
        else:
            return


def key_columns(ts: TokenStream) -> tuple[str, ...]:
    """``(a, b(10) DESC, (expr))``: the plain column names of an index column list."""
    inner = ts.skip_parens()
    names: list[str] = []
    depth = 0
    expect_name = True
    for tok in inner:
        if tok.is_punct("("):
            depth += 1
        elif tok.is_punct(")"):
            depth -= 1
        elif depth == 0 and tok.is_punct(","):
            expect_name = True
        elif depth == 0 and expect_name:
            names.append(tok.text)
            expect_name = False
    return tuple(names)


_OPTION_WITH_EQ = {"CHARACTER", "CHARSET", "COLLATE"}
TABLE_OPTIONS = frozenset(
    {"AUTOEXTEND_SIZE", "AUTO_INCREMENT", "AVG_ROW_LENGTH", "CHECKSUM", "TABLE_CHECKSUM", "COMMENT",
     "COMPRESSION", "CONNECTION", "DATA", "INDEX", "DELAY_KEY_WRITE", "ENCRYPTION", "ENGINE", "TYPE",
     "ENGINE_ATTRIBUTE", "INSERT_METHOD", "KEY_BLOCK_SIZE", "MAX_ROWS", "MIN_ROWS", "PACK_KEYS", "PASSWORD",
     "ROW_FORMAT", "SECONDARY_ENGINE", "SECONDARY_ENGINE_ATTRIBUTE", "STATS_AUTO_RECALC", "STATS_PERSISTENT",
     "STATS_SAMPLE_PAGES", "TABLESPACE", "STORAGE", "UNION", "PAGE_CHECKSUM", "TRANSACTIONAL", "ENCRYPTED",
     "ENCRYPTION_KEY_ID", "IETF_QUOTES", "PAGE_COMPRESSED", "PAGE_COMPRESSION_LEVEL", "SEQUENCE", "START",
     "READ", "WITH"}
)
"""Table (and database) option names, besides charset and collation, that change no column."""


def parse_charset_option(ts: TokenStream, word: str, opts: TableOptions) -> TableOptions:
    """After ``[DEFAULT] CHARACTER SET``/``CHARSET``/``COLLATE`` (already consumed as ``word``)."""
    if word == "CHARACTER":
        ts.expect_word("SET")
    ts.accept_punct("=")
    value = ts.name().lower()
    if word == "COLLATE":
        return replace(opts, collation=value)
    return replace(opts, charset=value)


def parse_table_options(ts: TokenStream, opts: TableOptions, *, stop_at_comma: bool) -> TableOptions:
    """Table options up to the end (or a top-level comma); charset and collation are kept."""
    while not ts.at_end():
        tok = ts.peek()
        assert tok is not None
        if tok.is_punct(","):
            if stop_at_comma:
                return opts
            ts.pos += 1
            continue
        ts.pos += 1
        word = tok.upper
        if word == "DEFAULT":
            continue
        if word in _OPTION_WITH_EQ:
            opts = parse_charset_option(ts, word, opts)
            continue
        if word in ("PARTITION", "SELECT", "AS", "IGNORE", "REPLACE"):
            ts.pos -= 1
            return opts
        if word == "UNION":
            ts.accept_punct("=")
            ts.skip_parens()
            continue
        if tok.kind != "word" or word not in TABLE_OPTIONS:
            raise SchemaError(f"unknown table option {tok.text!r}")
        if word in ("DATA", "INDEX"):
            ts.expect_word("DIRECTORY")
        elif word in ("START", "WITH", "READ"):  # START TRANSACTION, WITH SYSTEM VERSIONING, READ ONLY
            ts.next()
            if word == "WITH":
                ts.expect_word("VERSIONING")
                opts = replace(opts, system_versioning=True)
            continue
        ts.accept_punct("=")
        _skip_option_value(ts)
    return opts


def _skip_option_value(ts: TokenStream) -> None:
    tok: Token | None = ts.peek()
    if tok is None or tok.is_punct(","):
        return
    ts.pos += 1
    nxt = ts.peek()
    if nxt is not None and nxt.is_punct("("):
        ts.skip_parens()
