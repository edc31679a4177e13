"""canal-json as TiCDC's storage sink writes it (reference section 5): one JSON object per row + terminator.

Keys in TiCDC's order: ``id`` (0), ``database``, ``table``, ``pkNames`` (null without a primary key),
``isDdl`` (false), ``type``, ``es`` (commit-ts >> 18, ms), ``ts``, ``sql`` (""), ``sqlType`` (java.sql
type codes), ``mysqlType``, ``old`` (the previous row for UPDATE, else null), ``data`` (one row), and with
``enable-tidb-extension`` ``"_tidb":{"commitTs":N}``. Values are strings (NULL is ``null``): integers in
decimal, floats in plain notation with the shortest digits, ENUM as its 1-based index, SET as its bit value,
binary bytes as ISO-8859-1 characters. Strings are escaped as Go's easyjson does (``<``, ``>``, ``&``,
U+2028 and U+2029 become ``\\u003c``, ``\\u003e``, ``\\u0026``, ``\\u2028``, ``\\u2029``).

Two deliberate differences from TiCDC, both for deterministic output: ``ts`` is the commit time (TiCDC puts
its wall clock there; canal consumers ignore it) and the ``mysqlType`` keys follow column order (TiCDC
prints a Go map, in random order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from storagecdc.model import ABSENT, ColumnInfo, Op, RowChanges, TableInfo, ts_physical_ms
from storagecdc.sink.formats import values as V
from storagecdc.sink.formats.base import Chunk, ChunkList, expand, interleave, join_text_chunks, transpose
from storagecdc.sink.options import SinkOptions

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
               "\\b": "\\u0008", "\\f": "\\u000c"}
_GO_SPECIAL = re.compile(r"[<>&\u2028\u2029]|(?<!\\)(?:\\\\)*\\[bf]")


def _go_escape_fix(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) == 1:
        return _GO_ESCAPES[text]
    return text[:-2] + _GO_ESCAPES[text[-2:]]


def go_json_string(text: str) -> str:
    """``text`` as a JSON string literal, escaped the way Go's easyjson writer escapes it."""
    out: str = encode_basestring(text)
    return _GO_SPECIAL.sub(_go_escape_fix, out) if _GO_SPECIAL.search(out) else out


# -- type names and java.sql codes ----------------------------------------------------------------------

_JAVA = {"BIT": -7, "TINYINT": -6, "SMALLINT": 5, "INTEGER": 4, "BIGINT": -5, "REAL": 7, "DOUBLE": 8,
         "DECIMAL": 3, "CHAR": 1, "VARCHAR": 12, "DATE": 91, "TIME": 92, "TIMESTAMP": 93, "BINARY": -2,
         "BLOB": 2004, "CLOB": 2005}
_JAVA_BY_TYPE = {
    "TINYINT": "TINYINT", "BOOL": "TINYINT", "BOOLEAN": "TINYINT", "SMALLINT": "SMALLINT",
    "MEDIUMINT": "INTEGER", "INT": "INTEGER", "INTEGER": "INTEGER", "BIGINT": "BIGINT", "FLOAT": "REAL",
    "DOUBLE": "DOUBLE", "REAL": "DOUBLE", "DECIMAL": "DECIMAL", "NUMERIC": "DECIMAL", "DATE": "DATE",
    "DATETIME": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP", "TIME": "TIME", "YEAR": "VARCHAR", "ENUM": "INTEGER",
    "SET": "BIT", "BIT": "BIT", "JSON": "VARCHAR", "GEOMETRY": "BINARY", "VECTOR": "VARCHAR",
}
_BLOB_TEXT = frozenset({"TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "TINYTEXT", "TEXT", "MEDIUMTEXT",
                        "LONGTEXT"})
_TYPE = {Op.INSERT: "INSERT", Op.UPDATE: "UPDATE", Op.DELETE: "DELETE"}
_UNSIGNED_PROMOTION = {"TINYINT": (127, "SMALLINT"), "SMALLINT": (32767, "INTEGER"),
                       "INT": (2**31 - 1, "BIGINT"), "INTEGER": (2**31 - 1, "BIGINT"),
                       "BIGINT": (2**63 - 1, "DECIMAL")}
