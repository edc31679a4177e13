"""Decoded binlog vs the server's own SELECT: the all-types + all-DDL workload on a private MariaDB.

For each server variant (FULL row metadata; ``binlog_row_metadata=NO_LOG``, where names and types come from
DDL tracking only; ``log_bin_compress=ON``, MariaDB's compressed QUERY and ROWS events;
``binlog_row_image=MINIMAL`` with NO_LOG; and one server restarted half-way from FULL to NO_LOG + compressed)
the shared workload ``all_types_ddl.sql`` runs across two binlog files, followed by ``extra_workload`` (what
that workload does not cover or leave behind). The binlog is then decoded twice from its first file: live over
the replication protocol (``LiveSource``, non-blocking) and from the binlog files (``file_events``). Both
decoded streams must be identical, event for event (row values, DDL events with their table versions,
commit-ts, positions). The stream is then replayed on an in-memory model of the tables (``replay_model``),
whose last table versions must match information_schema and whose rows must equal a SELECT of every column of
every table the workload leaves.

The strict xfails at the end are product bugs found this way, each with a small statement list of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storagecdc import ddl_types
from storagecdc.devtools.mariadb import MariaDBServer, Setting
from storagecdc.model import ChangeEvent, DDLEvent, ResolvedTs, RowChanges, SourcePosition, TableName, TxnCommit
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.events import Event, TableMapEvent
from storagecdc.source.live import LiveSource
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.table_filter import TableFilter
from tests.source.live.extra_workload import EXTRA_TABLES, MAX_BUFFERED_ROWS, extras_sql
from tests.source.live.replay_model import ReplayModel, compare_schema_with_server, compare_with_server
from tests.workloads import ALL_TYPES_DDL, ALL_TYPES_DDL_TABLES, workload_sql

pytestmark = pytest.mark.mariadb

DB = "cdc_wl"
DB2 = "cdc_wl_2"
SPLIT_AT = "-- 5. RENAME TABLE"
"""The workload runs in two parts with FLUSH BINARY LOGS between them: the stream crosses a rotation."""

EXPECTED_DDL = {
    ddl_types.CREATE_SCHEMA, ddl_types.DROP_SCHEMA, ddl_types.CREATE_TABLE, ddl_types.DROP_TABLE,
    ddl_types.ADD_COLUMN, ddl_types.DROP_COLUMN, ddl_types.MODIFY_COLUMN, ddl_types.TRUNCATE_TABLE,
    ddl_types.RENAME_TABLE, ddl_types.RENAME_TABLES, ddl_types.ADD_PRIMARY_KEY, ddl_types.DROP_PRIMARY_KEY,
    ddl_types.MULTI_SCHEMA_CHANGE, ddl_types.MODIFY_SCHEMA_CHARSET_AND_COLLATE,
}  # fmt: skip
MARIA_COMPRESSED = frozenset(range(et.MARIA_QUERY_COMPRESSED, et.MARIA_DELETE_ROWS_COMPRESSED + 1))


@dataclass(slots=True)
class Decoded:
    """One decoding of the stream: its change events and what the raw and typed events looked like."""

    changes: list[ChangeEvent] = field(default_factory=list)
    raw_types: Counter[int] = field(default_factory=Counter)
    maps_with_names: int = 0
    maps_without_names: int = 0

    def raws(self, events: Iterable[RawEvent]) -> Iterator[RawEvent]:
        for raw in events:
            self.raw_types[raw.type_code] += 1
            yield raw

    def typed(self, events: Iterable[Event]) -> Iterator[Event]:
        for ev in events:
            if isinstance(ev, TableMapEvent) and ev.table_map.schema == DB:
                if ev.table_map.column_names is None:
                    self.maps_without_names += 1
                else:
                    self.maps_with_names += 1
            yield ev


def _assembler(schemas: tuple[str, ...]) -> TransactionAssembler:
    return TransactionAssembler(
        SchemaOptions().tracker_factory,
        table_filter=TableFilter([f"{s}.*" for s in schemas]),
        max_buffered_rows=MAX_BUFFERED_ROWS,
    )


def decode_live(server: MariaDBServer, first: str | None = None, schemas: tuple[str, ...] = (DB, DB2)) -> Decoded:
    """The server's binlog from the start of the file ``first`` (None: the first binlog), read live."""
    out = Decoded()
    source = LiveSource(server.uri(server_id=211), SourcePosition(first, 4) if first else None, blocking=False)
    typed = EventDecoder(state=source.state).decode_all(out.raws(source.events()))
    out.changes = [c for c in _assembler(schemas).feed(out.typed(typed)) if not isinstance(c, ResolvedTs)]
    return out


