"""Automatic splits on the demo binlog (real MariaDB events, about two seconds of commit-ts time).

At 10 rows/s over the 10 s window, ``shop.customers``, ``shop.items`` and ``shop.orders`` each get hot in the
middle of their first table version: that version's directory then holds the whole table's files (commits up
to the split) and the four spans' files (later commits). The replay of such output must equal the replay of
an unsplit run, run after run byte for byte, and across a stop and a resume at any point.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from storagecdc.config import ChangefeedConfig, load_config
from storagecdc.consumer.options import ConsumerOptions
from storagecdc.consumer.replayer import Replayer
from storagecdc.consumer.sqlite_applier import SqliteApplier
from storagecdc.model import ChangeEvent, TxnCommit
from storagecdc.runtime.changefeed import Changefeed, attached
from storagecdc.runtime.metrics import RunMetrics
from storagecdc.runtime.progress import SourceLag
from storagecdc.runtime.replicate import replicate
from storagecdc.runtime.resume import ResumeRecord, read_resume
from storagecdc.runtime.source import open_source
from storagecdc.storage import LocalStore, parse_data_file_key
from tests.runtime.test_progress_metrics import Watch
from tests.runtime.test_replicate_files import DEMO, tree

CSV = "protocol=csv&include-commit-ts=true"
HOT = ("customers", "items", "orders")


def config(out: Path, query: str = CSV + "&flush-interval=1s", **overrides: object) -> ChangefeedConfig:
    return load_config(None, source=str(DEMO), sink_uri=f"file://{out}?{query}",
                       overrides={"split_rows_per_second": 10, **overrides})


def replayed(out: Path, db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the replay of ``out`` into SQLite, rows sorted."""
    store = LocalStore(out)
    Replayer(store, SqliteApplier(db), ConsumerOptions(include_commit_ts=True)).run()
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not r[0].startswith("_storagecdc")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in sorted(names)}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def unsplit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    root = tmp_path_factory.mktemp("unsplit")
    replicate(load_config(None, source=str(DEMO), sink_uri=f"file://{root / 'out'}?{CSV}"))
    state = replayed(root / "out", root / "db.sqlite")
    assert {"shop.customers", "shop.items", "shop.orders"} <= set(state)
    return state


def commit_ts_by_family(out: Path, table: str) -> dict[tuple[int, str], list[int]]:
    """(version, dispatcher id or "") -> the commit-ts of every record of that file family."""
    families: dict[tuple[int, str], list[int]] = {}
    for path in sorted((out / "shop" / table).rglob("*.csv")):
        key = parse_data_file_key(path.relative_to(out).as_posix())
        assert key is not None
        rows = csv.reader(io.StringIO(path.read_text(), newline=""))
        families.setdefault((key.dir.version, key.dispatcher_id or ""), []).extend(int(r[3]) for r in rows)
    return families


def test_hot_tables_split_inside_a_version_and_replay_equals_the_unsplit_run(
    tmp_path: Path, unsplit: dict[str, list[tuple[object, ...]]], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="storagecdc.runtime.split_state"):
        result = replicate(config(out, sync_point=True, sync_point_interval="1s"))
    assert result.counters.auto_splits == 3
    assert result.counters.syncpoints >= 1
    lines = [r.getMessage() for r in caplog.records if "split into" in r.getMessage()]
    assert len(lines) == 3 and all("rows/s" in line and "4 spans" in line for line in lines)
    record = read_resume(LocalStore(out))
    assert record is not None
    splits = {s.table: s for s in record.auto_splits}
    assert set(splits) == {f"shop.{t}" for t in HOT}
    for table in HOT:
        split_ts = splits[f"shop.{table}"].commit_ts
        assert splits[f"shop.{table}"].parts == 4
        families = commit_ts_by_family(out, table)
        first_version = min(v for v, _ in families)
        whole = families[(first_version, "")]
        spans = [ts for (v, d), stamps in families.items() if v == first_version and d for ts in stamps]
        assert whole and spans, f"{table}: the split is not inside version {first_version}"
        assert max(whole) <= split_ts < min(spans)  # the old dispatcher's files end at the split point
        assert "" not in {d for v, d in families if v > first_version}  # later versions stay split
    assert replayed(out, tmp_path / "db.sqlite") == unsplit


