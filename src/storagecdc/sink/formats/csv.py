"""TiCDC's CSV protocol, byte for byte (reference section 4).

Record: ``op, table, schema[, commit-ts][, is-update], col1, col2, ...`` + terminator. Strings (op, names,
dates, decimals, enums, sets, JSON, encoded binary) are quoted with the quote character doubled inside, or,
with no quote character, escaped (CR, LF, backslash, and every character of each delimiter occurrence get a
backslash). Numbers and booleans are never quoted; NULL is the null string. Each column is printed whole
with a printer chosen once per table version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from storagecdc.errors import SinkError
from storagecdc.model import Op, RowChanges, TableInfo
from storagecdc.sink.formats import values as V
from storagecdc.sink.formats.base import Chunk, ChunkList, Part, expand, interleave, join_text_chunks, transpose
from storagecdc.sink.options import SinkOptions

Field = Callable[[V.Column], tuple[Sequence[Any], str]]
"""Formats one column: the values to substitute and the ``%``-template of the column's field."""

_NUMERIC = frozenset({V.Kind.INT, V.Kind.YEAR, V.Kind.BIT, V.Kind.FLOAT, V.Kind.DOUBLE})
_QUOTE_FREE = frozenset({V.Kind.DECIMAL, V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP, V.Kind.TIME,
                         V.Kind.BINARY})
"""Kinds whose text can never contain a quote character (only digits, signs, separators, base64/hex)."""


def _pct(text: str) -> str:
    return text.replace("%", "%%")


