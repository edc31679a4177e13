"""``storagecdc ls URI [--json] [--no-rows]``: print a sink's layout as a tree, or as JSON for scripts.

The URI is the sink URI (``file:///dir?protocol=csv``, ``s3://bucket/prefix?protocol=parquet&endpoint=...``);
its query tells how the files were written, with the sink's option names: ``date-separator`` (default
``day``) to parse the keys, and the CSV dialect (``quote``, ``terminator``, ``output-field-header``) to count
records. Row counts read every data file (Parquet: the footer); ``--no-rows`` only lists (fast on huge
buckets). Names are the real database and table names; a name with control characters, surrounding blanks
or nothing at all is printed quoted, Python-style (``'a\\nb'``). Secrets in the URI are never printed. An
empty or nonexistent prefix exits 1.

``--json`` prints one document (keys in this order; ``time`` is the commit-ts's UTC wall time)::

    {"format": 1, "uri": "<redacted URI>",
     "checkpoint": {"commit-ts": N, "time": "2026-11-27 05:46:22.000 UTC"} | null,
     "databases": [{"name": "shop",
        "ddl": [{"version": N, "time": T, "schema-file": KEY, "query": Q, "type": N, "columns": null}],
        "tables": [{"name": "orders", "split": true, "dispatchers": ["00003fff", ...],
           "versions": [{"version": N, "time": T | null, "schema-file": KEY | null,
              "query": Q | null, "type": N | null,
              "columns": [{"name": C, "type": "INT", "pk": true, "nullable": false}] | null,
              "directories": [{"prefix": KEY_PREFIX, "partition": N | null, "date": "2026-11-27" | "",
                 "dispatchers": [{"id": "" | "00003fff", "index-file": KEY | null,
                    "files": [{"key": K, "name": "CDC...csv", "index": 1, "size": BYTES,
                               "rows": N | null}]}]}]}]}]}],
     "syncpoints": [{"commit-ts": N, "time": T, "key": K, "tables": [{"schema": S, "table": T,
        "version": N, "spans": [{"dispatcher": "" | ID, "files": [KEY, ...]}]}]}],
     "owner": {"changefeed": ID, "epoch": N, "holder": H, "lease-expires-ms": N} | null,
     "resume": {"changefeed-id": ID, "checkpoint-ts": N, "source": REDACTED, "file": F, "offset": N,
                "gtid-set": G} | null,
     "totals": {"databases": N, "tables": N, "versions": N, "files": N, "bytes": N, "rows": N | null},
     "other-keys": [KEY, ...], "problems": [{"key": KEY, "message": M}]}

``rows`` is null with ``--no-rows`` or when a file could not be read (the reason is in ``problems``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from storagecdc.layout import CsvDialect, Layout, Table, TableVersion, read_layout, ts_time
from storagecdc.sink.options import parse_sink_options
from storagecdc.storage import DateSeparator, ObjectStore, SchemaFile, open_store, redact_uri

DDL_WIDTH = 72
"""DDL text longer than this is cut in the tree (``--json`` has it whole)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__
    parser.add_argument("uri", metavar="URI", help="the sink URI (s3://bucket/prefix?protocol=csv, file:///dir, ...)")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the tree")
    parser.add_argument("--no-rows", action="store_true", help="do not read data files to count rows")


def run(args: argparse.Namespace) -> int:
    date_separator, dialect = _reading_options(args.uri)
    store = _open_existing(args.uri)
    if store is None:
        return _nothing(args.uri)
    try:
        layout = read_layout(store, date_separator=date_separator, rows=None if args.no_rows else dialect)
    finally:
        store.close()
    if layout.empty:
        return _nothing(args.uri)
    if args.json:
        json.dump(layout.to_json_obj(), sys.stdout, indent=2, ensure_ascii=True)
        sys.stdout.write("\n")
    else:
        print_tree(layout, sys.stdout, redact_uri(args.uri))
    return 0


def _nothing(uri: str) -> int:
    print(f"storagecdc: {redact_uri(uri)}: no objects there (empty or nonexistent prefix)", file=sys.stderr)
    return 1


def _reading_options(uri: str) -> tuple[DateSeparator, CsvDialect]:
    """The date separator and CSV dialect the URI's query names (the sink's defaults otherwise)."""
    query = dict(parse_qsl(urlsplit(uri).query, keep_blank_values=True))
    query.setdefault("protocol", "csv")  # only the options matter here; files are read by extension
    options = parse_sink_options(query)
    dialect = CsvDialect(options.quote, options.terminator, options.output_field_header)
    return DateSeparator(options.date_separator), dialect


