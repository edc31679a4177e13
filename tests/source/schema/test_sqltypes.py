"""SQL column types: every MySQL/MariaDB type spelling, its attributes and MySQL's implicit lengths."""

from __future__ import annotations

import pytest

from storagecdc.errors import SchemaError
from storagecdc.source.schema import parse_type_text

CASES = [
    # text, type_name, unsigned, length, scale
    ("INT(11) UNSIGNED ZEROFILL", "INT", True, 11, None),
    ("int", "INT", False, 11, None),
    ("INT UNSIGNED", "INT", True, 10, None),
    ("integer", "INT", False, 11, None),
    ("TINYINT", "TINYINT", False, 4, None),
    ("tinyint unsigned", "TINYINT", True, 3, None),
    ("SMALLINT", "SMALLINT", False, 6, None),
    ("SMALLINT UNSIGNED", "SMALLINT", True, 5, None),
    ("MEDIUMINT", "MEDIUMINT", False, 9, None),
    ("MIDDLEINT UNSIGNED", "MEDIUMINT", True, 8, None),
    ("BIGINT", "BIGINT", False, 20, None),
    ("BIGINT UNSIGNED", "BIGINT", True, 20, None),
    ("bigint(20) unsigned", "BIGINT", True, 20, None),
    ("INT8", "BIGINT", False, 20, None),
    ("BOOLEAN", "TINYINT", False, 1, None),
    ("bool", "TINYINT", False, 1, None),
    ("SERIAL", "BIGINT", True, 20, None),
    ("DECIMAL(18,4)", "DECIMAL", False, 18, 4),
    ("DECIMAL", "DECIMAL", False, 10, 0),
    ("decimal(5)", "DECIMAL", False, 5, 0),
    ("NUMERIC(7,3) UNSIGNED", "DECIMAL", True, 7, 3),
    ("FIXED(4,1)", "DECIMAL", False, 4, 1),
    ("FLOAT", "FLOAT", False, None, None),
    ("FLOAT(7,3)", "FLOAT", False, 7, 3),
    ("FLOAT(30)", "DOUBLE", False, None, None),
    ("DOUBLE PRECISION", "DOUBLE", False, None, None),
    ("REAL", "DOUBLE", False, None, None),
    ("BIT", "BIT", False, 1, None),
    ("BIT(13)", "BIT", False, 13, None),
    ("DATE", "DATE", False, None, None),
    ("TIME", "TIME", False, None, 0),
    ("TIME(3)", "TIME", False, None, 3),
    ("DATETIME(6)", "DATETIME", False, None, 6),
    ("TIMESTAMP", "TIMESTAMP", False, None, 0),
    ("YEAR", "YEAR", False, 4, None),
    ("YEAR(4)", "YEAR", False, 4, None),
    ("CHAR", "CHAR", False, 1, None),
    ("CHAR(36)", "CHAR", False, 36, None),
    ("NATIONAL CHAR(3)", "CHAR", False, 3, None),
    ("NCHAR VARYING(3)", "VARCHAR", False, 3, None),
    ("CHARACTER VARYING(9)", "VARCHAR", False, 9, None),
    ("VARCHAR(255)", "VARCHAR", False, 255, None),
    ("BINARY(4)", "BINARY", False, 4, None),
    ("BINARY", "BINARY", False, 1, None),
    ("VARBINARY(64)", "VARBINARY", False, 64, None),
    ("CHAR(4) BYTE", "BINARY", False, 4, None),
    ("VARCHAR(9) CHARACTER SET binary", "VARBINARY", False, 9, None),
    ("TINYTEXT", "TINYTEXT", False, None, None),
    ("TEXT", "TEXT", False, None, None),
    ("TEXT(100)", "TINYTEXT", False, None, None),
    ("TEXT(1000)", "TEXT", False, None, None),
    ("TEXT(70000)", "MEDIUMTEXT", False, None, None),
    ("MEDIUMTEXT", "MEDIUMTEXT", False, None, None),
    ("LONGTEXT", "LONGTEXT", False, None, None),
    ("LONG", "MEDIUMTEXT", False, None, None),
    ("LONG VARCHAR", "MEDIUMTEXT", False, None, None),
    ("LONG VARBINARY", "MEDIUMBLOB", False, None, None),
    ("TINYBLOB", "TINYBLOB", False, None, None),
    ("BLOB", "BLOB", False, None, None),
    ("BLOB(20000000)", "LONGBLOB", False, None, None),
    ("MEDIUMBLOB", "MEDIUMBLOB", False, None, None),
    ("LONGBLOB", "LONGBLOB", False, None, None),
    ("JSON", "JSON", False, None, None),
    ("GEOMETRY", "GEOMETRY", False, None, None),
    ("POINT", "POINT", False, None, None),
    ("LINESTRING", "LINESTRING", False, None, None),
    ("POLYGON", "POLYGON", False, None, None),
    ("MULTIPOINT", "MULTIPOINT", False, None, None),
    ("MULTILINESTRING", "MULTILINESTRING", False, None, None),
    ("MULTIPOLYGON", "MULTIPOLYGON", False, None, None),
    ("GEOMETRYCOLLECTION", "GEOMETRYCOLLECTION", False, None, None),
    ("GEOMCOLLECTION", "GEOMETRYCOLLECTION", False, None, None),
    ("VECTOR(3)", "VECTOR", False, 3, None),
    ("UUID", "UUID", False, None, None),
    ("INET6", "INET6", False, None, None),
]


@pytest.mark.parametrize(("text", "name", "unsigned", "length", "scale"), CASES, ids=[c[0] for c in CASES])
def test_type(text: str, name: str, unsigned: bool, length: int | None, scale: int | None) -> None:
    spec = parse_type_text(text)
    assert (spec.type_name, spec.unsigned, spec.length, spec.scale) == (name, unsigned, length, scale)


def test_attributes() -> None:
    spec = parse_type_text("VARCHAR(255) CHARACTER SET latin1 COLLATE latin1_bin")
    assert (spec.charset, spec.collation) == ("latin1", "latin1_bin")
    assert parse_type_text("VARCHAR(3) CHARSET utf8mb4").charset == "utf8mb4"
    assert parse_type_text("NATIONAL VARCHAR(3)").charset == "utf8mb3"
    assert parse_type_text("CHAR(3) BINARY").binary_attr
    assert parse_type_text("CHAR(3) ASCII").charset == "latin1"
    assert parse_type_text("INT ZEROFILL").zerofill
    assert parse_type_text("INT ZEROFILL").unsigned
    assert parse_type_text("INT SIGNED").unsigned is False
    assert parse_type_text("SERIAL").serial


def test_enum_and_set_members() -> None:
    assert parse_type_text("ENUM('a','b')").elems == ("a", "b")
    assert parse_type_text("enum('it''s','x,y','')").elems == ("it's", "x,y", "")
    assert parse_type_text("SET('p','q') CHARACTER SET latin1").elems == ("p", "q")
    assert parse_type_text("ENUM('ü','😀')").elems == ("ü", "😀")


@pytest.mark.parametrize("text", ["NOTATYPE", "VARCHAR", "VECTOR", "ENUM(1,2)", "INT(x)", "INT(11) FOO"])
def test_bad_types(text: str) -> None:
    with pytest.raises(SchemaError):
        parse_type_text(text)
