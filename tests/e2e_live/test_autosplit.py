"""Automatic splits end to end: a binlog written by the private MariaDB in which one table gets hot.

The script (seeded, single session, about 9 s with server-side sleeps) first writes a little to every
table, then hammers ``hot`` (inserts, updates, deletes, updates that move the primary key) in hundreds of
transactions, alters ``hot`` while it is being written, and keeps writing a little to ``cold`` and to
``nokey`` (no primary key, hot too: it must stay whole). ``storagecdc run --split-rows-per-second`` with
syncpoints every second on that binlog file splits ``hot`` inside its first table version; the syncpoints
after the split name both the whole table's files and the spans'; ``storagecdc consume`` into SQLite must
equal the server, the run must give the same bytes twice, and a run stopped in the middle (gracefully, or by
a crash after the split but before the checkpoint passed it) and resumed must replay to the server's state.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import ChangeEvent, TxnCommit
from storagecdc.runtime.changefeed import Changefeed
from storagecdc.runtime.replicate import replicate
from storagecdc.runtime.resume import ResumeRecord, read_resume
from storagecdc.runtime.source import open_source
from storagecdc.storage import LocalStore, parse_data_file_key
from tests.e2e_live.harness import (
    MUTABLE,
    State,
    consume,
    differences,
    objects,
    server_state,
    sqlite_state,
    storagecdc,
)

pytestmark = pytest.mark.mariadb

DB = "e2e_autosplit"
QUERY = "protocol=csv&include-commit-ts=true&flush-interval=1s"
STILL = "protocol=csv&include-commit-ts=true&flush-interval=10m&max-flush-interval=10m"
"""No flush by the wall clock: the files are cut by the binlog alone (barriers, splits, the end), so two runs
give the same bytes however long each takes."""
RATE = 50
"""rows/s over the 10 s window: ``hot`` passes it after about 500 row changes, ``cold`` never does."""
STOP_AFTER = 420
"""Transactions of the first run when it is stopped gracefully: after the split, before the ALTER."""


def workload(seed: int = 7) -> str:
    rnd = random.Random(seed)
    s = [
        f"CREATE DATABASE {DB}",
        f"USE {DB}",
        "CREATE TABLE hot (id INT PRIMARY KEY, k INT NOT NULL, v VARCHAR(40), n DECIMAL(10,2))",
        "CREATE TABLE cold (id INT PRIMARY KEY, v VARCHAR(20))",
        "CREATE TABLE nokey (a INT, b VARCHAR(20))",
    ]
    live: set[int] = set()
    next_id = 1

    def hot_txn(size: int) -> None:
        nonlocal next_id
        stmts = []
        for _ in range(size):
            op = rnd.random()
            if op < 0.5 or len(live) < 20:
                stmts.append(f"INSERT INTO hot (id, k, v, n) VALUES ({next_id}, {rnd.randrange(1000)}, "
                             f"'v{next_id}', {rnd.randrange(100000) / 100})")
                live.add(next_id)
                next_id += 1
            elif op < 0.75:
                key = rnd.choice(sorted(live))
                stmts.append(f"UPDATE hot SET k = k + 1, v = CONCAT(v, '+') WHERE id = {key}")
            elif op < 0.85:
                key = rnd.choice(sorted(live))
                live.discard(key)
                stmts.append(f"UPDATE hot SET id = {next_id} WHERE id = {key}")  # the key moves (maybe to another span)
                live.add(next_id)
                next_id += 1
            else:
                key = rnd.choice(sorted(live))
                live.discard(key)
                stmts.append(f"DELETE FROM hot WHERE id = {key}")
        s.extend(["BEGIN", *stmts, "COMMIT"])

    for i in range(1, 31):  # a quiet start of 3 s: every table a little
        s.append("DO SLEEP(0.1)")
        hot_txn(2)
        s.append(f"INSERT INTO cold VALUES ({i}, 'c{i}')")
        s.append(f"INSERT INTO nokey VALUES ({i}, 'n{i}')")
    for i in range(300):  # hot gets hot (and nokey with it): about 100 row changes per half second
        if i % 25 == 0:
            s.append("DO SLEEP(0.5)")  # from the split (i ~ 110) to the ALTER (i = 200) more than a second passes
        hot_txn(rnd.randrange(1, 8))
        if i % 25 == 0:
            s.append(f"UPDATE cold SET v = CONCAT(v, '!') WHERE id = {i // 25 + 1}")
        s.append(f"INSERT INTO nokey VALUES ({1000 + i}, 'burst'), ({2000 + i}, 'burst')")
        if i == 200:
            s.append("ALTER TABLE hot ADD COLUMN note VARCHAR(10) NOT NULL DEFAULT 'new'")
        if i == 250:
            s.append("UPDATE hot SET note = 'bulk' WHERE id % 3 = 0")
    s.append("DELETE FROM nokey WHERE b = 'burst' AND a % 2 = 0")
    return ";\n".join(s) + ";"


@pytest.fixture(scope="module")
def hot_binlog(mariadb: MariaDBServer) -> Iterator[tuple[Path, State]]:
    """The binlog file holding exactly the workload, and the server's state after it."""
    mariadb.execute(f"DROP DATABASE IF EXISTS {DB}")
    mariadb.flush_logs()
    current = mariadb.binlog_files()[-1]
    mariadb.execute_script(workload())
    mariadb.flush_logs()
    assert mariadb.binlog_files()[-2] == current
    state = server_state(mariadb, DB)
    mariadb.execute(f"DROP DATABASE IF EXISTS {DB}")
    assert len(state["hot"][1]) > 300
    yield current, state


