"""What every encoder shares: the encoded-chunk type, the encoder protocol and how a batch is expanded.

A ``TableEncoder`` is built once per table version. ``encode`` turns one ``RowChanges`` batch into a
``Chunk`` (text lines, or an Arrow table for Parquet); ``assemble`` joins the chunks of one data file into
its bytes. The writer only sees chunks, their row counts and estimated sizes.

Expansion (``expand``): an UPDATE is written as one ``U`` record with the new values, except

- with ``output-old-value``: every UPDATE becomes ``D`` (old values) then ``I`` (new values), both marked
  ``is-update``;
- an UPDATE that changed the primary key (``RowChanges.pk_changed``) always becomes ``D`` + ``I``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from storagecdc.errors import SinkError
from storagecdc.model import Op, RowChanges


@dataclass(frozen=True, slots=True)
class Chunk:
    """One encoded batch: ``data`` is ``bytes`` for text formats, a ``pyarrow.Table`` for Parquet."""

    data: Any
    rows: int
    size: int
    """Estimated bytes this chunk adds to its file."""


class TableEncoder(Protocol):
    """Encodes the batches of one table version."""

    extension: str

    def encode(self, batch: RowChanges) -> Chunk: ...

    def encode_many(self, batches: list[RowChanges]) -> Chunk:
        """One chunk for several batches, in order (the writer coalesces small batches this way)."""
        ...

    def assemble(self, chunks: list[Chunk]) -> bytes:
        """The bytes of a data file made of ``chunks`` (header and footer included)."""
        ...

    def file_builder(self) -> FileBuilder:
        """A data file made chunk by chunk: ``finish()`` gives the bytes ``assemble`` gives for the same
        chunks (a format may encode the chunks as they come, so that they need not all be held)."""
        ...


class FileBuilder(Protocol):
    def add(self, chunk: Chunk) -> None: ...

    def finish(self) -> bytes: ...


class ChunkList:
    """The ``FileBuilder`` of a format whose files are assembled at once: it keeps the chunks."""

    def __init__(self, assemble: Callable[[list[Chunk]], bytes]) -> None:
        self._assemble = assemble
        self._chunks: list[Chunk] = []

    def add(self, chunk: Chunk) -> None:
        self._chunks.append(chunk)

    def finish(self) -> bytes:
        return self._assemble(self._chunks)


def join_text_chunks(chunks: list[Chunk]) -> Chunk:
    """The text chunks of several batches as one."""
    if len(chunks) == 1:
        return chunks[0]
    return Chunk(b"".join(c.data for c in chunks), sum(c.rows for c in chunks), sum(c.size for c in chunks))


@dataclass(frozen=True, slots=True)
class Part:
    """A run of records of one shape.

    ``paired`` False: one record per row of ``rows`` with op ``op`` (for an UPDATE, ``before`` holds the old
    rows when known). ``paired`` True: for each i, a ``D`` record of ``before[i]`` then an ``I`` record of
    ``rows[i]``. ``seqs`` are the changes' positions in
    their transaction (a pair shares one). ``is_update`` is the CSV ``is-update`` / Parquet ``_is_update``
    value of every record of the part.
    """

    op: Op
    rows: list[tuple[Any, ...]]
    before: list[tuple[Any, ...]] | None
    start_seq: int
    paired: bool
    is_update: bool


def expand(batch: RowChanges, output_old_value: bool) -> list[Part]:
    """The parts a batch is written as, in order (see the module docstring)."""
    if batch.op is not Op.UPDATE:
        return [Part(batch.op, batch.rows, None, batch.seq, False, False)]
    before = batch.before
    if output_old_value:
        if before is None:
            raise SinkError(f"table {batch.table.name}: UPDATE without before images (output-old-value)")
        return [Part(Op.UPDATE, batch.rows, before, batch.seq, True, True)]
    flags = batch.pk_changed
    if not flags or not any(flags) or before is None:
        return [Part(Op.UPDATE, batch.rows, before, batch.seq, False, False)]
    parts: list[Part] = []
    start = 0
    n = len(batch.rows)
    while start < n:
        changed = flags[start]
        end = start + 1
        while end < n and flags[end] == changed:
            end += 1
        rows = batch.rows[start:end]
        seq = batch.seq + start
        parts.append(Part(Op.UPDATE, rows, before[start:end], seq, changed, False))
        start = end
    return parts


def transpose(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    """Rows to columns; ``width`` empty columns when there are no rows."""
    if not rows:
        return [() for _ in range(width)]
    return list(zip(*rows, strict=True))


def interleave(first: list[Any], second: list[Any]) -> list[Any]:
    """``[first[0], second[0], first[1], second[1], ...]``."""
    out: list[Any] = [None] * (len(first) * 2)
    out[0::2] = first
    out[1::2] = second
    return out