def decode_files(server: MariaDBServer, first: str | None = None, schemas: tuple[str, ...] = (DB, DB2)) -> Decoded:
    """The server's binlog files from the file ``first`` on (None: all of them)."""
    out = Decoded()
    paths = [str(p) for p in server.binlog_files()]
    if first is not None:
        paths = paths[[Path(p).name for p in paths].index(first) :]
    typed = file_events(paths, EventCounter())
    out.changes = [c for c in _assembler(schemas).feed(out.typed(typed)) if not isinstance(c, ResolvedTs)]
    return out


def run_workload(server: MariaDBServer, *, switch_to: dict[str, Setting] | None = None) -> None:
    """Run the workload in two parts (between them FLUSH BINARY LOGS, or a restart with ``switch_to``), then
    the extras."""
    text = workload_sql(ALL_TYPES_DDL, DB, DB2)
    cut = text.index(SPLIT_AT)
    head, tail = text[:cut], text[cut:]
    prelude = text[: text.index(f"USE `{DB}`;") + len(f"USE `{DB}`;")]
    server.execute(f"CREATE DATABASE `{DB}`")
    server.execute_script(head)
    if switch_to is None:
        server.flush_logs()
    else:
        server.restart(**switch_to)
    server.execute_script(prelude + "\n" + tail)
    server.execute_script(prelude + extras_sql(DB, DB2))


def assert_same_stream(live: list[ChangeEvent], files: list[ChangeEvent]) -> None:
    """Event for event equality, reporting the first difference readably."""
    for k, (a, b) in enumerate(zip(live, files, strict=False)):
        if a != b:
            pytest.fail(f"decoded streams differ at change {k}:\n live:  {_short(a)}\n files: {_short(b)}")
    assert len(live) == len(files), f"live decoded {len(live)} changes, the files {len(files)}"


def _short(change: ChangeEvent) -> str:
    if isinstance(change, RowChanges):
        return f"RowChanges({change.table.name} {change.op.name} ts={change.commit_ts} rows={change.rows!r:.600})"
    return repr(change)[:600]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    settings: dict[str, Setting]
    check: Callable[[Decoded], None]
    switch_to: dict[str, Setting] | None = None
    full_images: bool = True
    """False for binlog_row_image=MINIMAL: INSERTs leave out the columns they did not set, UPDATEs write only
    what they changed, so values set by defaults or DDL are mostly never seen (not counted against it)."""
    """Settings the server restarts with half-way through the workload (None: it only rotates its binlog)."""


def _full_metadata(d: Decoded) -> None:
    assert d.maps_with_names > 0 and d.maps_without_names == 0


def _no_metadata(d: Decoded) -> None:
    assert d.maps_without_names > 0 and d.maps_with_names == 0


def _compressed(d: Decoded) -> None:
    _full_metadata(d)
    _some_compressed(d)


def _switched(d: Decoded) -> None:
    assert d.maps_with_names > 0 and d.maps_without_names > 0
    assert not d.raw_types or d.raw_types[et.STOP] == 1  # the file the restart closed ends with STOP
    _some_compressed(d)


def _some_compressed(d: Decoded) -> None:
    if not d.raw_types:  # file_events frames the files itself: the raw event types are seen live only
        return
    compressed = {t for t in d.raw_types if t in MARIA_COMPRESSED}
    assert et.MARIA_QUERY_COMPRESSED in compressed and len(compressed) >= 3, sorted(d.raw_types)


