"""The snapshot's parts that need no server: the record, the gap filter, the chunk SQL, value conversion and
the configuration rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.errors import ConfigError, StorageError
from storagecdc.model import ChangeEvent, ColumnInfo, Op, RowChanges, SourcePosition, TableInfo, TableName, TxnCommit
from storagecdc.snapshot.gap import drop_before
from storagecdc.snapshot.progress import SnapshotProgress
from storagecdc.snapshot.reader import TablePlan, same_columns
from storagecdc.snapshot.run import wants_snapshot
from storagecdc.snapshot.state import DONE, STARTED, Piece, SnapshotRecord, TableState, read_snapshot_record
from storagecdc.storage import open_store

A, B = TableName("db", "a"), TableName("db", "b")
SINK = "file:///tmp/x?protocol=csv"


def _info(name: TableName, *columns: ColumnInfo) -> TableInfo:
    return TableInfo(name, columns or (ColumnInfo("id", "INT", is_pk=True),), 1)


def _rows(name: TableName, ts: int) -> RowChanges:
    return RowChanges(_info(name), Op.INSERT, ts, [(ts,)])


def test_record_round_trips_through_the_store(tmp_path: Path) -> None:
    p1, p2 = SourcePosition("mysql-bin.000001", 400, "0-1-5"), SourcePosition("mysql-bin.000002", 4)
    record = SnapshotRecord("cf", "mysql://u:***@h:1/", p1, 99, 100, '{"format": 1}',
                            {A: TableState(DONE, p1, 10), B: TableState(STARTED, p2, 3)})
    store = open_store(f"file://{tmp_path}", {})
    try:
        assert read_snapshot_record(store) is None
        record.save(store, with_schema=True)
        back = read_snapshot_record(store)
    finally:
        store.close()
    assert back == record
    assert back.reread_until() == {B: [(None, p2)]}


def test_a_damaged_record_names_its_key() -> None:
    with pytest.raises(StorageError, match=r"_storagecdc/snapshot\.json"):
        SnapshotRecord.from_json(b'{"format": 1}', "{}")


def test_gap_drops_rows_of_reread_tables_until_their_point() -> None:
    start = SourcePosition("f.000001", 100)
    events: list[ChangeEvent] = [
        _rows(A, 1), _rows(B, 1), TxnCommit(1, SourcePosition("f.000001", 200)),
        _rows(B, 2), TxnCommit(2, SourcePosition("f.000002", 50)),  # B was read again at f.000002:50
        _rows(A, 3), _rows(B, 3), TxnCommit(3, SourcePosition("f.000002", 90)),
    ]
    out = list(drop_before(iter(events), start, {B: [(None, SourcePosition("f.000002", 50))]}))
    kept = [(e.table.name, e.commit_ts) for e in out if isinstance(e, RowChanges)]
    assert kept == [(A, 1), (A, 3), (B, 3)]
    assert [e.commit_ts for e in out if isinstance(e, TxnCommit)] == [1, 2, 3]


def test_gap_passes_everything_once_the_stream_is_past_every_point() -> None:
    events: list[ChangeEvent] = [_rows(B, 1), TxnCommit(1, SourcePosition("f.000003", 10))]
    pieces: dict[TableName, list[Piece]] = {B: [(None, SourcePosition("f.000002", 9))]}
    assert list(drop_before(iter(events), SourcePosition("f.000003", 4), pieces)) == events


def test_gap_of_a_continued_table_keeps_changes_of_keys_read_earlier() -> None:
    """Keys up to 10 were read at the first point (f.000001:100), the rest at f.000001:500."""
    info = _info(A, ColumnInfo("id", "INT", is_pk=True), ColumnInfo("v", "INT"))
    p1, p2 = SourcePosition("f.000001", 100), SourcePosition("f.000001", 500)
    update = RowChanges(info, Op.UPDATE, 5, rows=[(3, 1), (20, 1), (4, 1), (30, 1)],
                        before=[(2, 0), (5, 0), (40, 0), (31, 0)], pk_changed=[True] * 4, seq=7)
    events: list[ChangeEvent] = [
        RowChanges(info, Op.INSERT, 5, [(1, 0), (11, 0)]), RowChanges(info, Op.DELETE, 5, [(12, 0), (2, 0)]), update,
        TxnCommit(5, p2),
        RowChanges(info, Op.INSERT, 6, [(50, 0)]), TxnCommit(6, SourcePosition("f.000001", 600)),
    ]
    out = [e for e in drop_before(iter(events), p1, {A: [((10,), p1), (None, p2)]}) if isinstance(e, RowChanges)]
    got = [(e.op, e.rows, e.before, e.seq) for e in out]
    assert got == [
        (Op.INSERT, [(1, 0)], None, 0),
        (Op.DELETE, [(2, 0)], None, 1),  # seq: its index in the original batch
        (Op.UPDATE, [(3, 1)], [(2, 0)], 7),  # both keys read earlier: kept
        (Op.DELETE, [(5, 0)], None, 8),  # moved into the later piece: the old row goes, the new one was read
        (Op.INSERT, [(4, 1)], None, 9),  # moved out of the later piece: the new row comes from here
        (Op.INSERT, [(50, 0)], None, 0),  # after the second point: everything applies
    ]
    assert out[2].pk_changed == [True]


def test_composite_key_chunks_are_an_index_range() -> None:
    info = _info(A, ColumnInfo("a", "INT", is_pk=True), ColumnInfo("b`x", "VARCHAR", is_pk=True),
                 ColumnInfo("v", "INT"))
    plan = TablePlan(info, 0)
    assert plan.first_chunk_sql() == "SELECT `a`, `b``x`, `v` FROM `db`.`a` ORDER BY `a`, `b``x`"
    assert plan.next_chunk_sql() == (
        "SELECT `a`, `b``x`, `v` FROM `db`.`a` WHERE (`a` > %s) OR (`a` = %s AND `b``x` > %s) ORDER BY `a`, `b``x`"
    )
    assert plan.next_chunk_args((1, "k")) == [1, 1, "k"]


def test_unkeyed_table_is_one_pass() -> None:
    plan = TablePlan(_info(A, ColumnInfo("v", "INT")), 0)
    assert not plan.keyed
    assert plan.first_chunk_sql() == "SELECT `v` FROM `db`.`a`"


def test_only_float_bit_and_timestamp_are_converted() -> None:
    plain = TablePlan(_info(A, ColumnInfo("id", "INT", is_pk=True), ColumnInfo("c", "VARCHAR")), 0)
    assert plain.converter() is None
    plan = TablePlan(_info(A, ColumnInfo("f", "FLOAT"), ColumnInfo("b", "BIT"), ColumnInfo("t", "TIMESTAMP"),
                           ColumnInfo("d", "DATETIME")), 0)
    convert = plan.converter()
    assert convert is not None
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    ((f, b, t, d),) = convert([(1.1, b"\x01\x02", when, when)])
    assert f == 1.100000023841858 and b == 258
    assert t == when.replace(tzinfo=dt.UTC) and d is when
    assert convert([(None, None, "0000-00-00 00:00:00", None)]) == [(None, None, "0000-00-00 00:00:00", None)]


def test_same_columns_sees_a_type_change() -> None:
    a = (ColumnInfo("id", "INT", is_pk=True),)
    assert same_columns(a, (ColumnInfo("id", "INT", is_pk=True),))
    assert not same_columns(a, (ColumnInfo("id", "BIGINT", is_pk=True),))


def test_modes() -> None:
    assert wants_snapshot(load_config(None, source="mysql://u:p@h:1/", sink_uri=SINK,
                                      overrides={"snapshot": "initial"}), has_resume=False)
    assert not wants_snapshot(load_config(None, source="mysql://u:p@h:1/", sink_uri=SINK,
                                          overrides={"snapshot": "initial"}), has_resume=True)
    assert not wants_snapshot(load_config(None, source="mysql://u:p@h:1/", sink_uri=SINK, start="b.000001:4",
                                          overrides={"snapshot": "when-needed"}), has_resume=False)
    assert not wants_snapshot(load_config(None, source="mysql://u:p@h:1/", sink_uri=SINK), has_resume=False)
    with pytest.raises(ConfigError, match="--start"):
        wants_snapshot(load_config(None, source="mysql://u:p@h:1/", sink_uri=SINK, start="b.000001:4",
                                   overrides={"snapshot": "initial"}), has_resume=False)
    with pytest.raises(ConfigError, match="live source"):
        wants_snapshot(load_config(None, source="/tmp/binlogs", sink_uri=SINK,
                                   overrides={"snapshot": "initial"}), has_resume=False)


def test_progress_line_has_counts_rate_and_eta() -> None:
    now = [0.0]
    progress = SnapshotProgress(4, 1000, 5.0, clock=lambda: now[0])
    now[0] = 2.0
    progress.add_rows(500)
    progress.table_done()
    assert progress.line() == "snapshot: 1/4 tables, 500/~1000 rows (50%), 250 rows/s, ETA 2 s"

