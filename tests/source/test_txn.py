"""The transaction assembler on real binlogs: commit order, commit-ts, DDL versions, streaming and resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.errors import SchemaError, SourceError
from storagecdc.model import DDLEvent, Op, RowChanges, TableName, TxnCommit, ts_physical_ms
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.table_filter import TableFilter

TYPES = "mariadb/mariadb-10.11-types.000001"
SYSBENCH = "mariadb/mariadb-10.11-sysbench-oltp_write_only.000010"


def changes(path: Path, **kwargs: object) -> list[object]:
    asm = TransactionAssembler(SchemaOptions().tracker_factory, **kwargs)  # type: ignore[arg-type]
    return list(asm.feed(file_events(path, EventCounter())))


def test_commit_ts_strictly_increasing_and_versions_precede_rows(binlog_fixtures: Path) -> None:
    items = changes(binlog_fixtures / TYPES)
    last = 0
    versions: dict[TableName, int] = {}
    for item in items:
        if isinstance(item, (TxnCommit, DDLEvent)):
            assert item.commit_ts > last
            last = item.commit_ts
        if isinstance(item, DDLEvent):
            for t in item.new_tables:
                assert t.version == item.commit_ts
                versions[t.name] = t.version
        if isinstance(item, RowChanges):
            assert item.commit_ts > last  # rows come before their commit
            assert item.table.version == versions[item.table.name] < item.commit_ts
    # the fixture was written at 2026-11-27 03:45:50 UTC
    assert ts_physical_ms(last) // 1000 >= 1795751150


def test_row_counts_and_rollback_leaves_nothing(binlog_fixtures: Path) -> None:
    items = changes(binlog_fixtures / TYPES)
    rows = {op: sum(len(c.rows) for c in items if isinstance(c, RowChanges) and c.op is op) for op in Op}
    assert rows == {Op.INSERT: 65, Op.UPDATE: 11, Op.DELETE: 13}
    assert sum(isinstance(c, TxnCommit) for c in items) == 18


def test_create_table_select_rows_follow_their_ddl(binlog_fixtures: Path) -> None:
    items = changes(binlog_fixtures / TYPES)
    ctas = next(i for i, c in enumerate(items) if isinstance(c, DDLEvent) and "t_big" in c.query)
    ddl = items[ctas]
    batch = items[ctas + 1]
    assert isinstance(ddl, DDLEvent) and isinstance(batch, RowChanges)
    assert batch.table.name == TableName("fixt", "t_big") and len(batch.rows) == 50
    assert batch.commit_ts == ddl.commit_ts + 1 and batch.table.version == ddl.commit_ts
    assert batch.rows[0] == (1, "row1")


def test_pk_changing_update_is_flagged(binlog_fixtures: Path) -> None:
    items = changes(binlog_fixtures / TYPES)
    composite = [c for c in items if isinstance(c, RowChanges) and c.table.name.table == "t_composite"]
    updates = [c for c in composite if c.op is Op.UPDATE]
    assert updates and any(any(c.pk_changed or ()) for c in updates)
    for c in updates:
        assert c.pk_changed is not None and c.before is not None
        for before, after, flag in zip(c.before, c.rows, c.pk_changed, strict=True):
            assert flag == ((before[0], before[1]) != (after[0], after[1]))


def test_filter_drops_tables_before_decoding(binlog_fixtures: Path) -> None:
    items = changes(binlog_fixtures / TYPES, table_filter=TableFilter(["fixt.*", "!fixt.all_types"]))
    tables = {c.table.name.table for c in items if isinstance(c, RowChanges)}
    assert "all_types" not in tables and "t_big" in tables
    assert not any(isinstance(c, DDLEvent) and c.tables == (TableName("fixt", "all_types"),) for c in items)


def test_large_transactions_stream_before_their_commit(binlog_fixtures: Path) -> None:
    asm = TransactionAssembler(SchemaOptions().tracker_factory, max_buffered_rows=10)
    seen_rows_before_commit = 0
    for item in asm.feed(file_events(binlog_fixtures / TYPES, EventCounter())):
        if isinstance(item, RowChanges) and item.table.name.table == "t_big" and item.op is Op.INSERT:
            seen_rows_before_commit += len(item.rows)
        if isinstance(item, TxnCommit) and seen_rows_before_commit:
            break
    assert seen_rows_before_commit == 50


def test_deterministic_replay(binlog_fixtures: Path) -> None:
    first = changes(binlog_fixtures / SYSBENCH)
    assert first == changes(binlog_fixtures / SYSBENCH)


def test_resume_from_state_gives_the_same_tail(binlog_fixtures: Path) -> None:
    path = binlog_fixtures / TYPES
    full = changes(path)
    asm = TransactionAssembler(SchemaOptions().tracker_factory)
    head: list[object] = []
    state = None
    for item in asm.feed(file_events(path, EventCounter())):
        head.append(item)
        if isinstance(item, TxnCommit) and len(head) > len(full) // 2:
            state = asm.state()
            break
    assert state is not None
    resumed = TransactionAssembler(SchemaOptions().tracker_factory, resume=state)
    tail = list(resumed.feed(file_events(path, EventCounter(), state.position.offset)))
    assert head + tail == full


def test_statement_dml_is_an_error_naming_the_position(binlog_fixtures: Path) -> None:
    with pytest.raises(SourceError, match=r"binlog_56_gtid_reserved_word.000001: offset \d+: statement-format DML"):
        changes(binlog_fixtures / "blackbeam_rust_mysql_common/binlog_56_gtid_reserved_word.000001")


def test_unknown_columns_are_an_error_naming_table_and_position(binlog_fixtures: Path) -> None:
    with pytest.raises(SchemaError, match=r"test_db\.buildings at mysql-bin\.01:\d+"):
        changes(binlog_fixtures / "zalora_binlog-parser/mysql-bin.01")


def test_initial_schema_file_gives_columns(binlog_fixtures: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE DATABASE test_db; USE test_db;\n"
        "CREATE TABLE buildings (building_no INT PRIMARY KEY, building_name VARCHAR(255), address VARCHAR(355));\n"
        "CREATE TABLE rooms (room_no INT PRIMARY KEY, room_name VARCHAR(255), building_no INT);\n"
    )
    asm = TransactionAssembler(SchemaOptions(schema_file=str(schema)).tracker_factory)
    items = list(asm.feed(file_events(binlog_fixtures / "zalora_binlog-parser/mysql-bin.01", EventCounter())))
    rows = [r for c in items if isinstance(c, RowChanges) for r in c.rows]
    assert len(rows) == 10
    first = next(c for c in items if isinstance(c, RowChanges))
    assert first.table.column_names[0] == "building_no"
    assert asm.tracker is not None and first.table.version == asm.tracker.start_ts