_TEXT_TO_BLOB = {"TINYTEXT": "tinyblob", "TEXT": "blob", "MEDIUMTEXT": "mediumblob", "LONGTEXT": "longblob"}


def mysql_type(col: ColumnInfo) -> str:
    """TiDB's short type name as canal-json's ``mysqlType`` carries it (``int unsigned``, ``varbinary``)."""
    name = col.type_name
    binary = col.charset == "binary"
    if name in ("BOOL", "BOOLEAN"):
        text = "tinyint"
    elif name == "INTEGER":
        text = "int"
    elif name == "NUMERIC":
        text = "decimal"
    elif name == "REAL":
        text = "double"
    elif binary and name in _TEXT_TO_BLOB:
        text = _TEXT_TO_BLOB[name]
    elif binary and name in ("CHAR", "VARCHAR"):
        text = "binary" if name == "CHAR" else "varbinary"
    else:
        text = name.lower()
    if col.unsigned and text not in ("bit", "year"):
        text += " unsigned"
    return text


def java_type(col: ColumnInfo) -> int:
    """The java.sql.Types code of a column (before the unsigned promotion of large values)."""
    name = col.type_name
    binary = col.is_binary
    if name in _BLOB_TEXT:
        return _JAVA["BLOB" if binary else "CLOB"]
    if name in ("VARCHAR", "VARBINARY"):
        return _JAVA["BLOB" if binary else "VARCHAR"]
    if name in ("CHAR", "BINARY"):
        return _JAVA["BLOB" if binary else "CHAR"]
    return _JAVA[_JAVA_BY_TYPE.get(name, "VARCHAR")]


# -- value printers -------------------------------------------------------------------------------------


def _value_printer(col: ColumnInfo) -> V.Printer:
    kind = V.column_kind(col)
    if kind in (V.Kind.INT, V.Kind.YEAR, V.Kind.BIT):
        return V.number_printer()
    if kind is V.Kind.FLOAT:
        return V.mapped_printer(V.plain_float32)
    if kind is V.Kind.DOUBLE:
        return V.mapped_printer(V.plain_float64)
    if kind is V.Kind.DECIMAL:
        return V.decimal_printer()
    if kind in (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP, V.Kind.TIME):
        return V.temporal_printer(kind, col)
    if kind is V.Kind.BINARY:
        return V.mapped_printer(V.latin1_text)
    if kind is V.Kind.VECTOR:
        return V.mapped_printer(V.vector_text(V.go_float32))
    if kind is V.Kind.ENUM:
        index = {member: str(i) for i, member in enumerate(col.elems, 1)}
        index[""] = "0"
        return V.mapped_printer(lambda v: index.get(v, "0"))
    if kind is V.Kind.SET:
        bits = {member: 1 << i for i, member in enumerate(col.elems)}
        return V.mapped_printer(lambda v: str(sum(bits.get(m, 0) for m in v.split(","))) if v else "0")
    return V.passthrough_printer()


def _json_column(name: str, printer: V.Printer) -> Callable[[V.Column], list[str]]:
    """``"name":"value"`` per value; ``"name":null`` for NULL; ``""`` for a value a row image lacks."""
    key = go_json_string(name) + ":"
    null = key + "null"

    def fmt(values: V.Column) -> list[str]:
        if V.has_absent(values):
            present = [None if v is ABSENT else v for v in values]
            return [
                "" if v is ABSENT else null if t is None else key + go_json_string(t)
                for v, t in zip(values, printer(present), strict=True)
            ]
        return [null if t is None else key + go_json_string(t) for t in printer(values)]

    return fmt