_COMPRESSED: dict[str, Setting] = {"log_bin_compress": "ON", "log_bin_compress_min_len": 10}
VARIANTS = [
    Variant("full_metadata", {}, _full_metadata),
    Variant("no_log_metadata", {"binlog_row_metadata": "NO_LOG"}, _no_metadata),
    Variant("compressed", _COMPRESSED, _compressed),
    Variant(
        "minimal_image_no_log",
        {"binlog_row_image": "MINIMAL", "binlog_row_metadata": "NO_LOG"},
        _no_metadata,
        full_images=False,
    ),
]
SWITCHING = Variant("full_then_no_log_compressed", {}, _switched, {"binlog_row_metadata": "NO_LOG", **_COMPRESSED})
"""One stream, two server configurations: the server restarts half-way with no metadata and compression."""


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_decoded_live_and_files_equal_select(variant: Variant, mariadb_factory: Callable[..., MariaDBServer]) -> None:
    check_variant(variant, mariadb_factory(**variant.settings))


def test_server_restarted_with_other_settings_mid_stream(mariadb_factory: Callable[..., MariaDBServer]) -> None:
    check_variant(SWITCHING, mariadb_factory(**SWITCHING.settings))


def check_variant(variant: Variant, server: MariaDBServer) -> None:
    began = time.monotonic()
    run_workload(server, switch_to=variant.switch_to)
    assert len(server.binlog_files()) >= 2

    live = decode_live(server)
    files = decode_files(server)
    variant.check(live)
    variant.check(files)
    assert_same_stream(live.changes, files.changes)
    commits = [c.commit_ts for c in live.changes if isinstance(c, TxnCommit | DDLEvent)]
    assert commits == sorted(set(commits)), "commit-ts must increase strictly"

    model = ReplayModel({DB, DB2})
    model.apply_all(files.changes)
    assert not model.errors, "\n".join(model.errors[:20])
    assert model.pk_changes >= 4  # t_pk_less 3 -> 30, t_composite a and b, `..` 1 -> 2
    assert set(model.ddl_types) >= EXPECTED_DDL, sorted(EXPECTED_DDL - set(model.ddl_types))
    assert {n.table for n in model.tables} == {*ALL_TYPES_DDL_TABLES, *EXTRA_TABLES}

    schema_problems = compare_schema_with_server(model, server)
    assert not schema_problems, "\n".join(schema_problems[:30])
    result = compare_with_server(model, server)
    assert not result.problems, "\n".join(result.problems[:30])
    assert result.tables == len(ALL_TYPES_DDL_TABLES) + len(EXTRA_TABLES) and result.rows > 2650
    if variant.full_images:
        assert model.absent_inserted == 0
        assert result.skipped <= model.marked_unknown // 10 and result.skipped < result.values // 100, (
            f"{result.skipped} of {result.values} values were set by DDL and never rewritten"
        )
    else:
        assert model.absent_inserted > 0 and result.values > 5000
    print(
        f"{variant.name}: {len(live.changes)} change events, {model.row_changes} row changes replayed "
        f"({model.pk_changes} PK updates); "
        f"{result.tables} tables, {result.rows} rows, {result.values} values equal to SELECT; "
        f"{model.marked_unknown} values set by DDL in place and {model.absent_inserted} left out of INSERT "
        f"images, {result.skipped} of them never rewritten (skipped); {time.monotonic() - began:.1f} s"
    )


def _run_small(server: MariaDBServer, db: str, sql: str) -> str:
    """Run ``sql`` in the (existing) database ``db`` in a new binlog file; that file's name."""
    server.flush_logs()
    first = server.binlog_files()[-1].name
    server.execute_script(f"USE `{db}`; SET time_zone = '+00:00'; {sql}")
    return first


def _decode_small(server: MariaDBServer, db: str, sql: str, *, ignore: str = "") -> None:
    """Run ``sql`` in ``db``; its decoded stream, live and from the files, must replay to the server's tables
    (rows of the table ``ignore`` are left out)."""
    first = _run_small(server, db, sql)
    files = decode_files(server, first, (db,))
    assert_same_stream(decode_live(server, first, (db,)).changes, files.changes)
    model = ReplayModel({db})
    model.apply_all(c for c in files.changes if not (isinstance(c, RowChanges) and c.table.name.table == ignore))
    model.tables.pop(TableName(db, ignore), None)
    assert not model.errors, "\n".join(model.errors[:20])
    problems = compare_schema_with_server(model, server) + compare_with_server(model, server).problems
    assert not problems, "\n".join(problems[:30])


