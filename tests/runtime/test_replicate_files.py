"""storagecdc run on real binlog files into a local directory: layout, determinism, resume, syncpoints."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import duckdb

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.model import RowChanges, TxnCommit
from storagecdc.runtime.changefeed import Changefeed
from storagecdc.runtime.replicate import replicate
from storagecdc.runtime.resume import read_resume
from storagecdc.runtime.source import open_source
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.storage import LocalStore

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"


def config(
    source: Path, out: Path, query: str = "protocol=csv&include-commit-ts=true", **overrides: object
) -> ChangefeedConfig:
    return load_config(None, source=str(source), sink_uri=f"file://{out}?{query}", overrides=overrides)


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def decoded(source: Path) -> tuple[int, int]:
    """(CSV records, last commit-ts) the decoder's view of the file implies: one per row change, two for an
    UPDATE that changes the primary key (written as delete + insert)."""
    asm = TransactionAssembler(SchemaOptions().tracker_factory)
    rows = last = 0
    for item in asm.feed(file_events(source, EventCounter())):
        if isinstance(item, RowChanges):
            rows += len(item.rows) + sum(item.pk_changed or ())
        elif isinstance(item, TxnCommit):
            last = item.commit_ts
    return rows, last


def csv_records(root: Path) -> list[list[str]]:
    out: list[list[str]] = []
    for path in sorted(root.rglob("*.csv")):
        out += list(csv.reader(io.StringIO(path.read_text(), newline="")))
    return out


def test_demo_binlog_replicates_every_row_with_schema_files_and_checkpoint(tmp_path: Path) -> None:
    result = replicate(config(DEMO, tmp_path, split_tables=["shop.orders=4"]))
    rows, last = decoded(DEMO)
    assert result.checkpoint_ts == last
    assert json.loads((tmp_path / "metadata").read_text()) == {"checkpoint-ts": last}
    records = csv_records(tmp_path)
    assert len(records) == rows
    assert result.counters.rows == 637
    assert {r[2] for r in records} == {"shop"}
    assert all(int(r[3]) <= last for r in records)
    orders = sorted(p.name for p in (tmp_path / "shop" / "orders").rglob("CDC_*.csv"))
    assert len({name.split("_")[1] for name in orders}) == 4  # four spans, four file families
    schema_files = list(tmp_path.rglob("meta/schema_*.json"))
    assert len(schema_files) >= result.counters.ddl
    for data_dir in {p.parent for p in tmp_path.rglob("*.csv")}:
        version = data_dir.parent.name
        table_dir = data_dir.parent.parent
        assert list(table_dir.glob(f"meta/schema_{version}_*.json")), f"no schema file for {data_dir}"


def test_same_binlog_gives_identical_objects(tmp_path: Path) -> None:
    for name in ("a", "b"):
        replicate(config(DEMO, tmp_path / name, "protocol=parquet", split_tables=["shop.orders=3"]))
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_stop_and_resume_loses_nothing_and_overwrites_nothing(tmp_path: Path) -> None:
    cfg = config(DEMO, tmp_path)
    store = LocalStore(tmp_path)
    source = open_source(cfg, None)
    feed = Changefeed(cfg, store, source.assembler, source_name=source.name)
    first = feed.run(source.changes, until=lambda: feed.counters.transactions >= 150)
    before = tree(tmp_path)
    record = read_resume(store)
    assert record is not None and record.checkpoint_ts == first
    result = replicate(cfg)
    assert result.resumed_from == first
    after = tree(tmp_path)
    changed = {k for k in before if after.get(k) != before[k]} - {"metadata", "_storagecdc/resume.json"}
    changed = {k for k in changed if not k.endswith(".index")}  # index files point at the newest data file
    assert not changed
    by_ts: dict[int, set[tuple[str, ...]]] = {}
    for r in csv_records(tmp_path):
        by_ts.setdefault(int(r[3]), set()).add(tuple(r))
    rows, last = decoded(DEMO)
    assert result.checkpoint_ts == last
    assert sum(len(v) for v in by_ts.values()) <= rows  # duplicates only of whole, identical records


def test_parquet_output_reads_back_in_duckdb(tmp_path: Path) -> None:
    replicate(config(DEMO, tmp_path, "protocol=parquet"))
    files = str(tmp_path / "shop" / "customers" / "*" / "*" / "*.parquet")
    ops = dict(
        duckdb.sql(f"SELECT _op, count(*) FROM read_parquet('{files}', union_by_name=true) GROUP BY 1").fetchall()
    )
    assert ops["I"] == 60
    (first,) = duckdb.sql(
        f"SELECT name, balance, created FROM read_parquet('{files}', union_by_name=true) WHERE id = 1 AND _op = 'I'"
    ).fetchall()
    assert first[0] == "Customer 1 é✓😀" and str(first[1]) == "3.50"


def test_syncpoints_on_split_tables_name_every_table(tmp_path: Path) -> None:
    """The demo binlog spans two seconds: one 1 s boundary, after the first second's DDL and rows."""
    cfg = config(DEMO, tmp_path, split_tables=["shop.orders=4"], sync_point=True, sync_point_interval="1s")
    result = replicate(cfg)
    markers = sorted((tmp_path / "_storagecdc" / "syncpoint").glob("*.json"))
    assert result.counters.syncpoints == len(markers) == 1
    doc = json.loads(markers[0].read_text())
    assert doc["commit-ts"] <= result.checkpoint_ts
    tables = {t["table"]: t for t in doc["tables"]}
    assert set(tables) == {"customers", "orders", "items", "audit_log"}
    for table in tables.values():
        schema_files = list((tmp_path / "shop" / table["table"] / "meta").glob(f"schema_{table['version']}_*.json"))
        assert schema_files, f"the cut names version {table['version']} of {table['table']}, which has no schema file"
    orders = tables["orders"]["spans"]
    assert len(orders) == 4 and all(span["files"] for span in orders)  # every span's last file is in the cut
    for span in orders:
        for key in span["files"]:
            assert (tmp_path / key).is_file()
