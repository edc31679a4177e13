"""``storagecdc decode FILE...``: the decoded change stream as JSON lines, or a one-line summary."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
from collections import Counter
from decimal import Decimal
from typing import Any, TextIO

from storagecdc.model import ABSENT, DDLEvent, ResolvedTs, RowChanges, TableInfo, TxnCommit
from storagecdc.source.binlog.contract import TableMap
from storagecdc.source.binlog.events import Event
from storagecdc.source.positional import positional_table
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.table_filter import SYSTEM_SCHEMAS, TableFilter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="binlog files or a directory of them")
    parser.add_argument("--quiet", action="store_true", help="decode every value but print only a summary")
    parser.add_argument("--schema", metavar="FILE.sql", help="initial schema: CREATE statements")
    parser.add_argument("--start-position", type=int, default=4, help="byte offset in the first file")
    parser.add_argument("--filter", action="append", metavar="RULE", help="table filter rule (repeatable)")


def run(args: argparse.Namespace) -> int:
    rules = args.filter or ["*.*", *(f"{s}.*" for s in sorted(SYSTEM_SCHEMAS))]
    counter = EventCounter()
    summary: Counter[str] = Counter()
    tables: set[str] = set()
    out = sys.stdout
    quiet = args.quiet

    def statement(ev: Event, what: str) -> None:
        summary["statements"] += 1
        if not quiet:
            _emit(out, {"statement": what, "position": f"{ev.file}:{ev.offset}"})

    def unknown(tm: TableMap, _exc: Exception) -> TableInfo:
        return positional_table(tm, assembler.tracker.start_ts if assembler.tracker else 0)

    assembler = TransactionAssembler(
        SchemaOptions(schema_file=args.schema).tracker_factory,
        table_filter=TableFilter(rules),
        on_unknown_table=unknown,
        on_statement=statement,
        inspect=True,
    )
    source = args.files[0] if len(args.files) == 1 else args.files
    for change in assembler.feed(file_events(source, counter, args.start_position)):
        if isinstance(change, RowChanges):
            summary[change.op.name.lower()] += len(change.rows)
            tables.add(str(change.table.name))
            if not quiet:
                _emit_rows(out, change)
        elif isinstance(change, TxnCommit):
            summary["transactions"] += 1
            if not quiet:
                pos = change.position
                _emit(out, {"commit": change.commit_ts, "position": f"{pos.file}:{pos.offset}",
                            "gtid": pos.gtid_set, "rows": change.rows})
        elif isinstance(change, DDLEvent):
            summary["ddl"] += 1
            if not quiet:
                _emit(out, {"ddl": change.query, "schema": change.schema, "type": change.ddl_type,
                            "commit_ts": change.commit_ts, "tables": [str(t) for t in change.tables],
                            "new_tables": [str(t.name) for t in change.new_tables],
                            "dropped": [str(t) for t in change.dropped]})
        elif isinstance(change, ResolvedTs) and not quiet:
            _emit(out, {"resolved": change.ts})
    print(
        f"events={counter.events} transactions={summary['transactions']} ddl={summary['ddl']} "
        f"insert={summary['insert']} update={summary['update']} delete={summary['delete']} "
        f"tables={len(tables)} statements={summary['statements']}",
        file=sys.stdout if quiet else sys.stderr,
    )
    return 0


def _emit_rows(out: TextIO, change: RowChanges) -> None:
    names = change.table.column_names
    base: dict[str, Any] = {"op": change.op.value, "table": str(change.table.name), "commit_ts": change.commit_ts}
    before = change.before
    for i, row in enumerate(change.rows):
        item: dict[str, Any] = dict(base, seq=change.seq + i)
        if before is not None:
            item["before"] = _row(names, before[i])
            item["after"] = _row(names, row)
            if change.pk_changed and change.pk_changed[i]:
                item["pk_changed"] = True
        else:
            item["row"] = _row(names, row)
        _emit(out, item)


def _row(names: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    return {n: _value(v) for n, v in zip(names, row, strict=True) if v is not ABSENT}


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return _time_text(v)
    if isinstance(v, bytes):
        return {"base64": base64.b64encode(v).decode()}
    return repr(v)


def _time_text(v: dt.timedelta) -> str:
    micros = v.days * 86_400_000_000 + v.seconds * 1_000_000 + v.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    secs, frac = divmod(micros, 1_000_000)
    text = f"{sign}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return f"{text}.{frac:06d}" if frac else text


def _emit(out: TextIO, item: dict[str, Any]) -> None:
    out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
