"""The simulator's verdict on one run, from the store's write order and contents alone.

Checked, against the workload that was fed in:

- every block event (DDL, syncpoint) has its object(s) (schema file / marker) created exactly once, and no
  such object is ever overwritten;
- no schema file / marker for T was created before every row change < T of every influenced table was
  durable (its data file written, then an index file naming it or a later file);
- no data file holding a row change >= T of an influenced table was written before the object for T;
- every ``metadata`` checkpoint c was written only when every row change <= c was durable;
- every syncpoint marker is a consistent cut: it names every table existing at T, and replaying only the
  data files inside its cut gives the same state at T as replaying every file;
- replaying the files (schema files and rows, in commit-ts order) equals the serial replay of the workload.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from storagecdc.model import BlockScope, DDLEvent, Op, SyncPointEvent, TableName
from storagecdc.sim.reader import DecodedRow, SchemaEvent, decode_csv, read_store, replay
from storagecdc.sim.recording import PutRecord
from storagecdc.sim.workload import START_TS, Txn, Workload
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import (
    METADATA_KEY,
    SYNCPOINT_PREFIX,
    DateSeparator,
    build_index_file_key,
    parse_data_file_key,
    parse_index_content,
    parse_index_file_key,
    parse_schema_file_key,
    parse_syncpoint_key,
)
from storagecdc.storage.syncpoint import parse_syncpoint

RowId = tuple[TableName, int, str, int]
"""(table, commit-ts, op letter, id) of one row change."""

_OP_LETTER = {Op.INSERT: "I", Op.UPDATE: "U", Op.DELETE: "D"}


@dataclass
class WriteOrder:
    """What the put log says: when each block object, data file and row became durable."""

    block_seq: dict[int, int]
    """Commit-ts of a block event -> seq of the first object created for it."""
    data_seq: dict[str, int]
    durable_seq: dict[str, int]
    row_durable: dict[RowId, int]
    max_ts: dict[str, tuple[TableName, int]]
    """Data file -> its table and the largest commit-ts in it."""
    violations: list[str]


def block_object_ts(key: str) -> int | None:
    """The commit-ts a schema file or syncpoint marker belongs to (None for other keys)."""
    sp = parse_syncpoint_key(key)
    if sp is not None:
        return sp
    sk = parse_schema_file_key(key)
    return None if sk is None else sk.version


def analyse_puts(puts: list[PutRecord]) -> WriteOrder:
    out = WriteOrder({}, {}, {}, {}, {}, [])
    pending: dict[str, list[tuple[int, str]]] = defaultdict(list)
    files: dict[str, bytes] = {}
    for rec in puts:
        ts = block_object_ts(rec.key)
        if ts is not None:
            if not rec.created:
                out.violations.append(f"block object {rec.key} overwritten at put {rec.seq}")
            elif ts not in out.block_seq:
                out.block_seq[ts] = rec.seq
            continue
        parsed = parse_data_file_key(rec.key, DateSeparator.NONE)
        if parsed is not None:
            if rec.created:
                out.data_seq[rec.key] = rec.seq
                files[rec.key] = rec.data
                pending[build_index_file_key(parsed.dir, dispatcher_id=parsed.dispatcher_id)].append(
                    (parsed.index, rec.key))
            continue
        if parse_index_file_key(rec.key, DateSeparator.NONE) is not None:
            _, named = parse_index_content(rec.data, rec.key)
            waiting = pending[rec.key]
            for index, key in waiting:
                if index <= named:
                    out.durable_seq.setdefault(key, rec.seq)
            pending[rec.key] = [(i, k) for i, k in waiting if i > named]
    for key, data in files.items():
        decoded = decode_csv(key, data)
        if decoded:
            out.max_ts[key] = (decoded[0].table, max(r.commit_ts for r in decoded))
        seq = out.durable_seq.get(key)
        if seq is None:
            continue
        for row in decoded:
            rid = (row.table, row.commit_ts, row.op, row.values[0] or 0)
            if seq < out.row_durable.get(rid, 1 << 62):
                out.row_durable[rid] = seq
    return out


def workload_rows(w: Workload) -> list[RowId]:
    rows: list[RowId] = []
    for e in w.entries:
        if isinstance(e, Txn):
            for ch in e.changes:
                rows.extend((ch.table.name, e.commit_ts, _OP_LETTER[ch.op], r[0]) for r in ch.rows)
    return rows


def blocked_tables(w: Workload, e: DDLEvent | SyncPointEvent) -> tuple[set[TableName], set[TableName]]:
    """(tables whose DML < T must be durable first, tables whose DML >= T must come after the object)."""
    t = e.commit_ts
    before = set(w.tables_at(t - 1))
    after = set(w.tables_at(t))
    if isinstance(e, SyncPointEvent) or e.scope is BlockScope.ALL:
        return before, after
    if e.scope is BlockScope.DATABASE:
        return {n for n in before if n.schema == e.schema}, {n for n in after if n.schema == e.schema}
    return set(e.tables), {n.name for n in e.new_tables} | (set(e.tables) - set(e.dropped))


def check_run(w: Workload, store: ObjectStore, puts: list[PutRecord]) -> list[str]:
    """Every violated guarantee, as one line each (empty when the run was correct)."""
    order = analyse_puts(puts)
    out = list(order.violations)
    files, schemas = read_store(store)
    rows = workload_rows(w)
    rows_by_table: dict[TableName, list[RowId]] = defaultdict(list)
    for r in rows:
        rows_by_table[r[0]].append(r)
    for e in w.entries:
        if isinstance(e, Txn):
            continue
        t = e.commit_ts
        seq = order.block_seq.get(t)
        if seq is None:
            out.append(f"block event at {t} ({_describe(e)}) was never written")
            continue
        if isinstance(e, DDLEvent):
            out += _check_schema_files(e, schemas)
        before, after = blocked_tables(w, e)
        for name in sorted(before):
            for r in rows_by_table[name]:
                if r[1] < t and order.row_durable.get(r, 1 << 62) > seq:
                    out.append(f"object for {t} ({_describe(e)}) written before row {r} was durable")
                    break
        for key, data_seq in order.data_seq.items():
            if data_seq < seq and key in order.max_ts:
                table, max_ts = order.max_ts[key]
                if table in after and max_ts >= t:
                    out.append(f"data file {key} with changes >= {t} written before the object for "
                               f"{_describe(e)}")
    out += _check_checkpoints(puts, rows, order)
    initial = [n for n, versions in w.versions.items() if versions[0][0] == START_TS]

    def columns(name: TableName, version: int) -> tuple[str, ...]:
        info = w.table_at(name, version)
        if info is None:
            raise KeyError(f"no version {version} of {name}")
        return info.column_names

    out += _check_syncpoints(w=w, store=store, files=files, schemas=schemas, initial=initial, columns=columns)
    got = replay((r for f in files.values() for r in f), schemas, initial, columns)
    want = w.final
    for name in sorted(set(got) | set(want)):
        if got.get(name, {}) != want.get(name, {}):
            out.append(f"replay of {name} differs from the serial replay: got {len(got.get(name, {}))} rows, "
                       f"want {len(want.get(name, {}))}")
    return out


def _check_syncpoints(
    *,
    w: Workload,
    store: ObjectStore,
    files: dict[str, list[DecodedRow]],
    schemas: list[SchemaEvent],
    initial: list[TableName],
    columns: Callable[[TableName, int], tuple[str, ...]],
) -> list[str]:
    """Each marker is a consistent cut: it names every table of T, and the data files beyond it add nothing
    below T (replaying only the files inside the cut gives the same state at T as replaying all files)."""
    out: list[str] = []
    for info in store.list(SYNCPOINT_PREFIX):
        marker = parse_syncpoint(store.get(info.key), info.key)
        t = marker.commit_ts
        names = {m.name for m in marker.tables}
        if names != set(w.tables_at(t)):
            out.append(f"syncpoint {t} names tables {sorted(map(str, names))}, want "
                       f"{sorted(map(str, w.tables_at(t)))}")
        last: dict[tuple[TableName, int, str, str], int] = {}
        for m in marker.tables:
            for span, keys in m.spans.items():
                for key in keys:
                    parsed = parse_data_file_key(key, DateSeparator.NONE)
                    if parsed is not None:
                        last[(m.name, m.version, span, parsed.dir.key_prefix())] = parsed.index
        versions = {m.name: m.version for m in marker.tables}
        inside: list[DecodedRow] = []
        for key, rows in files.items():
            parsed = parse_data_file_key(key, DateSeparator.NONE)
            assert parsed is not None
            name = TableName(parsed.dir.schema, parsed.dir.table)
            if parsed.dir.version == versions.get(name):
                slot = (name, parsed.dir.version, parsed.dispatcher_id or "", parsed.dir.key_prefix())
                if parsed.index > last.get(slot, 0):
                    continue
            inside += [r for r in rows if r.commit_ts < t]
        before = [s for s in schemas if s.version < t]
        everything = [r for f in files.values() for r in f if r.commit_ts < t]
        cut, full = replay(inside, before, initial, columns), replay(everything, before, initial, columns)
        for name in sorted(names):
            if cut.get(name, {}) != full.get(name, {}):
                out.append(f"syncpoint {t}: table {name} materialised from the cut has "
                           f"{len(cut.get(name, {}))} rows, from all files {len(full.get(name, {}))}")
    return out


def _check_schema_files(ddl: DDLEvent, schemas: list[SchemaEvent]) -> list[str]:
    """The DDL's schema files carry its query and type (not a schema file written from the DML path)."""
    mine = [s for s in schemas if s.version == ddl.commit_ts]
    if not any(s.query == ddl.query and s.ddl_type == ddl.ddl_type for s in mine):
        return [f"no schema file at {ddl.commit_ts} carries the DDL {ddl.query!r}"]
    return [f"schema file {s.key} at {ddl.commit_ts} lacks the DDL {ddl.query!r}" for s in mine
            if s.query != ddl.query]


def _check_checkpoints(puts: list[PutRecord], rows: list[RowId], order: WriteOrder) -> list[str]:
    out: list[str] = []
    for rec in puts:
        if rec.key != METADATA_KEY:
            continue
        ckpt = int(json.loads(rec.data)["checkpoint-ts"])
        late = [r for r in rows if r[1] <= ckpt and order.row_durable.get(r, 1 << 62) > rec.seq]
        if late:
            out.append(f"checkpoint {ckpt} written at put {rec.seq} before row {late[0]} was durable")
    return out


def _describe(e: DDLEvent | SyncPointEvent) -> str:
    return "syncpoint" if isinstance(e, SyncPointEvent) else e.query