def test_same_binlog_splits_the_same_way_byte_for_byte(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = replicate(config(tmp_path / name, "protocol=parquet&flush-interval=10m&max-flush-interval=10m"))
        assert result.counters.auto_splits == 3
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_an_odd_number_of_spans_gives_the_ids_split_tables_would(
    tmp_path: Path, unsplit: dict[str, list[tuple[object, ...]]]
) -> None:
    out = tmp_path / "out"
    assert replicate(config(out, split_number=3)).counters.auto_splits == 3
    static = tmp_path / "static"
    replicate(load_config(None, source=str(DEMO), sink_uri=f"file://{static}?{CSV}",
                          overrides={"split_tables": ["shop.orders=3"]}))
    ids = {d for _, d in commit_ts_by_family(out, "orders") if d}
    assert ids and ids <= {d for _, d in commit_ts_by_family(static, "orders")}
    assert replayed(out, tmp_path / "db.sqlite") == unsplit


def test_threshold_above_every_rate_splits_nothing(tmp_path: Path) -> None:
    result = replicate(config(tmp_path / "out", split_rows_per_second=1_000))
    assert result.counters.auto_splits == 0
    assert not list((tmp_path / "out").rglob("CDC_*"))


def stopped_then_resumed(out: Path, changes: Callable[[Iterator[ChangeEvent]], Iterator[ChangeEvent]],
                         stop_after: int) -> tuple[ResumeRecord, ResumeRecord]:
    """Run until ``stop_after`` transactions (``changes`` wraps the source: it may end the run with a crash),
    then resume with ``replicate``: the resume record after the first run and after the resumed one."""
    cfg = config(out)
    store = LocalStore(out)
    source = open_source(cfg, None)
    ticks = itertools.count(0, 30)  # a clock that moves 30 ms per reading: flushes and checkpoints as it goes
    feed = Changefeed(cfg, store, source.assembler, source_name=source.name, clock=lambda: next(ticks))
    try:
        feed.run(changes(source.changes), until=lambda: feed.counters.transactions >= stop_after)
    except Crash:
        pass
    finally:
        source.close()
    first = read_resume(store)
    assert first is not None
    assert replicate(cfg).resumed_from == first.checkpoint_ts
    last = read_resume(store)
    assert last is not None
    return first, last


class Crash(Exception):
    """The process dies: nothing is flushed, the last published resume record is where the next run starts."""


@pytest.mark.parametrize("stop_after", [70, 160, 250])
def test_stop_and_resume_keeps_the_splits_and_loses_and_duplicates_nothing(
    tmp_path: Path, stop_after: int, unsplit: dict[str, list[tuple[object, ...]]]
) -> None:
    """Transactions 70-250 straddle the three splits: the first run stops before, between and after them. A
    split made before the stop stays where it was; a split not yet made is measured afresh after the resume."""
    first, last = stopped_then_resumed(tmp_path / "out", lambda changes: changes, stop_after)
    assert set(first.auto_splits) <= set(last.auto_splits)
    assert replayed(tmp_path / "out", tmp_path / "db.sqlite") == unsplit


def test_crash_before_any_split_resumes_without_loss(
    tmp_path: Path, unsplit: dict[str, list[tuple[object, ...]]]
) -> None:
    def crashing(changes: Iterator[ChangeEvent]) -> Iterator[ChangeEvent]:
        for n, change in enumerate(changes):
            yield change
            if n == 300:
                raise Crash

    first, _ = stopped_then_resumed(tmp_path / "out", crashing, 10_000)
    assert first.auto_splits == ()
    assert replayed(tmp_path / "out", tmp_path / "db.sqlite") == unsplit


@pytest.mark.parametrize("splits", [1, 2])
def test_crash_after_a_split_above_the_checkpoint_splits_again_at_the_same_transaction(
    tmp_path: Path, splits: int, unsplit: dict[str, list[tuple[object, ...]]]
) -> None:
    """The run dies at the first moment its resume record names ``splits`` splits, one of them above the
    record's checkpoint: the next run must split that table again at the same commit-ts."""
    store = LocalStore(tmp_path / "out")

    def crashing(changes: Iterator[ChangeEvent]) -> Iterator[ChangeEvent]:
        for change in changes:
            yield change
            record = read_resume(store) if isinstance(change, TxnCommit) else None
            if record is not None and len(record.auto_splits) == splits and \
                    any(s.commit_ts > record.checkpoint_ts for s in record.auto_splits):
                raise Crash

    first, last = stopped_then_resumed(tmp_path / "out", crashing, 10_000)
    assert len(first.auto_splits) == splits  # it did crash there
    assert set(first.auto_splits) <= set(last.auto_splits)  # redone at the same commit-ts
    assert replayed(tmp_path / "out", tmp_path / "db.sqlite") == unsplit


def test_the_splits_are_a_metric(tmp_path: Path) -> None:
    cfg = config(tmp_path / "out")
    metrics = RunMetrics(SourceLag(cfg), cfg.sink.date_separator)
    with attached(Watch(None, metrics)):
        result = replicate(cfg)
    text = generate_latest(metrics.registry).decode()
    assert result.counters.auto_splits == len(HOT)
    assert f"storagecdc_auto_splits_total {float(len(HOT))}" in text.splitlines()