SYSTEM_VERSIONED = (
    "CREATE TABLE sv (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;"
    "INSERT INTO sv VALUES (1, 1), (2, 2); UPDATE sv SET v = 3 WHERE id = 1; DELETE FROM sv WHERE id = 2;"
    "CREATE TABLE sx (id INT PRIMARY KEY, v INT, rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START,"
    " re TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME(rs, re)) WITH SYSTEM VERSIONING;"
    "INSERT INTO sx (id, v) VALUES (1, 1); UPDATE sx SET v = 2;"
    "CREATE TABLE sa (id INT PRIMARY KEY, v INT); INSERT INTO sa VALUES (1, 1);"
    "ALTER TABLE sa ADD SYSTEM VERSIONING; UPDATE sa SET v = 2; INSERT INTO sa VALUES (2, 2);"
    "CREATE TABLE sd (id INT, v INT) WITH SYSTEM VERSIONING; INSERT INTO sd VALUES (1, 1);"
    "ALTER TABLE sd DROP SYSTEM VERSIONING; INSERT INTO sd VALUES (2, 2); UPDATE sd SET v = 3;"
)
"""Implicit row_start/row_end (with and without a primary key), declared period columns, ADD and DROP
SYSTEM VERSIONING (on a table without history rows: dropping versioning deletes them with no row event)."""


@pytest.mark.parametrize("metadata", ["FULL", "NO_LOG"])
def test_system_versioned_table(mariadb: MariaDBServer, mariadb_db: str, metadata: str) -> None:
    """History rows are row events too: the model must equal ``SELECT ... FOR SYSTEM_TIME ALL``."""
    with mariadb.restarted(binlog_row_metadata=metadata):
        _decode_small(mariadb, mariadb_db, SYSTEM_VERSIONED)


def test_sequence_without_row_metadata(mariadb: MariaDBServer, mariadb_db: str) -> None:
    with mariadb.restarted(binlog_row_metadata="NO_LOG"):
        _decode_small(
            mariadb,
            mariadb_db,
            "CREATE SEQUENCE sq START WITH 10; SELECT NEXTVAL(sq); CREATE TABLE after_sq (id INT PRIMARY KEY);"
            "INSERT INTO after_sq VALUES (1); DROP SEQUENCE sq;",
            ignore="sq",
        )




def test_mariadb_old_fractional_temporal_format(mariadb: MariaDBServer, mariadb_db: str) -> None:
    with mariadb.restarted(mysql56_temporal_format="OFF"):
        _decode_small(
            mariadb,
            mariadb_db,
            "CREATE TABLE old_fsp (id INT PRIMARY KEY, t3 TIME(3), dt6 DATETIME(6), ts2 TIMESTAMP(2) NULL,"
            " dt DATETIME);"
            "INSERT INTO old_fsp VALUES (1, '-12:00:00.123', '2000-01-01 00:00:00.000001', '1970-01-01 00:00:01.5',"
            " '2001-02-03 04:05:06'), (2, '838:59:59.999', '9999-12-31 23:59:59.999999', NULL, NULL);",
        )


def test_uuid_inet_without_row_metadata(mariadb: MariaDBServer, mariadb_db: str) -> None:
    """Each value must be the exact stored bytes (``HEX()``), as model.py's convention says."""
    with mariadb.restarted(binlog_row_metadata="NO_LOG"):
        first = _run_small(
            mariadb,
            mariadb_db,
            "CREATE TABLE fx (id INT PRIMARY KEY, u UUID, i6 INET6, i4 INET4);"
            "INSERT INTO fx VALUES (1, '123e4567-e89b-12d3-a456-426655440000', '2001:db8::', '10.0.0.0'),"
            " (2, '00000000-0000-0000-0000-000000000001', '::', '0.0.0.1');",
        )
        changes = decode_files(mariadb, first, (mariadb_db,)).changes
    query = f"SELECT id, u, i6, i4, HEX(u), HEX(i6), HEX(i4) FROM `{mariadb_db}`.fx"
    stored = {r[0]: r[1:] for r in mariadb.execute(query)}
    rows = [row for c in changes if isinstance(c, RowChanges) for row in c.rows]
    assert len(rows) == 2
    for row in rows:
        for value, hexed in zip(row[1:], stored[row[0]][3:], strict=True):
            assert value == bytes.fromhex(hexed), f"id {row[0]}: {value!r} is not 0x{hexed}"




