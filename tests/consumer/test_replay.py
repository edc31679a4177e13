"""Replay semantics into SQLite: updates, tables without a key, at-least-once delivery, split tables, follow
mode, restarts."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from storagecdc.consumer import Change, ConsumerOptions, Replayer, SqliteApplier
from storagecdc.errors import ConsumerError, StorageError
from storagecdc.model import Op, TableInfo
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import (
    DateSeparator,
    build_data_file_key,
    build_index_content,
    build_index_file_key,
    data_file_name,
    parse_data_file_key,
)
from tests.consumer.feed import Feed, col, consume, pk, table, ts

T = table("t", pk(), col("a", "VARCHAR", length=10))
NOKEY = table("n", col("x", "INT"), col("y", "VARCHAR", length=10))
TS_FORMATS = [
    pytest.param({"protocol": "csv", "include_commit_ts": True}, id="csv"),
    pytest.param({"protocol": "canal-json", "enable_tidb_extension": True}, id="canal-json"),
    pytest.param({"protocol": "parquet"}, id="parquet"),
]


def _consumer_opts(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "protocol"}


@pytest.mark.parametrize("old_value", [False, True])
def test_updates_with_and_without_old_values(old_value: bool, tmp_path: Path) -> None:
    store = MemoryStore("updates")
    feed = Feed(store, protocol="csv", output_old_value=old_value)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a"), (2, "b"), (3, "c")], ts(2))
    feed.rows(info, Op.UPDATE, [(1, "a2"), (20, "b")], ts(3), before=[(1, "a"), (2, "b")],
              pk_changed=[False, True])
    feed.rows(info, Op.DELETE, [(3, "c")], ts(4))
    feed.checkpoint(ts(5))
    applier, _ = consume(store, tmp_path / "t.db", output_old_value=old_value)
    assert applier.rows(info) == [(1, "a2"), (20, "b")]


def test_table_without_primary_key(tmp_path: Path) -> None:
    store = MemoryStore("nokey")
    feed = Feed(store, protocol="parquet", output_old_value=True)
    info = feed.create(NOKEY, ts(1))
    feed.rows(info, Op.INSERT, [(1, "d"), (1, "d"), (2, None), (3, "u")], ts(2))
    feed.rows(info, Op.DELETE, [(1, "d"), (2, None)], ts(3))
    feed.rows(info, Op.UPDATE, [(4, "u")], ts(4), before=[(3, "u")])
    feed.checkpoint(ts(5))
    applier, _ = consume(store, tmp_path / "t.db", output_old_value=True)
    assert sorted(applier.rows(info)) == [(1, "d"), (4, "u")]


def test_update_without_old_values_on_a_keyless_table_is_refused(tmp_path: Path) -> None:
    store = MemoryStore("nokey-u")
    feed = Feed(store, protocol="csv")
    info = feed.create(NOKEY, ts(1))
    feed.rows(info, Op.UPDATE, [(4, "u")], ts(2), before=[(3, "u")])
    feed.checkpoint(ts(3))
    with pytest.raises(ConsumerError, match=r"db\.n.*output-old-value"):
        consume(store, tmp_path / "t.db")


def _redeliver(store: MemoryStore, *keys: str) -> None:
    """What a restarted writer does: the same content again, under the next free index, then the index."""
    for key in keys:
        parsed = parse_data_file_key(key, DateSeparator.DAY)
        assert parsed is not None
        data_dir = parsed.dir
        last = max(k.index for k in (parse_data_file_key(i.key) for i in store.list(data_dir.key_prefix()))
                   if k is not None and k.dispatcher_id == parsed.dispatcher_id)
        new_key = build_data_file_key(data_dir, last + 1, parsed.ext, dispatcher_id=parsed.dispatcher_id)
        store.put(new_key, store.get(key), create_only=True)
        store.put(build_index_file_key(data_dir, dispatcher_id=parsed.dispatcher_id),
                  build_index_content(data_file_name(last + 1, parsed.ext, dispatcher_id=parsed.dispatcher_id)))


def _data_keys(store: MemoryStore) -> list[str]:
    return [i.key for i in store.list("") if parse_data_file_key(i.key) is not None]


@pytest.mark.parametrize("options", TS_FORMATS)
def test_a_file_delivered_twice_is_applied_once(options: dict[str, Any], tmp_path: Path) -> None:
    store = MemoryStore("twice")
    feed = Feed(store, **options)
    info = feed.create(NOKEY, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a"), (1, "a")], ts(2))
    feed.rows(info, Op.INSERT, [(2, "b")], ts(3))
    feed.flush()
    first = _data_keys(store)
    _redeliver(store, *first)  # before the consumer saw it: the same round, the same span
    feed.checkpoint(ts(4))
    applier, replayer = consume(store, tmp_path / "t.db", **_consumer_opts(options))
    assert sorted(applier.rows(info)) == [(1, "a"), (1, "a"), (2, "b")]
    _redeliver(store, *first)  # after the consumer applied it: a later round
    feed.rows(info, Op.INSERT, [(3, "c")], ts(5))
    feed.flush()
    _redeliver(store, *first)  # and within one round, next to new data
    feed.checkpoint(ts(6))
    replayer.run()
    assert sorted(applier.rows(info)) == [(1, "a"), (1, "a"), (2, "b"), (3, "c")]
    assert replayer.stats.skipped_rows == 9


def test_redelivery_without_commit_ts_is_harmless_with_a_primary_key(tmp_path: Path) -> None:
    store = MemoryStore("nots")
    feed = Feed(store, protocol="csv")
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a"), (2, "b")], ts(2))
    feed.rows(info, Op.UPDATE, [(1, "a2")], ts(3), before=[(1, "a")])
    feed.rows(info, Op.DELETE, [(2, "b")], ts(4))
    feed.flush()
    _redeliver(store, *_data_keys(store))  # a restarted changefeed writes everything after its checkpoint again
    feed.checkpoint(ts(5))
    applier, _ = consume(store, tmp_path / "t.db")
    assert applier.rows(info) == [(1, "a2")]


def test_a_transaction_larger_than_a_file_continues_into_the_next(tmp_path: Path) -> None:
    store = MemoryStore("bigtxn")
    feed = Feed(store, protocol="csv", include_commit_ts=True, file_size=1024)
    info = feed.create(NOKEY, ts(1))
    rows = [(i, "x" * 8) for i in range(200)]
    for start in range(0, 200, 20):
        feed.rows(info, Op.INSERT, rows[start:start + 20], ts(2))
    feed.rows(info, Op.INSERT, [(999, "after")], ts(3))
    feed.checkpoint(ts(4))
    assert len(_data_keys(store)) > 2
    applier, _ = consume(store, tmp_path / "t.db", include_commit_ts=True)
    assert sorted(applier.rows(info)) == sorted([*rows, (999, "after")])


@pytest.mark.parametrize("options", TS_FORMATS)
def test_split_table_spans_are_merged_by_commit_ts(options: dict[str, Any], tmp_path: Path) -> None:
    store = MemoryStore("split")
    feed = Feed(store, **options)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "s1")], ts(2), span="span-1")
    feed.rows(info, Op.INSERT, [(100, "s2")], ts(3), span="span-2")
    feed.rows(info, Op.UPDATE, [(1, "s1b")], ts(4), before=[(1, "s1")], span="span-1")
    feed.rows(info, Op.DELETE, [(100, "s2")], ts(5), span="span-2")
    feed.rows(info, Op.INSERT, [(101, "s2")], ts(6), span="span-2")
    feed.checkpoint(ts(7))
    assert any("CDC_span-2_" in k for k in _data_keys(store))
    applier, replayer = consume(store, tmp_path / "t.db", **_consumer_opts(options))
    assert applier.rows(info) == [(1, "s1b"), (101, "s2")]
    assert replayer.stats.files == 2


def test_split_table_without_commit_ts_names_the_option(tmp_path: Path) -> None:
    store = MemoryStore("split-nots")
    feed = Feed(store, protocol="csv")
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "s1")], ts(2), span="span-1")
    feed.rows(info, Op.INSERT, [(100, "s2")], ts(3), span="span-2")
    feed.checkpoint(ts(4))
    with pytest.raises(ConsumerError, match="include-commit-ts=true"):
        consume(store, tmp_path / "t.db")


def test_rows_above_the_checkpoint_wait_for_it(tmp_path: Path) -> None:
    store = MemoryStore("above")
    feed = Feed(store, protocol="parquet")
    info = feed.create(NOKEY, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a")], ts(2))
    feed.rows(info, Op.INSERT, [(2, "b")], ts(3))
    feed.checkpoint(ts(2))  # the file holds ts(3), which the checkpoint does not cover yet
    applier, replayer = consume(store, tmp_path / "t.db")
    assert applier.rows(info) == [(1, "a")]
    feed.checkpoint(ts(4))
    replayer.run()
    assert applier.rows(info) == [(1, "a"), (2, "b")]


def test_follow_mode_applies_as_the_checkpoint_advances(tmp_path: Path) -> None:
    store = MemoryStore("follow")
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    info = feed.create(NOKEY, ts(1))
    db = tmp_path / "t.db"
    SqliteApplier(db).close()
    started = threading.Event()
    holder: dict[str, Replayer] = {}

    def follow() -> None:
        applier = SqliteApplier(db)
        holder["r"] = Replayer(store, applier, ConsumerOptions(include_commit_ts=True))
        started.set()
        holder["r"].run(follow=True, poll_interval_s=0.02)
        applier.close()

    thread = threading.Thread(target=follow)
    thread.start()
    started.wait(5)
    reader = SqliteApplier(db)
    try:
        for n in range(1, 4):
            feed.rows(info, Op.INSERT, [(n, "r")], ts(10 * n))
            feed.checkpoint(ts(10 * n + 1))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _count(reader, info) != n:
                time.sleep(0.02)
            assert [r[0] for r in reader.rows(info)] == list(range(1, n + 1))
    finally:
        holder["r"].stop()
        thread.join(5)
        reader.close()
    assert not thread.is_alive()


def _count(applier: SqliteApplier, info: TableInfo) -> int:
    try:
        return len(applier.rows(info))
    except sqlite3.OperationalError:  # not created yet
        return 0


class _CrashingApplier(SqliteApplier):
    """A SQLite target whose process 'dies' (raises) at the n-th batch of changes."""

    def __init__(self, path: Path, crash_at: int) -> None:
        super().__init__(path)
        self.batches = 0
        self.crash_at = crash_at

    def apply_changes(self, table: TableInfo, changes: Sequence[Change]) -> None:
        self.batches += 1
        if self.batches == self.crash_at:
            raise KeyboardInterrupt
        super().apply_changes(table, changes)


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4])
@pytest.mark.parametrize("options", TS_FORMATS)
def test_a_restarted_consume_continues_without_duplicates(options: dict[str, Any], crash_at: int,
                                                          tmp_path: Path) -> None:
    store = MemoryStore("restart")
    feed = Feed(store, **options)
    info = feed.create(NOKEY, ts(1))
    for n in range(2, 12):
        feed.rows(info, Op.INSERT, [(n, "r"), (n, "r")], ts(n))
        if n % 3 == 0:
            feed.flush()
    feed.checkpoint(ts(20))
    opts = ConsumerOptions(**_consumer_opts(options))
    crashing = _CrashingApplier(tmp_path / "t.db", crash_at)
    with pytest.raises(KeyboardInterrupt):
        Replayer(store, crashing, opts, batch_rows=3).run()
    crashing.rollback()
    crashing.close()
    applier = SqliteApplier(tmp_path / "t.db")
    Replayer(store, applier, opts, batch_rows=3).run()
    assert sorted(applier.rows(info)) == sorted((n, "r") for n in range(2, 12) for _ in (0, 1))


@pytest.mark.parametrize("separator", ["none", "year", "month", "day"])
def test_partitions_and_date_directories(separator: str, tmp_path: Path) -> None:
    """Partition directories and every date-separator parse back (the consumer is told the writer's)."""
    store = MemoryStore(f"parts-{separator}")
    feed = Feed(store, protocol="csv", include_commit_ts=True, date_separator=separator)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "p1")], ts(2), partition=101)
    feed.rows(info, Op.INSERT, [(2, "p2")], ts(3), partition=2024)
    feed.rows(info, Op.UPDATE, [(1, "p1b")], ts(4), before=[(1, "p1")], partition=101)
    feed.sink.write_syncpoint(ts(5), {info.name: {"": 1}})
    feed.checkpoint(ts(6))
    keys = _data_keys_with(store, separator)
    assert any("/101/" in k for k in keys) and any("/2024/" in k for k in keys)
    applier, replayer = consume(store, tmp_path / "t.db", include_commit_ts=True,
                                date_separator=DateSeparator(separator))
    assert applier.rows(info) == [(1, "p1b"), (2, "p2")]
    assert replayer.stats.files == 2


