"""Row-image decoding for rows events: fast, exact, one specialised decoder per column-spec tuple.

``compile_decoder(specs)`` returns a cached ``RowsDecoder``; its methods decode the row images of one rows
event body (``buf[pos:end]``) given the event's column-present bitmaps (bit i set: column i is in the
image). Values follow ``model.py``'s conventions; columns not in an image are ``model.ABSENT``.

Errors are ``RowDecodeError`` (a ``SourceError``) naming the byte offset of the row in ``buf`` and the
reason; the caller adds the file, event offset and table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from storagecdc.errors import SourceError
from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog import jsonb
from storagecdc.source.binlog.partial_json import apply_partial, diff_text, read_lenenc
from storagecdc.source.binlog.rowgen import DECODE_ERRORS, build_image, build_rows, build_updates
from storagecdc.source.binlog.rowplan import plan_column
from storagecdc.source.binlog.rowspec import ColumnSpec, column_specs

__all__ = ["ColumnSpec", "RowDecodeError", "RowsDecoder", "column_specs", "compile_decoder"]

PARTIAL_JSON_UPDATES = 1
"""The value-options bit of a PARTIAL_UPDATE_ROWS after image that says JSON columns may hold diffs."""

Row = tuple[Any, ...]

MAX_SHAPES = 64
"""Generated decoders kept per table and method, one per distinct present-bitmap (pair)."""


class RowDecodeError(SourceError):
    """A row image cannot be decoded; ``offset`` is the row's position in the event buffer."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class RowsDecoder:
    """Decodes the row images of rows events for one column-spec tuple (see ``compile_decoder``).

    Specialised code is generated lazily per present-bitmap (usually one: all columns) and kept.
    """

    def __init__(self, specs: tuple[ColumnSpec, ...]) -> None:
        ns: dict[str, Any] = {}
        for i, spec in enumerate(specs):
            plan_column(i, spec, ns)  # reject unsupported specs now, not at the first row
        self.specs = specs
        self._rows: dict[int, Callable[..., list[Row]]] = {}
        self._updates: dict[tuple[int, int], Callable[..., tuple[list[Row], list[Row]]]] = {}
        self._images: dict[int, Callable[[bytes, int], tuple[Row, int]]] = {}
        self._json_cols = tuple(i for i, s in enumerate(specs) if s.type_code == ft.JSON)

    def decode_rows(self, buf: bytes, pos: int, end: int, present: int) -> list[Row]:
        """The images of a WRITE_ROWS or DELETE_ROWS body: ``buf[pos:end]`` holds back-to-back images."""
        fn = self._rows.get(present)
        if fn is None:
            _bound(self._rows)
            fn = self._rows[present] = build_rows(self.specs, self._check(present))
        return fn(buf, pos, end, self._fail)

    def decode_update_rows(
        self, buf: bytes, pos: int, end: int, present_before: int, present_after: int
    ) -> tuple[list[Row], list[Row]]:
        """(before images, after images) of an UPDATE_ROWS body, aligned by index."""
        key = (present_before, present_after)
        fn = self._updates.get(key)
        if fn is None:
            _bound(self._updates)
            fn = self._updates[key] = build_updates(self.specs, self._check(present_before), self._check(present_after))
        return fn(buf, pos, end, self._fail)

    def decode_partial_update_rows(
        self,
        buf: bytes,
        pos: int,
        end: int,
        present_before: int,
        present_after: int,
        *,
        diff_text_without_before: bool = False,
    ) -> tuple[list[Row], list[Row]]:
        """(before, after) images of a MySQL PARTIAL_UPDATE_ROWS body, partial JSON diffs applied.

        Each row: the before image; the value options (length-encoded int) and, with
        ``PARTIAL_JSON_UPDATES`` set, a bitmap with one bit per JSON column of the table (bit k for the
        k-th JSON column present in the after image: its value is a JSON diff); then the after image.
        JSON values in both lists are JSON text.

        A diff can only be applied to a before value. When the before image lacks the column
        (``binlog_row_image=MINIMAL``) the full after value is not in the binlog: that is an error, unless
        ``diff_text_without_before`` asks for the diff as ``mysqlbinlog`` shows it
        (``JSON_REPLACE(@2, '$.a', 1)``), which suits a human-readable dump and nothing else.
        """
        before_img = self._image(present_before)
        after_img = self._image(present_after)
        after_json = [i for i in self._json_cols if present_after >> i & 1]
        bitmap_len = (len(self._json_cols) + 7) // 8
        before_rows: list[Row] = []
        after_rows: list[Row] = []
        r = pos
        try:
            while pos < end:
                r = pos
                braw, pos = before_img(buf, pos)
                options, pos = read_lenenc(buf, pos)
                partial = 0
                if options & PARTIAL_JSON_UPDATES:
                    partial = int.from_bytes(buf[pos : pos + bitmap_len], "little")
                    pos += bitmap_len
                araw, pos = after_img(buf, pos)
                after = list(araw)
                for k, i in enumerate(after_json):
                    value = araw[i]
                    if not isinstance(value, bytes):
                        continue
                    if partial >> k & 1:
                        base = braw[i]
                        if isinstance(base, bytes):
                            after[i] = apply_partial(base, value)
                        elif diff_text_without_before:
                            after[i] = diff_text(i, value)
                        else:
                            raise ValueError(
                                f"column {self.specs[i].name or i}: partial JSON update without the column's "
                                "before value (binlog_row_image=MINIMAL with binlog_row_value_options="
                                "PARTIAL_JSON): the after value is not in the binlog"
                            )
                    else:
                        after[i] = jsonb.decode(value)
                before_rows.append(self._json_text(braw))
                after_rows.append(tuple(after))
        except DECODE_ERRORS as exc:
            raise self._fail(r, exc) from exc
        if pos != end:
            raise self._fail(r, None)
        return before_rows, after_rows

    def _json_text(self, row: Row) -> Row:
        if not self._json_cols:
            return row
        out = list(row)
        for i in self._json_cols:
            if isinstance(out[i], bytes):
                out[i] = jsonb.decode(out[i])
        return tuple(out)

    def _image(self, present: int) -> Callable[[bytes, int], tuple[Row, int]]:
        fn = self._images.get(present)
        if fn is None:
            _bound(self._images)
            fn = self._images[present] = build_image(self.specs, self._check(present))
        return fn

    def _check(self, present: int) -> int:
        if present < 0 or present >> len(self.specs):
            raise RowDecodeError(f"column bitmap {present:#x} names columns beyond the table's {len(self.specs)}", 0)
        return present

    def _fail(self, offset: int, exc: BaseException | None) -> RowDecodeError:
        kinds = ",".join(str(s.type_code) for s in self.specs)
        if exc is None:
            reason = "the row images do not end where the event's rows end (corrupt or mismatched schema)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        return RowDecodeError(f"cannot decode the row at byte {offset} (column types {kinds}): {reason}", offset)


def _bound(cache: dict[Any, Any]) -> None:
    """Keep at most MAX_SHAPES generated decoders per table (MINIMAL images can vary row to row)."""
    if len(cache) >= MAX_SHAPES:
        cache.clear()


@functools.lru_cache(maxsize=1024)
def compile_decoder(specs: tuple[ColumnSpec, ...]) -> RowsDecoder:
    """The (cached) decoder for rows of a table whose columns are ``specs``.

    Raises ``RowDecodeError`` for a column the binlog row format cannot carry (unknown type, impossible
    metadata).
    """
    try:
        return RowsDecoder(specs)
    except ValueError as exc:
        raise RowDecodeError(f"cannot decode rows of columns {specs!r}: {exc}", 0) from exc