def run(source: Path, out: Path, query: str = QUERY) -> str:
    done = storagecdc("--log-level", "info", "run", "--no-progress", "--source", str(source),
                      "--sink-uri", f"{out.as_uri()}?{query}", "--split-rows-per-second", str(RATE),
                      "--sync-point-interval", "1s")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def replay(out: Path, db: Path) -> State:
    consume(f"{out.as_uri()}?{QUERY}", f"sqlite:///{db}")
    return sqlite_state(db, DB)


def families(out: Path, table: str) -> dict[int, set[str]]:
    """Table version -> the dispatcher ids of its data files (``""``: the whole table's)."""
    out_families: dict[int, set[str]] = {}
    for p in out.rglob("*.csv"):
        key = parse_data_file_key(p.relative_to(out).as_posix())
        if key is not None and key.dir.table == table:
            out_families.setdefault(key.dir.version, set()).add(key.dispatcher_id or "")
    return out_families


def marker_spans(out: Path, table: str, version: int) -> list[list[str]]:
    """For every syncpoint marker, the dispatcher ids it names for ``table`` at ``version`` (in marker order)."""
    out_ids = []
    for path in sorted((out / "_storagecdc" / "syncpoint").glob("*.json")):
        doc = json.loads(path.read_text())
        entries = [t for t in doc["tables"] if t["table"] == table and t["version"] == version]
        out_ids.append(sorted(span["dispatcher"] for t in entries for span in t["spans"]))
    return out_ids


def test_hot_table_splits_mid_version_replays_to_the_server_and_repeats_byte_for_byte(
    hot_binlog: tuple[Path, State], tmp_path: Path
) -> None:
    source, server = hot_binlog
    log = run(source, tmp_path / "a", STILL)
    split_lines = [line for line in log.splitlines() if "split into 4 spans" in line]
    assert len(split_lines) == 1 and "table e2e_autosplit.hot" in split_lines[0], log[-3000:]
    assert "syncpoints, 1 automatic split from" in log
    hot = families(tmp_path / "a", "hot")
    first = min(hot)
    assert "" in hot[first] and len(hot[first]) > 1  # the split is inside the first version
    assert all("" not in ids for version, ids in hot.items() if version > first)  # the ALTERed version is split
    assert {ids for v in families(tmp_path / "a", "nokey").values() for ids in v} == {""}  # no key: whole
    assert {ids for v in families(tmp_path / "a", "cold").values() for ids in v} == {""}  # never hot
    cut = marker_spans(tmp_path / "a", "hot", first)
    assert [] in cut and any("" in ids and len(ids) > 1 for ids in cut)  # syncpoints after the split name both
    assert differences(replay(tmp_path / "a", tmp_path / "a.db"), server) == []

    run(source, tmp_path / "b", STILL)
    a = {k: v for k, v in objects((tmp_path / "a").as_uri()).items() if k not in MUTABLE}
    b = {k: v for k, v in objects((tmp_path / "b").as_uri()).items() if k not in MUTABLE}
    assert a == b


class Crash(Exception):
    """The process dies without flushing: the next run starts from the last published resume record."""


@pytest.mark.parametrize("crash", [False, True], ids=["stop", "crash"])
def test_stopped_in_the_middle_and_resumed_replays_to_the_server(
    hot_binlog: tuple[Path, State], tmp_path: Path, crash: bool
) -> None:
    source, server = hot_binlog
    out = tmp_path / "out"
    cfg = load_config(None, source=str(source), sink_uri=f"{out.as_uri()}?{QUERY}",
                      overrides={"split_rows_per_second": RATE, "sync_point": True, "sync_point_interval": "1s"})
    src = open_source(cfg, None)
    ticks = itertools.count(0, 30)  # 30 ms per clock reading: flushes and checkpoints as the run goes
    store = LocalStore(out)
    feed = Changefeed(cfg, store, src.assembler, source_name=src.name, clock=lambda: next(ticks))

    def changes() -> Iterator[ChangeEvent]:
        for change in src.changes:
            yield change
            record = read_resume(store) if crash and isinstance(change, TxnCommit) else None
            if record is not None and any(s.commit_ts > record.checkpoint_ts for s in record.auto_splits):
                raise Crash  # the split is recorded, the checkpoint is still below it

    try:
        feed.run(changes(), until=lambda: feed.counters.transactions >= STOP_AFTER)
    except Crash:
        pass
    finally:
        src.close()
    first = read_resume(store)
    assert first is not None and len(first.auto_splits) == 1
    if crash:  # the split is above the checkpoint: the resumed run makes it again at the same transaction
        assert first.auto_splits[0].commit_ts > first.checkpoint_ts
    run(source, out)
    last: ResumeRecord | None = read_resume(store)
    assert last is not None and last.auto_splits == first.auto_splits
    assert differences(replay(out, tmp_path / "db.sqlite"), server) == []


def test_initial_snapshot_rows_do_not_count_as_traffic(
    mariadb: MariaDBServer, mariadb_db: str, tmp_path: Path
) -> None:
    """3,000 snapshot rows share one commit-ts (300 rows/s over the window if they counted): no split."""
    mariadb.execute(f"CREATE TABLE `{mariadb_db}`.big (id INT PRIMARY KEY, v VARCHAR(20))")
    values = ", ".join(f"({i}, 'v{i}')" for i in range(3000))
    mariadb.execute(f"INSERT INTO `{mariadb_db}`.big VALUES {values}")
    out = tmp_path / "out"
    cfg = load_config(None, source=mariadb.uri(), sink_uri=f"{out.as_uri()}?{QUERY}",
                      overrides={"snapshot": "initial", "filter": [f"{mariadb_db}.*"], "split_rows_per_second": RATE})
    result = replicate(cfg, until="now")
    assert result.counters.rows == 3000
    assert result.counters.auto_splits == 0
    assert {ids for v in families(out, "big").values() for ids in v} == {""}
