"""SQL column types: parse a MySQL/MariaDB type (``INT(11) UNSIGNED ZEROFILL``, ``ENUM('a','b')``...) into a
``TypeSpec`` with MySQL's implicit lengths filled in as MySQL 5.7 and MariaDB show them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from storagecdc.errors import SchemaError

from .lexer import NUMBER, STRING, TokenStream, tokenize

_INT_WIDTH = {  # (signed, unsigned) display width MySQL 5.7 / MariaDB use when none is declared
    "TINYINT": (4, 3),
    "SMALLINT": (6, 5),
    "MEDIUMINT": (9, 8),
    "INT": (11, 10),
    "BIGINT": (20, 20),
}
_ALIASES = {
    "INTEGER": "INT", "INT1": "TINYINT", "INT2": "SMALLINT", "INT3": "MEDIUMINT", "MIDDLEINT": "MEDIUMINT",
    "INT4": "INT", "INT8": "BIGINT", "DEC": "DECIMAL", "NUMERIC": "DECIMAL", "FIXED": "DECIMAL",
    "REAL": "DOUBLE", "FLOAT4": "FLOAT", "FLOAT8": "DOUBLE", "CHARACTER": "CHAR", "NCHAR": "CHAR",
    "NVARCHAR": "VARCHAR", "VARCHARACTER": "VARCHAR", "GEOMCOLLECTION": "GEOMETRYCOLLECTION",
    "BOOL": "BOOLEAN",
}
_TEXT_BY_SIZE = ((255, "TINY"), (65535, ""), (16777215, "MEDIUM"))
STRING_TYPES = frozenset(
    {"CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET"}
)
"""Types whose values carry a character set (the column's, the table's, or the database's)."""
BINARY_TYPES = frozenset({"BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB"})
SPATIAL_TYPES = frozenset(
    {"GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
     "GEOMETRYCOLLECTION"}
)
_FSP_TYPES = frozenset({"TIME", "DATETIME", "TIMESTAMP"})
_KNOWN = (
    frozenset(_INT_WIDTH) | STRING_TYPES | BINARY_TYPES | _FSP_TYPES | SPATIAL_TYPES
    | {"DECIMAL", "FLOAT", "DOUBLE", "BIT", "YEAR", "VECTOR", "BOOLEAN", "SERIAL", "DATE", "JSON", "UUID",
       "INET4", "INET6"}
)


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A parsed column type. ``charset``/``collation`` are only what the type itself declares."""

    type_name: str
    unsigned: bool = False
    zerofill: bool = False
    length: int | None = None
    scale: int | None = None
    charset: str | None = None
    collation: str | None = None
    elems: tuple[str, ...] = ()
    binary_attr: bool = False
    """``CHAR(n) BINARY``: the binary (``_bin``) collation of the column's charset."""
    serial: bool = False
    """``SERIAL``: BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE."""


def parse_type_text(text: str) -> TypeSpec:
    """Parse a type written as text, e.g. information_schema's ``COLUMN_TYPE`` (MariaDB's ends in
    ``/*M!100301 COMPRESSED*/`` for compressed columns, stored like the plain type)."""
    ts = TokenStream(tokenize(text))
    spec = parse_type(ts)
    ts.accept_word("COMPRESSED")
    if not ts.at_end():
        raise SchemaError(f"unexpected {ts.next().text!r} after column type in {text!r}")
    return spec


def _int_args(ts: TokenStream) -> list[int]:
    args: list[int] = []
    if not ts.accept_punct("("):
        return args
    while True:
        tok = ts.next()
        if tok.kind != NUMBER:
            raise SchemaError(f"expected a number in type arguments, found {tok.text!r}")
        args.append(int(tok.text))
        if ts.accept_punct(")"):
            return args
        ts.expect_punct(",")


def _elems(ts: TokenStream) -> tuple[str, ...]:
    ts.expect_punct("(")
    out: list[str] = []
    while True:
        tok = ts.next()
        if tok.kind != STRING:
            raise SchemaError(f"expected a quoted ENUM/SET member, found {tok.text!r}")
        out.append(tok.text)
        if ts.accept_punct(")"):
            return tuple(out)
        ts.expect_punct(",")


def _base_name(ts: TokenStream) -> tuple[str, str | None]:
    """The canonical base type name and the charset the name itself implies (NATIONAL -> utf8mb3)."""
    tok = ts.next()
    word = tok.upper
    charset: str | None = None
    if word == "NATIONAL":
        word = ts.expect_word("CHAR", "CHARACTER", "VARCHAR", "VARCHARACTER")
        charset = "utf8mb3"
    elif word in ("NCHAR", "NVARCHAR"):
        charset = "utf8mb3"
    word = _ALIASES.get(word, word)
    if word == "DOUBLE":
        ts.accept_word("PRECISION")
    elif word == "CHAR" and ts.accept_word("VARYING"):
        word = "VARCHAR"
    elif word == "LONG":
        if ts.accept_word("VARBINARY"):
            word = "MEDIUMBLOB"
        else:
            ts.accept_word("VARCHAR", "VARCHARACTER")
            word = "MEDIUMTEXT"
    if word not in _KNOWN:
        raise SchemaError(f"unknown column type {tok.text!r}")
    return word, charset


def parse_type(ts: TokenStream) -> TypeSpec:
    """Parse a column type and its type attributes (UNSIGNED, ZEROFILL, CHARACTER SET, COLLATE, BINARY)."""
    name, charset = _base_name(ts)
    length: int | None = None
    scale: int | None = None
    elems: tuple[str, ...] = ()
    if name in ("ENUM", "SET"):
        elems = _elems(ts)
    else:
        args = _int_args(ts)
        if name == "TEXT" and args:
            name = next((p + "TEXT" for lim, p in _TEXT_BY_SIZE if args[0] <= lim), "LONGTEXT")
        elif name == "BLOB" and args:
            name = next((p + "BLOB" for lim, p in _TEXT_BY_SIZE if args[0] <= lim), "LONGBLOB")
        elif name == "FLOAT" and len(args) == 1:
            name = "DOUBLE" if args[0] > 24 else "FLOAT"
        else:
            length = args[0] if args else None
            scale = args[1] if len(args) > 1 else None
    spec = TypeSpec(name, length=length, scale=scale, charset=charset, elems=elems)
    return _attributes(ts, spec)


def _attributes(ts: TokenStream, spec: TypeSpec) -> TypeSpec:
    while True:
        word = ts.accept_word("UNSIGNED", "SIGNED", "ZEROFILL", "CHARACTER", "CHARSET", "COLLATE",
                              "BINARY", "ASCII", "UNICODE", "BYTE")
        if word is None:
            return _finish(spec)
        if word == "UNSIGNED":
            spec = replace(spec, unsigned=True)
        elif word == "ZEROFILL":
            spec = replace(spec, unsigned=True, zerofill=True)
        elif word in ("CHARACTER", "CHARSET"):
            if word == "CHARACTER":
                ts.expect_word("SET")
            spec = replace(spec, charset=ts.name().lower())
        elif word == "COLLATE":
            spec = replace(spec, collation=ts.name().lower())
        elif word == "BINARY":
            spec = replace(spec, binary_attr=True)
        elif word == "ASCII":
            spec = replace(spec, charset="latin1")
        elif word == "UNICODE":
            spec = replace(spec, charset="ucs2")
        elif word == "BYTE":
            spec = replace(spec, charset="binary")


def _finish(spec: TypeSpec) -> TypeSpec:
    """Apply MySQL's implicit lengths and type rewrites."""
    name = spec.type_name
    if name == "BOOLEAN":
        return replace(spec, type_name="TINYINT", length=1)
    if name == "SERIAL":
        return replace(spec, type_name="BIGINT", unsigned=True, length=20, serial=True)
    if name in _INT_WIDTH and spec.length is None:
        return replace(spec, length=_INT_WIDTH[name][1 if spec.unsigned else 0])
    if name == "DECIMAL":
        return replace(spec, length=10 if spec.length is None else spec.length, scale=spec.scale or 0)
    if name in _FSP_TYPES:
        return replace(spec, length=None, scale=spec.length or 0)
    if name in ("BIT", "CHAR", "BINARY") and spec.length is None:
        return replace(spec, length=1)
    if name == "YEAR":
        return replace(spec, length=4)
    if name in ("CHAR", "VARCHAR") and spec.charset == "binary":
        return replace(spec, type_name="BINARY" if name == "CHAR" else "VARBINARY", charset=None)
    if name in ("VARCHAR", "VARBINARY", "VECTOR") and spec.length is None:
        raise SchemaError(f"type {name} needs a length")
    return spec

