"""Values at the edges through the whole pipeline: private MariaDB -> binlog -> ``storagecdc run`` ->
``storagecdc consume`` into SQLite -> compared with ``SELECT`` on the server.

- hostile identifiers MariaDB accepts (``a/b``, ``..``, ``.``, a leading space, quotes and backticks, a
  newline, 64-character table and column names, CJK), 4-byte UTF-8 values (identifiers: MariaDB allows only
  the BMP there), zero dates, and rows over 64 KB (a 120 KB MEDIUMTEXT of 4-byte characters, a 200 KB BLOB);
  MariaDB refuses a trailing space in a name, and a dotted database name is a known router limit
  (tests/e2e/test_hostile_names.py), so neither is here;
- one transaction of ``BIG_ROWS`` rows: ``storagecdc run`` as a subprocess whose peak RSS (VmHWM) is
  measured and bounded (``RSS_BOUND_MB``): the assembler streams a transaction past 20,000 buffered rows and
  the writer flushes at ``file-size`` (8 MiB here), so memory does not grow with the transaction. Measured on
  2 busy cores: 1,000,000 rows, run + consume 26 s, run peak RSS 135 MB.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storagecdc.consumer import SqliteApplier, sqlite_table_name
from storagecdc.consumer.sqlite_applier import quote_ident
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.model import TableName
from tests.crash.harness import CLI, Decoded, consume_cli

pytestmark = pytest.mark.mariadb

DATABASE = "edge 名 a/b `q` \"d\""
TABLES = ["a/b", "..", ".", " lead", "q`\"'", "new\nline", "t" * 64, "名前表"]
COLUMNS = ['v "x",y', "c`b", " lead", "n\nl", "c" * 64]
BIG_ROWS = 1_000_000
FILE_SIZE = 8 << 20
RSS_BOUND_MB = 256


def ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def edge_script(db: str) -> str:
    s, big, blob, d, dt = (ident(c) for c in COLUMNS)
    lines = ["SET SESSION sql_mode = ''", f"CREATE DATABASE {ident(db)}", f"USE {ident(db)}"]
    for n, table in enumerate(TABLES):
        t = ident(table)
        lines += [
            f"CREATE TABLE {t} (id INT PRIMARY KEY, {s} VARCHAR(100), {big} MEDIUMTEXT, {blob} LONGBLOB, "
            f"{d} DATE, {dt} DATETIME) DEFAULT CHARSET = utf8mb4",
            f"INSERT INTO {t} VALUES (1, '😀𠜎 {n}', REPEAT('😀', 30000), "
            f"RANDOM_BYTES(1024) , '0000-00-00', '0000-00-00 00:00:00'), "
            f"(2, '名前 🀄 \\n', NULL, REPEAT(UNHEX('00FF7F80'), 50000), '2024-02-29', '9999-12-31 23:59:59'), "
            f"(3, NULL, REPEAT('𠜎x', 40000), NULL, NULL, '1000-01-01 00:00:00')",
            f"UPDATE {t} SET {big} = CONCAT({big}, '🎉'), {s} = '𝔘𝔭𝔡' WHERE id = 1",
            f"UPDATE {t} SET id = 30, {d} = '0000-00-00' WHERE id = 3",
            f"DELETE FROM {t} WHERE id = 2",
        ]
    return ";\n".join(lines) + ";"


def binlog_of(mariadb: MariaDBServer, script: str) -> Path:
    """The binlog file holding exactly ``script``'s events."""
    mariadb.flush_logs()
    current = mariadb.binlog_files()[-1]
    mariadb.execute_script(script)
    mariadb.flush_logs()
    assert mariadb.binlog_files()[-2] == current
    return current


def replicate_and_consume(binlog: Path, tmp_path: Path, *extra: str) -> tuple[SqliteApplier, int, float]:
    """``storagecdc run`` (peak RSS in MB measured) and ``storagecdc consume``; the SQLite target is open."""
    uri = f"{(tmp_path / 'out').as_uri()}?protocol=csv&include-commit-ts=true&file-size={FILE_SIZE}"
    proc = subprocess.Popen([sys.executable, *CLI, "run", "--sink-uri", uri, "--source", str(binlog), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    watcher = threading.Thread(target=_watch_rss, args=(proc, peak))
    watcher.start()
    _, err = proc.communicate(timeout=600)
    watcher.join()
    assert proc.returncode == 0, err[-2000:]
    db = tmp_path / "t.db"
    applied, _ = consume_cli(uri, db)
    return SqliteApplier(db), applied, peak[0] / 1024


def _watch_rss(proc: subprocess.Popen[str], peak: list[int]) -> None:
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        except OSError:
            return
        time.sleep(0.02)


def server_rows(mariadb: MariaDBServer, db: str, table: str) -> list[tuple[Any, ...]]:
    return mariadb.execute(f"SELECT * FROM {ident(db)}.{ident(table)} ORDER BY 1")


def test_hostile_names_and_edge_values(mariadb: MariaDBServer, tmp_path: Path) -> None:
    binlog = binlog_of(mariadb, edge_script(DATABASE))
    try:
        model = Decoded(binlog).model_at(2**64)
        applier, applied, _ = replicate_and_consume(binlog, tmp_path)
        try:
            assert applied == len(TABLES) * 7  # 3 inserts, 1 update, a key change (D + I), 1 delete
            assert {n.table for n in model.tables} == set(TABLES)
            for name, info in model.tables.items():
                want = server_rows(mariadb, DATABASE, name.table)
                assert len(want) == 2
                assert any(isinstance(v, bytes) and len(v) > 65536 for r in want for v in r) or \
                    any(isinstance(v, str) and len(v.encode()) > 65536 for r in want for v in r)
                assert sorted(applier.rows(info), key=repr) == sorted(want, key=repr), name
        finally:
            applier.close()
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS {ident(DATABASE)}")


def _digest(rows: Iterator[tuple[Any, ...]]) -> tuple[int, str]:
    h = hashlib.sha256()
    count = 0
    for row in rows:
        h.update(repr(row).encode())
        count += 1
    return count, h.hexdigest()


@pytest.mark.slow
def test_one_big_transaction_bounded_memory(mariadb: MariaDBServer, tmp_path: Path) -> None:
    db = "edge_big"
    script = (f"CREATE DATABASE {db}; USE {db}; "
              "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT) DEFAULT CHARSET = utf8mb4; "
              f"BEGIN; INSERT INTO big SELECT seq, CONCAT('row ', seq, ' 😀'), seq * 7 FROM seq_1_to_{BIG_ROWS}; "
              "COMMIT;")
    binlog = binlog_of(mariadb, script)
    try:
        started = time.monotonic()
        applier, applied, peak_mb = replicate_and_consume(binlog, tmp_path)
        elapsed = time.monotonic() - started
        try:
            assert applied == BIG_ROWS
            table = sqlite_table_name(TableName(db, "big"))
            got = _digest(applier.connection.execute(f"SELECT * FROM {quote_ident(table)} ORDER BY 1"))
            want = _digest(iter(server_rows(mariadb, db, "big")))
            assert got == want
        finally:
            applier.close()
        print(f"\n{BIG_ROWS} rows in one transaction: run + consume {elapsed:.1f} s, run peak RSS {peak_mb:.0f} MB")
        assert peak_mb < RSS_BOUND_MB
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS {db}")
