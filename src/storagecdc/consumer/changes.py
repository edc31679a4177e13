"""The row changes decoders produce and appliers apply.

``Change.kind``:

- ``INSERT``: ``row`` is the new row (``I`` records, and the ``I`` half of a PK-changing update written
  without old values).
- ``DELETE``: ``row`` is the old row.
- ``UPSERT``: an UPDATE written as one ``U`` record with only the new values (no ``output-old-value``): the
  row with the same primary key is replaced. Tables without a primary key cannot take it.
- ``UPDATE``: ``old`` -> ``row`` (a ``D``+``I`` pair marked is-update, or canal-json's ``old``).

``commit_ts`` is None when the format does not carry it (CSV without include-commit-ts, canal-json without
the TiDB extension).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, NamedTuple

from storagecdc.errors import ConsumerError


class ChangeKind(enum.Enum):
    INSERT = "I"
    DELETE = "D"
    UPSERT = "U"
    UPDATE = "UPDATE"


class Change(NamedTuple):
    kind: ChangeKind
    commit_ts: int | None
    row: tuple[Any, ...]
    old: tuple[Any, ...] | None = None


INSERT, DELETE, UPSERT, UPDATE = ChangeKind.INSERT, ChangeKind.DELETE, ChangeKind.UPSERT, ChangeKind.UPDATE
_OPS = {"I": INSERT, "D": DELETE, "U": UPSERT}


def op_kind(op: str, where: str) -> ChangeKind:
    kind = _OPS.get(op)
    if kind is None:
        raise ConsumerError(f"{where}: unknown operation {op!r} (expected I, U or D)")
    return kind


def pair_updates(records: Iterator[tuple[str, int | None, bool, tuple[Any, ...]]], where: str) -> Iterator[Change]:
    """Records ``(op, commit_ts, is_update, row)`` as changes: a ``D`` then ``I`` both marked is-update is one
    ``UPDATE`` (old, new); everything else maps one to one."""
    held: tuple[int | None, tuple[Any, ...]] | None = None
    for op, ts, is_update, row in records:
        if held is not None:
            if op != "I" or not is_update:
                raise ConsumerError(f"{where}: an is-update D record is not followed by its I record")
            yield Change(UPDATE, ts, row, held[1])
            held = None
        elif is_update and op == "D":
            held = (ts, row)
        else:
            yield Change(op_kind(op, where), ts, row)
    if held is not None:
        raise ConsumerError(f"{where}: the file ends inside an is-update D+I pair")