def _open_existing(uri: str) -> ObjectStore | None:
    """The store, or None for a local directory that does not exist (opening one would create it)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file" and parts.netloc in ("", "localhost"):
        return open_store(uri) if Path(unquote(parts.path)).is_dir() else None
    if scheme == "":
        path = uri.partition("?")[0]
        return open_store(path) if Path(path).is_dir() else None
    return open_store(uri)


def show_name(name: str) -> str:
    """A name as the tree prints it: unchanged when plainly printable, else quoted with escapes."""
    if name and name.isprintable() and name == name.strip():
        return name
    return repr(name)


def show_text(text: str, width: int = DDL_WIDTH) -> str:
    """DDL text on one line: blanks collapsed, control characters escaped, cut to ``width``."""
    one_line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(text.split()))
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."


def show_size(size: int) -> str:
    """``512 B``, ``12.3 KiB``, ... ``4.0 TiB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _rows(rows: int | None, counted: bool) -> str:
    if not counted:
        return ""
    return "  ? rows" if rows is None else f"  {rows} row{'' if rows == 1 else 's'}"


def _schema_text(schema: SchemaFile | None, key: str | None) -> str:
    if key is None:
        return "(no schema file)"
    if schema is None:
        return "(unreadable schema file)"
    ddl = show_text(schema.query) if schema.query else "(schema, no DDL)"
    cols = f"  [{schema.total_columns} column{'' if schema.total_columns == 1 else 's'}]" if schema.columns else ""
    return ddl + cols


def _print_version(v: TableVersion, split: bool, counted: bool, out: TextIO) -> None:
    print(f"    v{v.version}  {_schema_text(v.schema, v.schema_key)}", file=out)
    for d in v.directories:
        where = "/".join(p for p in (str(d.partition) if d.partition is not None else "", d.date) if p)
        for disp in d.dispatchers:
            if split:
                n = len(disp.files)
                size = sum(f.size for f in disp.files)
                rows = None if any(f.rows is None for f in disp.files) else sum(f.rows or 0 for f in disp.files)
                label = f"CDC_{disp.id}" if disp.id else "CDC"
                print(f"      {where or '.'}  {label}  {n} file{'' if n == 1 else 's'}  {show_size(size)}"
                      f"{_rows(rows, counted)}", file=out)
                continue
            for f in disp.files:
                path = f"{where}/{f.name}" if where else f.name
                print(f"      {path}  {show_size(f.size)}{_rows(f.rows, counted)}", file=out)
            if not disp.files:
                print(f"      {where or '.'}  index file only", file=out)


def _print_table(t: Table, counted: bool, out: TextIO) -> None:
    ids = [i for i in t.dispatcher_ids if i]
    split = f"  (split: {len(ids)} dispatcher{'' if len(ids) == 1 else 's'})" if ids else ""
    print(f"  {show_name(t.name)}{split}", file=out)
    for v in t.versions:
        _print_version(v, bool(ids), counted, out)


def print_tree(layout: Layout, out: TextIO, uri: str | None = None) -> None:
    """The readable tree; ``uri`` (already redacted) replaces the store's own display URI in the header."""
    cp = layout.checkpoint_ts
    checkpoint = "no checkpoint" if cp is None else f"checkpoint {cp} ({ts_time(cp)})"
    print(f"{uri or layout.uri}  {checkpoint}", file=out)
    for db in layout.databases:
        print(show_name(db.name), file=out)
        for ddl in db.ddl:
            print(f"  v{ddl.version}  {_schema_text(ddl.schema, ddl.key)}  (database)", file=out)
        for table in db.tables:
            _print_table(table, layout.rows_counted, out)
    if layout.syncpoints:
        print("syncpoints", file=out)
        for sp in layout.syncpoints:
            n = len(sp.tables)
            print(f"  {sp.commit_ts} ({ts_time(sp.commit_ts)})  {n} table{'' if n == 1 else 's'}", file=out)
    if layout.owner is not None:
        o = layout.owner
        print(f"owner: changefeed {show_name(o.changefeed)} epoch {o.epoch} holder {show_name(o.holder)}",
              file=out)
    if layout.resume is not None:
        r = layout.resume
        print(f"resume: changefeed {show_name(r.changefeed_id)} at checkpoint {r.checkpoint_ts}, "
              f"{show_name(r.file)}:{r.offset}", file=out)
    t = layout.totals()
    rows = "" if t["rows"] is None else f", {t['rows']} rows"
    print(f"total: {t['databases']} databases, {t['tables']} tables, {t['versions']} versions, {t['files']} files, "
          f"{show_size(t['bytes'] or 0)}{rows}", file=out)
    if layout.other_keys:
        print(f"{len(layout.other_keys)} other object(s), e.g. {show_name(layout.other_keys[0])}", file=out)
        if any(key.rpartition("/")[2].startswith("CDC") for key in layout.other_keys):
            print("  (data files among them: does the URI's date-separator match the writer's?)", file=out)
    for problem in layout.problems:
        print(f"problem: {show_name(problem.key)}: {show_text(problem.message, 200)}", file=out)
