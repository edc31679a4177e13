"""Running the real command line (``storagecdc run`` / ``consume`` / ``verify``) and comparing table states.

- ``Changefeed``: one ``storagecdc run`` command line, started as a background process (``start``), stopped
  with SIGTERM (``stop`` returns the exit code) and finished with ``--until now`` (``finish``).
- ``consume(sink_uri, target)``: ``storagecdc consume`` in a subprocess; its counts as ``Consumed``.
- ``server_state``, ``sqlite_state``: every table of a database as ``{table: (columns, sorted rows)}`` with
  values normalised to text (bytes as hex), so that MariaDB, a replayed MariaDB and SQLite compare equal.
- ``objects(uri)``: every object of a sink and the SHA-256 of its bytes; ``immutable`` keeps the keys that
  must never change once written (data files, schema files, syncpoint markers).
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.storage import open_store, parse_data_file_key
from storagecdc.storage.paths import parse_syncpoint_key

CLI = [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))"]
STOP_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 120.0

Rows = list[tuple[str | None, ...]]
State = dict[str, tuple[tuple[str, ...], Rows]]
"""Table name -> (column names in order, rows sorted, every value as text or None)."""


def storagecdc(*args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Changefeed:
    """``storagecdc run --source SOURCE --sink-uri URI ...``; each start or finish is one more run of it."""

    name: str
    argv: list[str]
    log_dir: Path
    runs: list[tuple[str, int, str]] = field(default_factory=list)
    """(how, exit code, stderr) of every finished run, in order."""
    _proc: subprocess.Popen[str] | None = None
    _log: Path | None = None

    def start(self) -> None:
        """Start the command in the background (a live source blocks until stopped)."""
        assert self._proc is None, "already running"
        self._log = self.log_dir / f"{self.name}-{len(self.runs)}.log"
        with self._log.open("w") as out:
            self._proc = subprocess.Popen([*CLI, *self.argv], stdout=out, stderr=subprocess.STDOUT, text=True)

    def stop(self) -> int:
        """SIGTERM the background run and wait for it; its exit code."""
        proc, self._proc = self._proc, None
        assert proc is not None and self._log is not None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            rc = -9
        self.runs.append(("SIGTERM", rc, self._log.read_text(errors="replace")))
        return rc

    def finish(self) -> int:
        """Run the command with ``--until now`` to its end; its exit code."""
        done = storagecdc(*self.argv, "--until", "now")
        self.runs.append(("--until now", done.returncode, done.stdout + done.stderr))
        return done.returncode

    def kill(self) -> None:
        """Teardown only: kill a run a failed test left behind."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None


def binlog_dumps(server: MariaDBServer) -> set[int]:
    """The connection ids of the replication connections streaming from ``server``."""
    rows = server.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
    return {int(r[0]) for r in rows}


def wait_for_binlog_dumps(server: MariaDBServer, count: int, *, besides: frozenset[int] = frozenset(),
                          timeout: float = 30.0) -> None:
    """Wait until ``count`` replication connections other than ``besides`` stream from ``server``."""
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        seen = binlog_dumps(server) - besides
        if len(seen) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{len(seen)} of {count} changefeeds connected to the server within {timeout}s")


_CONSUMED = re.compile(r"(\d+) DDL, (\d+) files, (\d+) rows applied, (\d+) duplicates skipped")


@dataclass(frozen=True)
class Consumed:
    ddl: int
    files: int
    rows: int
    skipped: int


def consume(sink_uri: str, target: str) -> Consumed:
    """``storagecdc consume --sink-uri URI --target TARGET`` (one-shot): exit 0 and its counts."""
    done = storagecdc("consume", "--sink-uri", sink_uri, "--target", target)
    assert done.returncode == 0, done.stderr[-3000:]
    m = _CONSUMED.search(done.stderr)
    assert m, done.stderr
    return Consumed(*(int(g) for g in m.groups()))


