"""Read what the simulator's sink produced back: CSV data files, schema files, and a replay of both.

The simulator's sink writes CSV with ``include-commit-ts`` and no date directories; its tables hold only
INT columns, so every value is an integer or ``\\N``. The replay applies schema files (create, drop,
truncate, rename, add/drop column) and rows in commit-ts order, a schema file at T before rows at T; rows
written twice (a dispatcher recreated from an older checkpoint) are identical and apply idempotently.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from storagecdc import ddl_types
from storagecdc.errors import ConsumerError
from storagecdc.model import TableName
from storagecdc.sim.workload import State
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import DateSeparator, parse_data_file_key, parse_schema_file_key

NULL = "\\N"


@dataclass(frozen=True, slots=True)
class DecodedRow:
    """One CSV record: its table, the version directory it is in, commit-ts, op letter and values."""

    table: TableName
    version: int
    commit_ts: int
    op: str
    values: tuple[int | None, ...]


@dataclass(frozen=True, slots=True)
class SchemaEvent:
    """One schema file."""

    key: str
    schema: str
    table: str
    version: int
    ddl_type: int
    query: str


def decode_csv(key: str, data: bytes) -> list[DecodedRow]:
    """The records of one data file (``ConsumerError`` naming the key when one is malformed)."""
    parsed = parse_data_file_key(key, DateSeparator.NONE)
    if parsed is None:
        raise ConsumerError(f"{key!r} is not a data file key")
    out: list[DecodedRow] = []
    for n, rec in enumerate(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))):
        try:
            op, table, schema, ts = rec[0], rec[1], rec[2], int(rec[3])
            values = tuple(None if v == NULL else int(v) for v in rec[4:])
        except (IndexError, ValueError) as e:
            raise ConsumerError(f"data file {key!r}, record {n}: {e}") from e
        out.append(DecodedRow(TableName(schema, table), parsed.dir.version, ts, op, values))
    return out


def read_schema_event(key: str, data: bytes) -> SchemaEvent | None:
    parsed = parse_schema_file_key(key)
    if parsed is None:
        return None
    doc = json.loads(data)
    return SchemaEvent(key, parsed.schema, parsed.table, parsed.version, int(doc.get("Type", 0)),
                       str(doc.get("Query", "")))


_NAME = r"`((?:[^`]|``)*)`\.`((?:[^`]|``)*)`"
_RENAME = re.compile(rf"RENAME TABLE {_NAME} TO {_NAME}")
_COLUMN = re.compile(r"(ADD|DROP) COLUMN `([^`]+)`")


def _name(schema: str, table: str) -> TableName:
    return TableName(schema.replace("``", "`"), table.replace("``", "`"))


def replay(
    rows: Iterable[DecodedRow],
    schemas: Iterable[SchemaEvent],
    initial: Iterable[TableName],
    columns: Callable[[TableName, int], tuple[str, ...]],
) -> State:
    """Apply schema files and rows in commit-ts order; the state keyed like ``workload.State``."""
    state: State = {name: {} for name in initial}
    items: list[tuple[int, int, Any]] = [(s.version, 0, s) for s in schemas]
    items += [(r.commit_ts, 1, r) for r in rows]
    items.sort(key=lambda x: (x[0], x[1]))
    for _, _, item in items:
        if isinstance(item, SchemaEvent):
            _apply_schema(state, item)
            continue
        table = state.setdefault(item.table, {})
        names = columns(item.table, item.version)
        if len(names) != len(item.values):
            raise ConsumerError(f"table {item.table} version {item.version}: {len(item.values)} values for "
                                f"{len(names)} columns at commit-ts {item.commit_ts}")
        key = (item.values[0],)
        if item.op == "D":
            table.pop(key, None)
        else:
            table[key] = dict(zip(names, item.values, strict=True))
    return state


def _apply_schema(state: State, ev: SchemaEvent) -> None:
    name = TableName(ev.schema, ev.table)
    if ev.ddl_type == ddl_types.CREATE_TABLE:
        state.setdefault(name, {})
    elif ev.ddl_type == ddl_types.DROP_TABLE:
        state.pop(name, None)
    elif ev.ddl_type == ddl_types.TRUNCATE_TABLE:
        state[name] = {}
    elif ev.ddl_type == ddl_types.RENAME_TABLE:
        m = _RENAME.search(ev.query)
        if m is None:
            raise ConsumerError(f"schema file {ev.key!r}: cannot read the RENAME {ev.query!r}")
        old, new = _name(m.group(1), m.group(2)), _name(m.group(3), m.group(4))
        if name == new:  # the old name's schema file (no columns) records the same rename
            state[new] = state.pop(old, {})
    elif ev.ddl_type in (ddl_types.ADD_COLUMN, ddl_types.DROP_COLUMN):
        m = _COLUMN.search(ev.query)
        if m is None:
            raise ConsumerError(f"schema file {ev.key!r}: cannot read the column change {ev.query!r}")
        for row in state.get(name, {}).values():
            if m.group(1) == "ADD":
                row[m.group(2)] = None
            else:
                row.pop(m.group(2), None)


def read_store(store: ObjectStore) -> tuple[dict[str, list[DecodedRow]], list[SchemaEvent]]:
    """Every data file's records by key, and every schema file."""
    files: dict[str, list[DecodedRow]] = {}
    schemas: list[SchemaEvent] = []
    for info in store.list():
        if info.key.endswith(".csv"):
            files[info.key] = decode_csv(info.key, store.get(info.key))
        elif "/meta/schema_" in "/" + info.key:
            ev = read_schema_event(info.key, store.get(info.key))
            if ev is not None:
                schemas.append(ev)
    return files, schemas