class CanalJsonEncoder:
    """Encodes the batches of one table version as canal-json lines."""

    extension = ".json"

    def __init__(self, table: TableInfo, options: SinkOptions) -> None:
        self._table = table
        self._opts = options
        cols = table.columns
        self._width = len(cols)
        self._columns = [_json_column(c.name, _value_printer(c)) for c in cols]
        pk = [go_json_string(c.name) for c in cols if c.is_pk]
        self._head = (
            '{"id":0,"database":' + go_json_string(table.name.schema)
            + ',"table":' + go_json_string(table.name.table)
            + ',"pkNames":' + ("[" + ",".join(pk) + "]" if pk else "null")
            + ',"isDdl":false,"type":'
        )
        self._java = [java_type(c) for c in cols]
        self._promote = [
            (i, _UNSIGNED_PROMOTION[c.type_name]) for i, c in enumerate(cols)
            if c.unsigned and c.type_name in _UNSIGNED_PROMOTION
        ]
        self._names = [go_json_string(c.name) for c in cols]
        self._mysql_types = (
            "{" + ",".join(n + ":" + go_json_string(mysql_type(c)) for n, c in zip(self._names, cols,
                                                                                     strict=True)) + "}"
            if cols else "null"
        )

    def _sql_type(self, data_columns: list[tuple[Any, ...]], row: int) -> str:
        codes = list(self._java)
        for i, (limit, promoted) in self._promote:
            value = data_columns[i][row]
            if value is not None and value > limit:
                codes[i] = _JAVA[promoted]
        if not codes:
            return "null"
        return "{" + ",".join(n + ":" + str(code) for n, code in zip(self._names, codes, strict=True)) + "}"

    def _images(self, rows: list[tuple[Any, ...]]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Each row as ``[{"col":"value",...}]`` (columns a MINIMAL image lacks are left out)."""
        columns = transpose(rows, self._width)
        printed = [fmt(c) for fmt, c in zip(self._columns, columns, strict=True)]
        if not printed:
            return ["null"] * len(rows), columns
        if any(V.has_absent(c) for c in columns):
            return ["[{" + ",".join(f for f in fields if f) + "}]" for fields in zip(*printed, strict=True)], columns
        return ["[{" + ",".join(fields) + "}]" for fields in zip(*printed, strict=True)], columns

    def _lines(self, kind: str, data: list[tuple[Any, ...]], old: list[tuple[Any, ...]] | None,
               commit_ts: int, commit_ms: int) -> list[str]:
        data_text, data_columns = self._images(data)
        old_text = self._images(old)[0] if old is not None else ["null"] * len(data)
        head = self._head + '"' + kind + '","es":' + str(commit_ms) + ',"ts":' + str(commit_ms) + ',"sql":"",'
        tail = ',"_tidb":{"commitTs":' + str(commit_ts) + "}}" if self._opts.enable_tidb_extension else "}"
        term = self._opts.terminator
        mysql_types = ',"mysqlType":' + self._mysql_types + ',"old":'
        if self._promote:
            sql_types = ['"sqlType":' + self._sql_type(data_columns, i) for i in range(len(data))]
        else:
            sql_types = ['"sqlType":' + self._sql_type(data_columns, 0)] * len(data) if data else []
        return [
            head + st + mysql_types + o + ',"data":' + d + tail + term
            for st, o, d in zip(sql_types, old_text, data_text, strict=True)
        ]

    def encode(self, batch: RowChanges) -> Chunk:
        commit_ms = ts_physical_ms(batch.commit_ts)
        ts = batch.commit_ts
        lines: list[str] = []
        for part in expand(batch, output_old_value=False):
            if part.paired:
                assert part.before is not None
                deletes = self._lines("DELETE", part.before, None, ts, commit_ms)
                inserts = self._lines("INSERT", part.rows, None, ts, commit_ms)
                lines.extend(interleave(deletes, inserts))
            else:
                lines.extend(self._lines(_TYPE[part.op], part.rows, part.before, ts, commit_ms))
        data = "".join(lines).encode("utf-8", "surrogateescape")
        return Chunk(data, len(lines), len(data))

    def encode_many(self, batches: list[RowChanges]) -> Chunk:
        return join_text_chunks([self.encode(b) for b in batches])

    def assemble(self, chunks: list[Chunk]) -> bytes:
        return b"".join(c.data for c in chunks)

    def file_builder(self) -> ChunkList:
        return ChunkList(self.assemble)