class CsvEncoder:
    """Encodes the batches of one table version as TiCDC CSV.

    Each batch is transposed to columns; each column is printed by a function chosen once per table
    version; a column without NULLs or characters that need quoting work is substituted whole into a
    ``%``-template of the record (quotes live in the template), so most values see no Python-level code.
    """

    extension = ".csv"

    def __init__(self, table: TableInfo, options: SinkOptions) -> None:
        self._table = table
        self._opts = options
        self._delim = options.delimiter
        self._term = options.terminator
        self._quote = options.quote
        self._quote_str = _string_quoter(options.quote, options.delimiter)
        self._escapes = None if options.quote else re.compile(re.escape(options.delimiter) + r"|[\r\n\\]")
        self._fields = [self._field(col) for col in table.columns]
        self._width = len(table.columns)

    # -- per-column formatters, chosen once -----------------------------------------------------------

    def _printer(self, col: Any, kind: V.Kind) -> V.Printer:
        if kind is V.Kind.INT or kind is V.Kind.YEAR or kind is V.Kind.BIT:
            return V.number_printer()
        if kind is V.Kind.FLOAT:
            return V.mapped_printer(V.go_float32)
        if kind is V.Kind.DOUBLE:
            return V.double_printer()
        if kind is V.Kind.DECIMAL:
            return V.decimal_printer()
        if kind in (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP, V.Kind.TIME):
            return V.temporal_printer(kind, col)
        if kind is V.Kind.BINARY:
            if self._opts.binary_encoding_method == "hex":
                return V.mapped_printer(V.hex_text)
            return V.base64_printer()
        if kind is V.Kind.VECTOR:
            return V.mapped_printer(V.vector_text(V.go_float32))
        return V.passthrough_printer()

    def _field(self, col: Any) -> Field:
        kind = V.column_kind(col)
        printer = self._printer(col, kind)
        null = self._opts.null
        if kind in _NUMERIC:
            raw = kind is V.Kind.INT or kind is V.Kind.YEAR or kind is V.Kind.BIT

            def number(values: V.Column) -> tuple[Sequence[Any], str]:
                if V.has_null(values):
                    return [null if t is None else t for t in printer(values)], "%s"
                return (values if raw else printer(values)), "%s"

            return number

        quote = self._quote_str
        if self._quote:
            q = self._quote
            wrapped = _pct(q) + "%s" + _pct(q)
            quote_free = kind in _QUOTE_FREE

            def quoted(values: V.Column) -> tuple[Sequence[Any], str]:
                text = printer(values)
                if V.has_null(values):
                    return [null if t is None else quote(t) for t in text], "%s"
                if quote_free:
                    return text, wrapped
                joined = "\x00".join(text)
                if q not in joined:
                    return text, wrapped
                doubled = joined.replace(q, q + q).split("\x00")
                if len(doubled) == len(text):
                    return doubled, wrapped
                return [quote(t) for t in text], "%s"

            return quoted

        escapes = self._escapes
        assert escapes is not None

        def escaped(values: V.Column) -> tuple[Sequence[Any], str]:
            text = printer(values)
            if V.has_null(values):
                return [null if t is None else quote(t) for t in text], "%s"
            if escapes.search("".join(text)) is None:
                return text, "%s"
            return [quote(t) for t in text], "%s"

        return escaped

    # -- records -------------------------------------------------------------------------------------

    def header(self) -> str:
        """The ``output-field-header`` line."""
        names = ["ticdc-meta$operation", "ticdc-meta$table", "ticdc-meta$schema"]
        if self._opts.include_commit_ts:
            names.append("ticdc-meta$commit-ts")
        if self._opts.output_old_value:
            names.append("ticdc-meta$is-update")
        names.extend(self._table.column_names)
        return self._delim.join(names) + self._term

    def _meta(self, op: str, commit_ts: int, is_update: bool) -> list[str]:
        q = self._quote_str
        fields = [q(op), q(self._table.name.table), q(self._table.name.schema)]
        if self._opts.include_commit_ts:
            fields.append(str(commit_ts))
        if self._opts.output_old_value:
            fields.append("true" if is_update else "false")
        return fields

    def _records(self, meta: list[str], rows: list[tuple[Any, ...]]) -> tuple[str, Iterator[tuple[Any, ...]]]:
        """The record template and the tuples to substitute into it, one per row."""
        columns = transpose(rows, self._width)
        for column in columns:
            if V.has_absent(column):
                raise SinkError(
                    f"table {self._table.name}: a row image lacks columns (binlog_row_image=MINIMAL or "
                    "NOBLOB); CSV needs full row images"
                )
        texts: list[Sequence[Any]] = []
        templates = [_pct(m) for m in meta]
        for field, column in zip(self._fields, columns, strict=True):
            text, template = field(column)
            texts.append(text)
            templates.append(template)
        template = _pct(self._delim).join(templates) + _pct(self._term)
        if not texts:
            return template, iter([()] * len(rows))
        return template, zip(*texts, strict=True)

    def _part_text(self, part: Part, commit_ts: int) -> str:
        if not part.paired:
            template, values = self._records(self._meta(part.op.value, commit_ts, part.is_update), part.rows)
            return "".join(map(template.__mod__, values))
        assert part.before is not None
        old_t, old_v = self._records(self._meta(Op.DELETE.value, commit_ts, part.is_update), part.before)
        new_t, new_v = self._records(self._meta(Op.INSERT.value, commit_ts, part.is_update), part.rows)
        return "".join(interleave(list(map(old_t.__mod__, old_v)), list(map(new_t.__mod__, new_v))))

    def encode(self, batch: RowChanges) -> Chunk:
        parts = expand(batch, self._opts.output_old_value)
        text = "".join(self._part_text(part, batch.commit_ts) for part in parts)
        records = sum(len(p.rows) * (2 if p.paired else 1) for p in parts)
        data = text.encode("utf-8", "surrogateescape")
        return Chunk(data, records, len(data))

    def encode_many(self, batches: list[RowChanges]) -> Chunk:
        return join_text_chunks([self.encode(b) for b in batches])

    def assemble(self, chunks: list[Chunk]) -> bytes:
        body = b"".join(c.data for c in chunks)
        if self._opts.output_field_header:
            return self.header().encode("utf-8") + body
        return body

    def file_builder(self) -> ChunkList:
        return ChunkList(self.assemble)


def _string_quoter(quote: str, delimiter: str) -> Callable[[str], str]:
    """Quote with ``quote`` (doubled inside), or escape when there is no quote character."""
    if quote:
        doubled = quote + quote

        def with_quotes(text: str) -> str:
            return quote + text.replace(quote, doubled) + quote

        return with_quotes

    delim_escaped = "".join("\\" + c for c in delimiter)
    pattern = re.compile(re.escape(delimiter) + r"|[\r\n\\]")
    special = {"\r": "\\r", "\n": "\\n", "\\": "\\\\", delimiter: delim_escaped}

    def replace(match: re.Match[str]) -> str:
        return special[match.group(0)]

    def with_escapes(text: str) -> str:
        return pattern.sub(replace, text)

    return with_escapes
