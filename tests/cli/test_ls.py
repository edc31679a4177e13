"""``storagecdc ls``: the layout of real replicator output as a tree and as JSON, on a local directory and on
moto's S3 server; hostile names; syncpoints; damaged objects; empty prefixes; no secrets printed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest

from storagecdc import ddl_types
from storagecdc.cli import main
from storagecdc.config import load_config
from storagecdc.layout import CsvDialect, count_csv_records, count_lines, read_layout, ts_time
from storagecdc.model import ColumnInfo, Op, RowChanges, TableInfo, TableName, make_ts
from storagecdc.runtime.replicate import RunResult, replicate
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.storage import LocalStore, OwnerLease, open_store, parse_schema_file

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
PROTOCOLS = ["csv", "canal-json", "parquet"]
EXT = {"csv": ".csv", "canal-json": ".json", "parquet": ".parquet"}


def replicated_rows(source: Path) -> int:
    """Records the sink writes for ``source``: one per row change, two for a primary-key-changing UPDATE."""
    asm = TransactionAssembler(SchemaOptions().tracker_factory)
    rows = 0
    for item in asm.feed(file_events(source, EventCounter())):
        if isinstance(item, RowChanges):
            rows += len(item.rows) + sum(item.pk_changed or ())
    return rows


def run_ls(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["ls", *args])
    out, err = capsys.readouterr()
    return code, out, err


def ls_json(capsys: pytest.CaptureFixture[str], uri: str, *args: str) -> dict[str, Any]:
    code, out, err = run_ls(capsys, uri, "--json", *args)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def tables(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(db["name"], t["name"]): t for db in doc["databases"] for t in db["tables"]}


def file_records(path: Path) -> int:
    """Records in one data file, read independently of storagecdc (Python's csv module, lines, DuckDB)."""
    if path.suffix == ".csv":
        return len(list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))))
    if path.suffix == ".json":
        return len(path.read_text(encoding="utf-8").splitlines())
    ((count,),) = duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    return int(count)


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, RunResult]]:
    """The demo binlog replicated once per protocol, orders split over 4 dispatchers."""
    outputs = {}
    for protocol in PROTOCOLS:
        root = tmp_path_factory.mktemp(protocol)
        cfg = load_config(None, source=str(DEMO), sink_uri=f"file://{root}?protocol={protocol}",
                          overrides={"split_tables": ["shop.orders=4"]})
        outputs[protocol] = (root, replicate(cfg))
    return outputs


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_json_reports_every_version_file_row_and_the_checkpoint(
    protocol: str, demo_outputs: dict[str, tuple[Path, RunResult]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, result = demo_outputs[protocol]
    doc = ls_json(capsys, f"file://{root}?protocol={protocol}")
    assert doc["format"] == 1
    assert doc["checkpoint"] == {"commit-ts": result.checkpoint_ts, "time": ts_time(result.checkpoint_ts)}
    assert doc["totals"]["rows"] == replicated_rows(DEMO) >= result.counters.rows == 637
    by_table = tables(doc)
    # every schema file on disk is a listed version with its DDL and columns
    schema_paths = [p for p in root.rglob("schema_*.json") if p.parent.parent.parent.name == "shop"]
    assert len(schema_paths) >= result.counters.ddl
    for path in schema_paths:
        sf = parse_schema_file(path.read_bytes())
        (version,) = [v for v in by_table[("shop", sf.table)]["versions"] if v["version"] == sf.table_version]
        assert version["query"] == sf.query and version["type"] == sf.ddl_type
        assert [c["name"] for c in version["columns"]] == [c.name for c in sf.columns or ()]
    # every data file is listed once with its size and its record count
    listed = {f["key"]: f for t in by_table.values() for v in t["versions"] for d in v["directories"]
              for disp in d["dispatchers"] for f in disp["files"]}
    on_disk = {str(p.relative_to(root)): p for p in root.rglob(f"CDC*{EXT[protocol]}")}
    assert set(listed) == set(on_disk)
    for key, path in on_disk.items():
        assert listed[key]["size"] == path.stat().st_size
        assert listed[key]["rows"] == file_records(path), key
    orders = by_table[("shop", "orders")]
    families = {p.name.split("_")[1] for p in (root / "shop" / "orders").rglob(f"CDC_*{EXT[protocol]}")}
    assert orders["split"] and set(orders["dispatchers"]) == families and len(families) == 4
    assert not by_table[("shop", "customers")]["split"]
    (db,) = doc["databases"]
    assert [d["query"].split()[:2] for d in db["ddl"]] == [["CREATE", "DATABASE"]]
    assert doc["resume"]["checkpoint-ts"] == result.checkpoint_ts
    assert doc["syncpoints"] == [] and doc["problems"] == [] and doc["other-keys"] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tree_shows_tables_versions_ddl_files_and_dispatchers(
    protocol: str, demo_outputs: dict[str, tuple[Path, RunResult]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, result = demo_outputs[protocol]
    code, out, err = run_ls(capsys, f"file://{root}?protocol={protocol}")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == (f"file://{root}?protocol={protocol}  checkpoint {result.checkpoint_ts} "
                        f"({ts_time(result.checkpoint_ts)})")
    assert lines[1] == "shop"
    for table in ("audit_events", "audit_log", "customers", "items", "promo"):
        assert f"  {table}" in lines
    assert "  orders  (split: 4 dispatchers)" in lines
    for path in root.rglob("schema_*.json"):
        sf = parse_schema_file(path.read_bytes())
        ddl = " ".join(sf.query.split())[:40]
        assert any(line.strip().startswith(f"v{sf.table_version}  {ddl}") for line in lines), path
    customers = lines.index("  customers")
    first_version = min(int(p.name.split("_")[1]) for p in (root / "shop" / "customers" / "meta").glob("schema_*"))
    assert lines[customers + 1].startswith(f"    v{first_version}  CREATE TABLE customers (")
    assert lines[customers + 1].endswith("...  [6 columns]"), "long DDL is cut, the column count kept"
    assert lines[customers + 2].startswith(f"      2026-11-27/CDC00000000000000000001{EXT[protocol]}  ")
    assert lines[customers + 2].endswith("  246 rows")
    split_lines = [line for line in lines if "CDC_" in line]
    assert len(split_lines) == 8 and all(" 1 file  " in line and line.endswith(" rows") for line in split_lines)
    assert lines[-1].endswith(f"17 files, {lines[-1].split(', ')[-2]}, {replicated_rows(DEMO)} rows")


def test_no_rows_lists_without_reading_data_files(
    demo_outputs: dict[str, tuple[Path, RunResult]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, _ = demo_outputs["parquet"]
    doc = ls_json(capsys, str(root), "--no-rows")
    files = [f for t in tables(doc).values() for v in t["versions"] for d in v["directories"]
             for disp in d["dispatchers"] for f in disp["files"]]
    assert len(files) == 17 and all(f["rows"] is None for f in files)
    assert doc["totals"]["rows"] is None and doc["totals"]["files"] == 17
    code, out, _ = run_ls(capsys, str(root), "--no-rows")
    assert code == 0 and " rows" not in out
    # a damaged data file: row counting reports it as a problem; --no-rows never opens it
    store = LocalStore(tmp_path)
    info = TableInfo(TableName("db", "t"), (ColumnInfo("id", "INT", is_pk=True, nullable=False),), make_ts(1000))
    sink = StorageSink(store, SinkOptions(protocol="parquet"))
    sink.write_table_schema(info, "CREATE TABLE t (id INT PRIMARY KEY)", ddl_types.CREATE_TABLE)
    writer = sink.table_writer(info)
    writer.append(RowChanges(info, Op.INSERT, make_ts(2000), [(1,), (2,)]))
    writer.flush()
    sink.close()
    key = next(o.key for o in store.list("") if o.key.endswith(".parquet"))
    (tmp_path / key).write_bytes(b"not parquet at all")
    assert ls_json(capsys, str(tmp_path), "--no-rows")["problems"] == []
    doc = ls_json(capsys, str(tmp_path))
    assert [p["key"] for p in doc["problems"]] == [key] and "cannot count rows" in doc["problems"][0]["message"]
    code, out, _ = run_ls(capsys, str(tmp_path))
    assert code == 0 and f"problem: {key}: cannot count rows" in out and "  ? rows" in out


def test_syncpoints_and_split_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo binlog spans two seconds: with 1 s syncpoints there is one, at the boundary between them."""
    uri = f"file://{tmp_path}?protocol=csv&include-commit-ts=true"
    cfg = load_config(None, source=str(DEMO), sink_uri=uri,
                      overrides={"split_tables": ["shop.orders=4"], "sync_point": True, "sync_point_interval": "1s"})
    result = replicate(cfg)
    markers = sorted((tmp_path / "_storagecdc" / "syncpoint").glob("*.json"))
    assert result.counters.syncpoints == len(markers) == 1
    doc = ls_json(capsys, uri)
    assert [sp["commit-ts"] for sp in doc["syncpoints"]] == [json.loads(m.read_text())["commit-ts"] for m in markers]
    for sp, marker in zip(doc["syncpoints"], markers, strict=True):
        raw = json.loads(marker.read_text())
        assert sp["tables"] == raw["tables"] and sp["time"] == ts_time(raw["commit-ts"])
    assert doc["totals"]["rows"] == replicated_rows(DEMO)
    orders = tables(doc)[("shop", "orders")]
    assert orders["split"] and len(orders["dispatchers"]) == 4
    assert not tables(doc)[("shop", "customers")]["split"]
    code, out, _ = run_ls(capsys, uri)
    assert code == 0
    lines = out.splitlines()
    start = lines.index("syncpoints")
    for i, sp in enumerate(doc["syncpoints"]):
        n = len(sp["tables"])
        assert lines[start + 1 + i] == f"  {sp['commit-ts']} ({sp['time']})  {n} table{'' if n == 1 else 's'}"
    assert "  orders  (split: 4 dispatchers)" in lines


def test_hostile_names_are_listed_by_their_real_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = LocalStore(tmp_path)
    sink = StorageSink(store, SinkOptions(protocol="csv"))
    names = [("db", "a/b"), ("db", ".."), ("db", "名前 表"), ("db", "new\nline"), ("we/ird", "."), ("", "t")]
    cols = (ColumnInfo("id", "INT", is_pk=True, nullable=False), ColumnInfo("v", "VARCHAR", length=8,
                                                                            charset="utf8mb4"))
    ts = make_ts(1_764_000_000_000)
    for i, (schema, table) in enumerate(names):
        info = TableInfo(TableName(schema, table), cols, ts)
        sink.write_table_schema(info, f"CREATE TABLE `{table}` (id INT PRIMARY KEY, v VARCHAR(8))",
                                ddl_types.CREATE_TABLE)
        writer = sink.table_writer(info)
        writer.append(RowChanges(info, Op.INSERT, ts + 1 + i, [(k, "x\r\ny,\"z\"") for k in range(i + 1)]))
        writer.flush()
    sink.write_checkpoint(ts + 100, force=True)
    sink.close()
    OwnerLease(store, "cf-1", holder="host:1").acquire()
    doc = ls_json(capsys, f"file://{tmp_path}?protocol=csv")
    assert set(tables(doc)) == set(names)
    for i, name in enumerate(names):
        (version,) = tables(doc)[name]["versions"]
        assert version["query"].startswith(f"CREATE TABLE `{name[1]}`")
        (directory,) = version["directories"]
        assert [f["rows"] for disp in directory["dispatchers"] for f in disp["files"]] == [i + 1]
    assert doc["owner"]["changefeed"] == "cf-1" and doc["owner"]["holder"] == "host:1"
    assert doc["checkpoint"]["commit-ts"] == ts + 100
    code, out, _ = run_ls(capsys, str(tmp_path))
    lines = out.splitlines()
    assert code == 0
    for line in ("db", "  a/b", "  ..", "  名前 表", "  'new\\nline'", "we/ird", "  .", "''", "  t"):
        assert line in lines, line
    assert "line" not in lines and not any(line.startswith("line") for line in lines)
    assert any(line.startswith("owner: changefeed cf-1 epoch ") for line in lines)


def test_empty_or_missing_prefix_says_so_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for target in (str(tmp_path / "empty"), f"file://{tmp_path / 'missing'}?protocol=csv"):
        code, out, err = run_ls(capsys, target)
        assert code == 1 and out == ""
        assert "no objects there (empty or nonexistent prefix)" in err and "Traceback" not in err
    assert not (tmp_path / "missing").exists(), "ls must not create the directory it lists"
    code, _, err = run_ls(capsys, f"file://{tmp_path}?protocol=csv&nonsense=1")
    assert code == 2 and "nonsense" in err


def test_damaged_schema_file_is_a_problem_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "db" / "t" / "meta").mkdir(parents=True)
    (tmp_path / "db" / "t" / "meta" / "schema_5_0000000001.json").write_text("{broken")
    (tmp_path / "stray.txt").write_text("x")
    doc = ls_json(capsys, str(tmp_path))
    assert doc["checkpoint"] is None and doc["other-keys"] == ["stray.txt"]
    assert [p["key"] for p in doc["problems"]] == ["db/t/meta/schema_5_0000000001.json"]
    code, out, _ = run_ls(capsys, str(tmp_path))
    assert code == 0 and "no checkpoint" in out.splitlines()[0]
    assert "    v5  (unreadable schema file)" in out.splitlines()


@pytest.mark.s3
def test_ls_on_moto_s3_never_prints_secrets(
    store_uri_factory: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    uri = store_uri_factory("moto") + "&protocol=parquet"
    secrets = [v for k, v in parse_qsl(urlsplit(uri).query) if k in ("access-key", "secret-access-key")]
    assert len(secrets) == 2
    result = replicate(load_config(None, source=str(DEMO), sink_uri=uri,
                                   overrides={"split_tables": ["shop.orders=4"]}))
    code, tree, err = run_ls(capsys, uri)
    assert code == 0 and tree.startswith("s3://") and f"checkpoint {result.checkpoint_ts}" in tree
    assert "  orders  (split: 4 dispatchers)" in tree.splitlines()
    doc = ls_json(capsys, uri)
    assert doc["totals"]["rows"] == replicated_rows(DEMO) and doc["totals"]["files"] == 17
    assert doc["uri"].startswith("s3://")
    code, _, missing_err = run_ls(capsys, uri.replace("?", "-nothing-here?", 1))
    assert code == 1
    printed = tree + err + json.dumps(doc) + missing_err
    assert not any(secret in printed for secret in secrets)


def test_row_counters_handle_quoted_terminators_headers_and_missing_final_terminator() -> None:
    dialect = CsvDialect()
    assert count_csv_records(b"", dialect) == 0
    assert count_csv_records(b'"I","a\r\nb"\r\n"I","c""\r\n"""\r\n', dialect) == 2
    assert count_csv_records(b'"I",1\r\n"I",2', dialect) == 2
    assert count_csv_records(b"h\r\n\"I\",1\r\n", CsvDialect(header=True)) == 1
    assert count_csv_records(b"I!a\\nb\\r\nD!c\n", CsvDialect(quote="", terminator="\n")) == 2
    assert count_lines(b'{"a":"x\\ny"}\r\n{"b":1}\r\n', "\r\n") == 2
    assert count_lines(b'{"a":1}', "\n") == 1


def test_read_layout_is_usable_as_a_library(
    demo_outputs: dict[str, tuple[Path, RunResult]]
) -> None:
    root, result = demo_outputs["csv"]
    store = open_store(str(root))
    layout = read_layout(store, rows=CsvDialect())
    assert layout.checkpoint_ts == result.checkpoint_ts and not layout.empty
    names = [(db.name, t.name) for db, t in layout.tables()]
    assert ("shop", "orders") in names
    orders = next(t for _, t in layout.tables() if t.name == "orders")
    assert len([i for i in orders.dispatcher_ids if i]) == 4
    assert sum(f.rows or 0 for v in orders.versions for f in v.files()) > 0
    assert layout.totals()["rows"] == replicated_rows(DEMO)


def test_wrong_date_separator_leaves_data_files_unparsed_and_says_so(
    demo_outputs: dict[str, tuple[Path, RunResult]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = demo_outputs["csv"]
    doc = ls_json(capsys, f"{root}?date-separator=none&protocol=csv")
    assert doc["totals"]["files"] == 0 and len(doc["other-keys"]) == 17 * 2  # data and index files
    code, out, _ = run_ls(capsys, f"{root}?date-separator=none")
    assert code == 0 and "does the URI's date-separator match the writer's?" in out