def norm(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


def normalised(rows: list[tuple[Any, ...]]) -> Rows:
    """Rows with every value as text (bytes as hex), sorted."""
    out = [tuple(norm(v) for v in row) for row in rows]
    out.sort(key=lambda row: tuple((v is None, len(v or ""), v or "") for v in row))
    return out


def server_state(server: MariaDBServer, db: str) -> State:
    tables = [r[0] for r in server.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))]
    state: State = {}
    for table in tables:
        columns = tuple(r[0] for r in server.execute(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION", (db, table)))
        rows = server.execute(f"SELECT * FROM `{db}`.`{table}`")
        state[table] = (columns, normalised(list(rows)))
    return state


def sqlite_state(path: Path, db: str) -> State:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        state: State = {}
        for name in names:
            if not name.startswith(db + "."):
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            columns = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({quoted})"))
            state[name[len(db) + 1:]] = (columns, normalised(conn.execute(f"SELECT * FROM {quoted}").fetchall()))
        return state
    finally:
        conn.close()


def differences(got: State, want: State) -> list[str]:
    """One line per table that differs (missing, extra, columns, row count, first differing row)."""
    out = [f"{t}: missing" for t in sorted(set(want) - set(got))]
    out += [f"{t}: not on the server" for t in sorted(set(got) - set(want))]
    for t in sorted(set(want) & set(got)):
        (gc, gr), (wc, wr) = got[t], want[t]
        if gc != wc:
            out.append(f"{t}: columns {gc} != {wc}")
        elif gr != wr:
            extra, missing = sorted(set(gr) - set(wr)), sorted(set(wr) - set(gr))
            out.append(f"{t}: {len(gr)} rows vs {len(wr)}; {len(extra)} unexpected (first {extra[:1]}), "
                       f"{len(missing)} missing (first {missing[:1]})")
    return out


def checkpoint(uri: str) -> int:
    """The sink's ``metadata`` checkpoint (0 when there is none yet)."""
    store = open_store(uri)
    try:
        if not store.exists("metadata"):
            return 0
        return int(json.loads(store.get("metadata"))["checkpoint-ts"])
    finally:
        store.close()


def wait_for_checkpoint(uri: str, *, above: int, timeout: float = 30.0) -> int:
    """Wait until the sink's checkpoint passes ``above``; the new checkpoint."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = checkpoint(uri)
        if now > above:
            return now
        time.sleep(0.1)
    raise AssertionError(f"the checkpoint of the restarted changefeed stayed at {above} for {timeout}s")


def objects(uri: str) -> dict[str, str]:
    """Every object of the sink: key -> SHA-256 of its bytes."""
    store = open_store(uri)
    try:
        return {info.key: hashlib.sha256(store.get(info.key)).hexdigest() for info in store.list()}
    finally:
        store.close()


MUTABLE = frozenset({"metadata", "_storagecdc/resume.json", "_storagecdc/owner.json", ".storagecdc-lock"})
"""Objects a run rewrites by design: the checkpoint, the resume record, the owner lease and the lock."""


def immutable(snapshot: dict[str, str]) -> dict[str, str]:
    """The objects that are written once: data and schema files and syncpoint markers (not index files)."""
    return {k: v for k, v in snapshot.items() if k not in MUTABLE and not k.endswith(".index")}


def keys(uri: str) -> list[str]:
    store = open_store(uri)
    try:
        return [info.key for info in store.list()]
    finally:
        store.close()


def dispatchers(object_keys: list[str], table: str) -> set[str]:
    """The dispatcher ids of ``table``'s data files (``""`` for a table that is not split)."""
    parsed = (parse_data_file_key(k) for k in object_keys)
    return {p.dispatcher_id or "" for p in parsed if p is not None and p.dir.table == table}


def syncpoints(object_keys: list[str]) -> list[int]:
    return sorted(ts for ts in (parse_syncpoint_key(k) for k in object_keys) if ts is not None)
