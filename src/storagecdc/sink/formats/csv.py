"""TiCDC's CSV protocol, byte for byte (reference section 4).

Record: ``op, table, schema[, commit-ts][, is-update], col1, col2, ...`` + terminator. Strings (op, names,
dates, decimals, enums, sets, JSON, encoded binary) are quoted with the quote character doubled inside, or,
with no quote character, escaped (CR, LF, backslash, and every character of each delimiter occurrence get a
backslash). Numbers and booleans are never quoted; NULL is the null string. Each column is printed whole
with a printer chosen once per table version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from storagecdc.errors import SinkError
from storagecdc.model import ABSENT, Op, RowChanges, TableInfo
from storagecdc.sink.formats import values as V
from storagecdc.sink.formats.base import Chunk, Part, expand, interleave, transpose
from storagecdc.sink.options import SinkOptions

Field = Callable[[V.Column], list[str]]


class CsvEncoder:
    """Encodes the batches of one table version as TiCDC CSV."""

    extension = ".csv"

    def __init__(self, table: TableInfo, options: SinkOptions) -> None:
        self._table = table
        self._opts = options
        self._delim = options.delimiter
        self._term = options.terminator
        self._quote_str = _string_quoter(options.quote, options.delimiter)
        self._fields = [self._field(col) for col in table.columns]
        self._width = len(table.columns)

    # -- per-column printers, chosen once ------------------------------------------------------------

    def _field(self, col: Any) -> Field:
        kind = V.column_kind(col)
        null = self._opts.null
        if kind in (V.Kind.INT, V.Kind.YEAR, V.Kind.BIT):
            return _finish(V.number_printer(), null, None)
        if kind is V.Kind.FLOAT:
            return _finish(V.mapped_printer(V.go_float32), null, None)
        if kind is V.Kind.DOUBLE:
            return _finish(V.mapped_printer(V.go_float64), null, None)
        quote = self._quote_str
        if kind is V.Kind.DECIMAL:
            return _finish(V.mapped_printer(V.decimal_text), null, quote)
        if kind in (V.Kind.DATE, V.Kind.DATETIME, V.Kind.TIMESTAMP, V.Kind.TIME):
            return _finish(V.temporal_printer(kind, col), null, quote)
        if kind is V.Kind.BINARY:
            enc = V.hex_text if self._opts.binary_encoding_method == "hex" else V.base64_text
            return _finish(V.mapped_printer(enc), null, quote)
        if kind is V.Kind.VECTOR:
            return _finish(V.mapped_printer(V.vector_text(V.go_float32)), null, quote)
        return _finish(V.passthrough_printer(), null, quote)

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

    def _meta(self, op: str, commit_ts: int, is_update: bool) -> str:
        q = self._quote_str
        fields = [q(op), q(self._table.name.table), q(self._table.name.schema)]
        if self._opts.include_commit_ts:
            fields.append(str(commit_ts))
        if self._opts.output_old_value:
            fields.append("true" if is_update else "false")
        return self._delim.join(fields) + self._delim

    def _lines(self, meta: str, rows: list[tuple[Any, ...]]) -> list[str]:
        columns = transpose(rows, self._width)
        for column in columns:
            if ABSENT in column:
                raise SinkError(
                    f"table {self._table.name}: a row image lacks columns (binlog_row_image=MINIMAL or "
                    "NOBLOB); CSV needs full row images"
                )
        printed = [field(column) for field, column in zip(self._fields, columns, strict=True)]
        delim = self._delim
        term = self._term
        if not printed:
            return [meta[: -len(delim)] + term] * len(rows)
        return [meta + delim.join(fields) + term for fields in zip(*printed, strict=True)]

    def _part_lines(self, part: Part, commit_ts: int) -> list[str]:
        if not part.paired:
            return self._lines(self._meta(part.op.value, commit_ts, part.is_update), part.rows)
        assert part.before is not None
        old = self._lines(self._meta(Op.DELETE.value, commit_ts, part.is_update), part.before)
        new = self._lines(self._meta(Op.INSERT.value, commit_ts, part.is_update), part.rows)
        return interleave(old, new)

    def encode(self, batch: RowChanges) -> Chunk:
        lines: list[str] = []
        for part in expand(batch, self._opts.output_old_value):
            lines.extend(self._part_lines(part, batch.commit_ts))
        data = "".join(lines).encode("utf-8", "surrogateescape")
        return Chunk(data, len(lines), len(data))

    def assemble(self, chunks: list[Chunk]) -> bytes:
        body = b"".join(c.data for c in chunks)
        if self._opts.output_field_header:
            return self.header().encode("utf-8") + body
        return body


def _finish(printer: V.Printer, null: str, quote: Callable[[str], str] | None) -> Field:
    """Turn a printer into a CSV field formatter: NULL -> null string, strings quoted/escaped."""
    if quote is None:

        def unquoted(values: V.Column) -> list[str]:
            return [null if t is None else t for t in printer(values)]

        return unquoted

    def quoted(values: V.Column) -> list[str]:
        return [null if t is None else quote(t) for t in printer(values)]

    return quoted


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