def test_spatial_column_with_ref_system_id(mariadb: MariaDBServer, mariadb_db: str) -> None:
    _decode_small(
        mariadb,
        mariadb_db,
        "CREATE TABLE gs (id INT PRIMARY KEY, g GEOMETRY REF_SYSTEM_ID=4326);"
        "INSERT INTO gs VALUES (1, ST_GeomFromText('POINT(1 2)', 4326));",
    )


@pytest.mark.parametrize("metadata", ["FULL", "NO_LOG"])
def test_compressed_columns(mariadb: MariaDBServer, mariadb_db: str, metadata: str) -> None:
    """Values compressed (raw deflate, then zlib-wrapped), stored as is (too short to gain), empty and NULL,
    in every compressed type: the charset of text columns comes from the TABLE_MAP or the tracked DDL."""
    with mariadb.restarted(binlog_row_metadata=metadata):
        _decode_small(
            mariadb,
            mariadb_db,
            "CREATE TABLE cz (id INT PRIMARY KEY, b BLOB COMPRESSED, v VARCHAR(1000) COMPRESSED,"
            " t TEXT COMPRESSED CHARACTER SET latin1, vb VARBINARY(300) COMPRESSED, tt TINYTEXT COMPRESSED,"
            " mt MEDIUMTEXT COMPRESSED, lb LONGBLOB COMPRESSED, vs VARCHAR(20) COMPRESSED CHARACTER SET utf8mb3);"
            "INSERT INTO cz VALUES (1, REPEAT('ab', 500), REPEAT('xyz', 300), REPEAT('é', 400), REPEAT(x'00ff', 100),"
            " REPEAT('ü', 50), REPEAT('€', 30000), REPEAT(x'01', 70000), REPEAT('ä', 20)),"
            " (2, 'short', 's', 'ÿ', x'00', 't', 'm', x'ff', 'v'), (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
            " (4, '', '', '', '', '', '', '', '');"
            "SET SESSION column_compression_zlib_wrap = ON;"
            "INSERT INTO cz VALUES (5, REPEAT('cd', 500), REPEAT('uvw', 300), REPEAT('à', 400), REPEAT(x'ff00', 100),"
            " REPEAT('ö', 50), REPEAT('¢', 3000), REPEAT(x'02', 700), REPEAT('ß', 20));"
            "UPDATE cz SET b = REPEAT('q', 999), t = 'changed' WHERE id = 1;",
        )




def test_application_time_period(mariadb: MariaDBServer, mariadb_db: str) -> None:
    _decode_small(
        mariadb,
        mariadb_db,
        "CREATE TABLE pe (id INT, s DATE, e DATE, PERIOD FOR p(s, e), PRIMARY KEY (id, p WITHOUT OVERLAPS));"
        "INSERT INTO pe VALUES (1, '2020-01-01', '2020-12-31'), (1, '2021-01-01', '2021-12-31');"
        "UPDATE pe SET e = '2021-06-30' WHERE s = '2021-01-01';"
        "CREATE TABLE pa (id INT, s DATE, e DATE); ALTER TABLE pa ADD PERIOD FOR p(s, e);"
        "ALTER TABLE pa ADD PRIMARY KEY (id, p WITHOUT OVERLAPS);"
        "INSERT INTO pa VALUES (1, '2020-01-01', '2020-12-31'), (1, '2021-01-01', '2021-12-31');"
        "UPDATE pa SET s = '2020-02-01' WHERE e = '2020-12-31';",
    )