def _data_keys_with(store: MemoryStore, separator: str) -> list[str]:
    return [i.key for i in store.list("") if parse_data_file_key(i.key, DateSeparator(separator)) is not None]


class _FlakyStore(MemoryStore):
    """A memory store whose reads of data files fail (retryably) the first ``failures`` times."""

    def __init__(self, name: str, failures: int) -> None:
        super().__init__(name)
        self.failures = failures

    def get(self, key: str) -> bytes:
        if self.failures and key.endswith(".csv"):
            self.failures -= 1
            raise StorageError(f"{key}: injected outage", retryable=True)
        return super().get(key)


def test_follow_mode_retries_a_round_that_failed_retryably(tmp_path: Path) -> None:
    store = _FlakyStore("flaky", failures=3)
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    info = feed.create(NOKEY, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a")], ts(2))
    feed.flush()
    feed.rows(info, Op.INSERT, [(2, "b")], ts(3))
    feed.checkpoint(ts(4))
    applier = SqliteApplier(tmp_path / "t.db")
    replayer = Replayer(store, applier, ConsumerOptions(include_commit_ts=True))
    done = threading.Timer(1.0, replayer.stop)
    done.start()
    replayer.run(follow=True, poll_interval_s=0.01)
    done.join()
    assert store.failures == 0
    assert applier.rows(info) == [(1, "a"), (2, "b")]
    with pytest.raises(StorageError):  # one-shot: the error ends the run
        store.failures = 1
        feed.rows(info, Op.INSERT, [(3, "c")], ts(5))
        feed.checkpoint(ts(6))
        Replayer(store, applier, ConsumerOptions(include_commit_ts=True)).run()


HOSTILE = table('t"1`.x', pk('id "q"', "INT"), col("sp ace`s", "VARCHAR", length=10), col("名前", "TEXT"),
                schema="a/b.%..")


def test_hostile_names_replay(tmp_path: Path) -> None:
    store = MemoryStore("hostile")
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    info = feed.create(HOSTILE, ts(1))
    feed.rows(info, Op.INSERT, [(1, "x", "y"), (2, None, "")], ts(2))
    renamed = table("metadata", *HOSTILE.columns, schema="a/b.%..")
    feed.ddl(ts(3), "RENAME TABLE `a/b.%..`.`t\"1``.x` TO `a/b.%..`.`metadata`", 14, schema="a/b.%..",
             tables=(HOSTILE.name,), new_tables=(renamed,), dropped=(HOSTILE.name,))
    feed.rows(renamed.with_version(ts(3)), Op.DELETE, [(1, "x", "y")], ts(4))
    feed.checkpoint(ts(5))
    applier, _ = consume(store, tmp_path / "t.db", include_commit_ts=True)
    assert applier.tables() == ["a/b.%...metadata"]
    assert applier.rows(renamed) == [(2, None, "")]


def test_follow_with_until_ends_once_reached(tmp_path: Path) -> None:
    store = MemoryStore("until")
    feed = Feed(store, protocol="parquet")
    info = feed.create(NOKEY, ts(1))
    for n in range(2, 6):
        feed.rows(info, Op.INSERT, [(n, "r")], ts(n))
    feed.checkpoint(ts(6))
    applier = SqliteApplier(tmp_path / "t.db")
    stats = Replayer(store, applier).run(follow=True, poll_interval_s=30, until_ts=ts(3))
    assert stats.checkpoint == ts(3)
    assert applier.rows(info) == [(2, "r"), (3, "r")]


def test_a_header_line_is_skipped_even_without_the_option(tmp_path: Path) -> None:
    store = MemoryStore("header")
    feed = Feed(store, protocol="csv", output_field_header=True)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a")], ts(2))
    feed.checkpoint(ts(3))
    applier, _ = consume(store, tmp_path / "t.db")
    assert applier.rows(info) == [(1, "a")]
