"""The automatic split's rate window and policy, its restart state and its configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagecdc.cli import build_parser
from storagecdc.cli.run import _overrides
from storagecdc.config import load_config
from storagecdc.dispatcher.autosplit import AutoSplitPolicy, RateWindow
from storagecdc.errors import ConfigError
from storagecdc.model import SourcePosition, TableName, make_ts
from storagecdc.runtime.resume import ResumeRecord
from storagecdc.runtime.split_state import AutoSplit, AutoSplits
from storagecdc.source.txn import AssemblerState

HOT = TableName("shop", "orders")
COLD = TableName("shop", "items")
SINK = "file:///tmp/out?protocol=csv&include-commit-ts=true"


def ts(ms: int, logical: int = 0) -> int:
    return make_ts(ms) + logical


# ---- RateWindow ------------------------------------------------------------------------------------------

def test_rate_is_rows_in_the_window_over_its_length() -> None:
    w = RateWindow(window_ms=10_000, bucket_ms=1_000)
    for second in range(10):
        w.add(second * 1000 + 500, 30)
    assert w.rate(9_999) == 30.0
    w.add(10_000, 50)  # second 0 leaves the window, second 10 enters
    assert w.rate(10_000) == (9 * 30 + 50) / 10


def test_a_short_burst_is_measured_over_the_whole_window() -> None:
    w = RateWindow(window_ms=10_000)
    w.add(0, 500)
    assert w.rate(0) == 50.0


def test_old_buckets_expire_when_time_moves_on_without_rows() -> None:
    w = RateWindow(window_ms=5_000)
    w.add(1_000, 100)
    w.add(2_000, 100)
    assert w.rate(5_999) == 40.0
    assert w.rate(6_000) == 20.0  # second 1 is out
    assert w.rate(60_000) == 0.0


def test_time_going_backwards_counts_in_the_newest_bucket() -> None:
    w = RateWindow(window_ms=2_000)
    w.add(5_000, 10)
    w.add(3_000, 10)  # an older commit time (the binlog's clock stepped back): not lost, not re-expired
    assert w.rate(5_000) == 10.0
    assert w.rate(6_000) == 10.0
    assert w.rate(7_000) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2_000, 15_000), st.integers(0, 50)), max_size=60))
def test_rate_matches_a_recount_of_every_batch(steps: list[tuple[int, int]]) -> None:
    """Against a brute-force recount: each batch counts in its second (or the newest one if time went back),
    and the rate at any time is the sum of the batches of the last five seconds over five."""
    w = RateWindow(window_ms=5_000, bucket_ms=1_000)
    counted: list[tuple[int, int]] = []
    now = newest = 0
    for delta, rows in steps:
        at = max(0, now + delta)
        newest = max(newest, at // 1000)
        if rows:
            w.add(at, rows)
            counted.append((newest, rows))
        now = max(now, at)
        assert w.rate(now) == sum(r for b, r in counted if b > newest - 5) / 5


def test_window_must_be_a_multiple_of_the_bucket() -> None:
    with pytest.raises(ValueError, match="multiple"):
        RateWindow(window_ms=1_500, bucket_ms=1_000)


# ---- AutoSplitPolicy -------------------------------------------------------------------------------------

def test_policy_names_only_watched_tables_above_the_threshold() -> None:
    policy = AutoSplitPolicy(rows_per_second=100, parts=4, window_ms=10_000)
    policy.watch(HOT)
    policy.watch(COLD)
    unwatched = TableName("shop", "log")
    for second in range(10):
        policy.observe(HOT, ts(second * 1000, 1), 1001)
        policy.observe(COLD, ts(second * 1000, 2), 10)
        policy.observe(unwatched, ts(second * 1000, 3), 5000)
        due = policy.due(ts(second * 1000, 3))
        if second == 0:
            assert due == [(HOT, 100.1)]  # 1001 rows in the (conservative) 10 s window
        else:
            assert [t for t, _ in due] == [HOT]
    policy.unwatch(HOT)
    policy.observe(HOT, ts(11_000), 10_000)
    assert policy.due(ts(11_000)) == []
    assert not policy.watching(HOT) and policy.watching(COLD)


def test_policy_asks_only_about_tables_observed_since_the_last_boundary() -> None:
    policy = AutoSplitPolicy(rows_per_second=10, parts=2, window_ms=1_000)
    policy.watch(HOT)
    policy.observe(HOT, ts(1_000), 50)
    assert policy.due(ts(1_000)) == [(HOT, 50.0)]
    assert policy.due(ts(1_000, 1)) == []  # nothing new since: no rescan of every table per transaction


def test_rows_at_or_below_the_quiet_commit_ts_do_not_count() -> None:
    policy = AutoSplitPolicy(rows_per_second=10, parts=2, window_ms=1_000, quiet_until=ts(5_000, 1))
    policy.watch(HOT)
    policy.observe(HOT, ts(5_000, 1), 1_000_000)  # an initial snapshot's rows
    assert policy.due(ts(5_000, 1)) == []
    policy.observe(HOT, ts(5_000, 2), 11)
    assert policy.due(ts(5_000, 2)) == [(HOT, 11.0)]


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        AutoSplitPolicy(rows_per_second=0, parts=4)
    with pytest.raises(ValueError):
        AutoSplitPolicy(rows_per_second=1, parts=1)


# ---- restart state ---------------------------------------------------------------------------------------

def test_restored_splits_at_or_below_the_start_are_created_split_later_ones_are_redone() -> None:
    early = AutoSplit("shop.orders", 4, 100)
    late = AutoSplit("shop.items", 3, 300)
    splits = AutoSplits(None, (early, late), start_ts=200)
    assert splits.active
    assert splits.split_counts() == {"shop.orders": 4}
    assert splits.due(299) == []
    (decision,) = splits.due(305)
    assert (decision.table, decision.parts, decision.rate) == (COLD, 3, None)
    assert splits.records() == (late, early)  # sorted by table
    splits.forget(COLD)
    assert splits.records() == (early,)
    assert not splits.active


def test_resume_record_keeps_the_splits_and_omits_the_key_without_them() -> None:
    state = AssemblerState(5, SourcePosition("binlog.000001", 4, ""), "{}")
    plain = ResumeRecord(5, state, "file", "default")
    assert b"auto-splits" not in plain.to_json()
    assert ResumeRecord.from_json(plain.to_json()) == plain
    split = ResumeRecord(5, state, "file", "default", (AutoSplit("a\\.b.t", 4, 3), AutoSplit("shop.orders", 2, 5)))
    assert ResumeRecord.from_json(split.to_json()) == split


# ---- configuration ---------------------------------------------------------------------------------------

def test_toml_options(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[scheduler]\nsplit-rows-per-second = 5000\nsplit-number = 8\n'
                    'split-tables = { "shop.orders" = 4 }\n')
    cfg = load_config(path, source="x.bin", sink_uri=SINK)
    assert (cfg.split_rows_per_second, cfg.split_number) == (5000, 8)
    assert dict(cfg.split_tables) == {"shop.orders": 4}


def test_defaults_are_off_and_four() -> None:
    cfg = load_config(None, source="x.bin", sink_uri="file:///tmp/out?protocol=csv")
    assert (cfg.split_rows_per_second, cfg.split_number) == (0, 4)


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[scheduler]\nsplit-rows-per-second = 5000\n")
    args = build_parser().parse_args(["run", "--split-rows-per-second", "200", "--split-number", "3"])
    cfg = load_config(path, source="x.bin", sink_uri=SINK, overrides=_overrides(args))
    assert (cfg.split_rows_per_second, cfg.split_number) == (200, 3)


@pytest.mark.parametrize(
    ("toml", "sink", "message"),
    [
        ("split-rows-per-second = -1", SINK, "split-rows-per-second must be a non-negative integer"),
        ('split-rows-per-second = "fast"', SINK, "split-rows-per-second must be a non-negative integer"),
        ("split-number = 1", SINK, "split-number must be at least 2"),
        ("split-number = 0", SINK, "split-number must be a positive integer"),
        ("split-rows-per-second = 10", "file:///tmp/out?protocol=csv", "include-commit-ts=true"),
        ("split-rows-per-second = 10", "file:///tmp/out?protocol=canal-json", "enable-tidb-extension=true"),
        ("split-rows-per-secnd = 10", SINK, "unknown option scheduler.split-rows-per-secnd"),
    ],
)
def test_bad_options_name_the_option(tmp_path: Path, toml: str, sink: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[scheduler]\n{toml}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path, source="x.bin", sink_uri=sink)


def test_parquet_always_carries_commit_ts() -> None:
    cfg = load_config(None, source="x.bin", sink_uri="file:///tmp/out?protocol=parquet",
                      overrides={"split_rows_per_second": 10})
    assert cfg.split_rows_per_second == 10
