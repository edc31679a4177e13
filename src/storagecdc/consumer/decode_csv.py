"""TiCDC CSV back into typed changes (the writer's dialect: delimiter, quote, null, terminator, binary encoding).

A field is either quoted (a string: the quote character doubled inside) or bare (a number, a boolean, or the
null string). That difference is what tells the string ``\\N`` from NULL, so in general the fields are
read with one regular expression that remembers whether a field was quoted. Most files take the C ``csv``
reader instead (several times faster): a one-character delimiter, a quote character, a newline terminator,
and no quoted field equal to the null string anywhere in the file, so a bare null string is NULL. Without a
quote character, strings are escaped instead (``\\r``, ``\\n``, ``\\\\`` and a backslash before each delimiter
character) and the bare null string is NULL.

A header line (``output-field-header``) is skipped, also when the option was not given. Records are collected
in slices of ``SLICE_ROWS`` and typed column by column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from storagecdc.consumer.changes import Change, pair_updates
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.values import parse_columns, text_parser
from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo

SLICE_ROWS = 4096
HEADER_START = "ticdc-meta$operation"
_UNESCAPES = {"r": "\r", "n": "\n"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
# A field is as long as its value (a LONGTEXT/LONGBLOB up to 4 GiB); the C reader refuses fields over 128 KiB
# unless its process-wide limit is raised.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def _unescape(match: re.Match[str]) -> str:
    ch = match.group(1)
    return _UNESCAPES.get(ch, ch)


class CsvReader:
    """Reads the CSV data files of one table version."""

    def __init__(self, table: TableInfo, options: ConsumerOptions) -> None:
        self._table = table
        self._opts = options
        self._meta = 3 + options.include_commit_ts + options.output_old_value
        self._width = self._meta + len(table.columns)
        self._parsers = [text_parser(c, binary=options.binary_encoding_method) for c in table.columns]
        self._names = table.column_names
        d, t = re.escape(options.delimiter), re.escape(options.terminator)
        if options.quote:
            q = re.escape(options.quote)
            self._pattern = re.compile(rf"(?:({q})([^{q}]*(?:{q}{q}[^{q}]*)*){q}|([^{q}]*?))({d}|{t}|\Z)", re.DOTALL)
        else:
            self._pattern = re.compile(rf"((?:\\.|[^\\])*?)({d}|{t}|\Z)", re.DOTALL)

    def _fields(self, text: str, key: str) -> Iterator[list[Any]]:
        """The records of a file as lists of field texts (None for NULL)."""
        opts = self._opts
        delim, null, quote = opts.delimiter, opts.null, opts.quote
        doubled = quote + quote
        match = self._pattern.match
        pos, end = 0, len(text)
        if self._has_header(text):
            first = text.find(opts.terminator)
            pos = end if first < 0 else first + len(opts.terminator)
        record: list[Any] = []
        number = 1
        while pos < end:
            m = match(text, pos)
            if m is None or m.end() == pos:
                raise ConsumerError(f"data file {key!r}: record {number}: malformed CSV at character {pos}")
            pos = m.end()
            if quote:
                mark, content, bare, sep = m.groups()
                if mark:
                    record.append(content.replace(doubled, quote) if quote in content else content)
                else:
                    record.append(None if bare == null else bare)
            else:
                raw, sep = m.groups()
                if raw == null:
                    record.append(None)
                else:
                    record.append(_ESCAPE_RE.sub(_unescape, raw) if "\\" in raw else raw)
            if sep != delim:
                if len(record) != self._width:
                    raise ConsumerError(f"data file {key!r}: record {number} has {len(record)} fields, expected "
                                        f"{self._width} for table {self._table.name} with its options")
                yield record
                record = []
                number += 1
        if record:
            raise ConsumerError(f"data file {key!r}: record {number} is cut short")

    def _has_header(self, text: str) -> bool:
        """``output-field-header``'s line, recognised also when the option was not given (no record starts
        with its first name)."""
        return self._opts.output_field_header or text.startswith(HEADER_START + self._opts.delimiter)

    def _fast(self, text: str) -> bool:
        """Whether the C ``csv`` reader can read this file: a one-character delimiter, a quote, a newline
        terminator, and no quoted field that looks like NULL (the only thing it cannot tell apart)."""
        opts = self._opts
        return (len(opts.delimiter) == 1 and bool(opts.quote) and opts.terminator in ("\r\n", "\n")
                and bool(opts.null) and opts.quote + opts.null + opts.quote not in text)

    def _csv_fields(self, text: str, key: str) -> Iterator[list[Any]]:
        """Records by the C reader; NULLs are still the null string (mapped per column later)."""
        opts = self._opts
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=opts.delimiter, quotechar=opts.quote,
                            doublequote=True, strict=True)
        try:
            if self._has_header(text):
                next(reader, None)
            for record in reader:
                if len(record) != self._width:
                    raise ConsumerError(f"data file {key!r}: record {reader.line_num} has {len(record)} fields, "
                                        f"expected {self._width} for table {self._table.name} with its options")
                yield record
        except csv.Error as exc:
            raise ConsumerError(f"data file {key!r}: line {reader.line_num}: malformed CSV: {exc}") from None

    def _records(self, data: bytes, key: str) -> Iterator[tuple[str, int | None, bool, tuple[Any, ...]]]:
        text = data.decode("utf-8", "surrogateescape")
        meta = self._meta
        has_ts = self._opts.include_commit_ts
        has_update = self._opts.output_old_value
        batch: list[list[Any]] = []
        fast = self._fast(text)
        null = self._opts.null
        records = self._csv_fields(text, key) if fast else self._fields(text, key)
        while True:
            batch.clear()
            for record in records:
                batch.append(record)
                if len(batch) >= SLICE_ROWS:
                    break
            if not batch:
                return
            columns: list[Any] = list(zip(*batch, strict=True))
            if fast:
                columns[meta:] = [[None if v == null else v for v in c] if null in c else c for c in columns[meta:]]
            typed = parse_columns(self._parsers, columns[meta:], self._names, f"data file {key!r}")
            ops = columns[0]
            stamps: tuple[Any, ...] = tuple(map(int, columns[3])) if has_ts else (None,) * len(batch)
            flags: tuple[Any, ...] = (tuple(v == "true" for v in columns[meta - 1]) if has_update
                                      else (False,) * len(batch))
            rows = zip(*typed, strict=True) if typed else iter([()] * len(batch))
            yield from zip(ops, stamps, flags, rows, strict=True)

    def changes(self, data: bytes, key: str) -> Iterator[Change]:
        """The changes of one data file, in file order."""
        return pair_updates(self._records(data, key), f"data file {key!r}")
