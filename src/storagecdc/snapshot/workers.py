"""Reader processes: each holds one connection inside a snapshot transaction and reads whole tables.

Parsing result rows is most of a snapshot's reading cost, and pymysql does it in Python, so the readers run
in processes of their own (``python -m storagecdc.snapshot.reader_process``: a fresh interpreter that inherits
nothing of the parent's threads or locks and does not import the parent's main module) and the changefeed's
process only unpickles their chunks (about a tenth of the parsing cost) and encodes them. They talk over a
socket pair with ``multiprocessing.connection`` framing; the source URI (with its password) is the first
message, never a command-line argument. A
worker answers, over a pipe: ``begin`` (start the snapshot transaction; on MariaDB the binlog position it
corresponds to), ``rollback``, and ``read`` (a table, as ``rows`` messages of one chunk each, then
``done``); the pipe's buffer is the back-pressure, so memory holds a chunk or two per worker. A worker ends
when its pipe closes (the changefeed stopped or died) or it is terminated.

A table whose plan has an Arrow target (a Parquet sink) comes as ``batch`` messages instead, each followed by
the chunk's record batch as Arrow IPC stream bytes (``snapshot.columnar`` builds it; sent and received on the
socket directly, the message names their size), which the changefeed's process maps without per-row work.
A worker imports pyarrow and ``snapshot.columnar`` in a thread once it is ready (connected), while the
changefeed takes the point and reads the schema, so that neither waits for that import.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing.connection
import os
import socket
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

import pymysql

from storagecdc.errors import SourceError
from storagecdc.model import TableName
from storagecdc.snapshot.reader import Row, TablePlan, read_table
from storagecdc.source.live import LiveSource
from storagecdc.source.replication_uri import redact

if TYPE_CHECKING:
    import pyarrow as pa

SESSION = (
    "SET SESSION time_zone = '+00:00'",  # TIMESTAMP values come back in UTC, as the binlog has them
    "SET SESSION net_write_timeout = 3600",  # a reader may wait on the sink between chunks
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
)
_START_TIMEOUT_S = 60.0


def open_reader(source: LiveSource) -> pymysql.Connection[Any]:
    """A connection set up for snapshot reads."""
    conn = source.connect()
    with conn.cursor() as cur:
        for statement in SESSION:
            cur.execute(statement)
    return conn


def begin_snapshot(conn: pymysql.Connection[Any]) -> None:
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


def maria_snapshot_position(conn: pymysql.Connection[Any]) -> tuple[str, int]:
    """MariaDB: the binlog position the open snapshot transaction corresponds to."""
    with conn.cursor() as cur:
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(k).lower(): str(v) for k, v in cur.fetchall()}
    file = status.get("binlog_snapshot_file", "")
    if not file:
        raise SourceError("the server reports no binlog snapshot position: is log_bin on?")
    return file, int(status.get("binlog_snapshot_position", "0"))


def serve(pipe: multiprocessing.connection.Connection) -> None:
    """The worker process: the URI, then commands from the pipe until it closes."""
    raw = socket.socket(fileno=os.dup(pipe.fileno()))
    try:
        uri = pipe.recv()
        conn = open_reader(LiveSource(uri, None, blocking=False))
        mariadb = "mariadb" in str(getattr(conn, "server_version", "")).lower()
        pipe.send(("ready", mariadb))
        # pyarrow and ``snapshot.columnar`` take a good part of a second to import: a thread imports them while
        # the changefeed takes the point and reads the schema; a ``read`` that needs them waits for the import.
        columnar = "storagecdc.snapshot.columnar"
        threading.Thread(target=importlib.import_module, args=(columnar,), name="import", daemon=True).start()
        while True:
            command = pipe.recv()
            try:
                if command[0] == "begin":
                    begin_snapshot(conn)
                    pipe.send(("pos", maria_snapshot_position(conn) if mariadb else None))
                elif command[0] == "rollback":
                    conn.rollback()
                    pipe.send(("ok", None))
                elif command[0] == "read":
                    plan, chunk_rows = command[1], command[2]
                    if plan.arrow is None:
                        for rows in read_table(conn, plan, chunk_rows):
                            pipe.send(("rows", rows))
                    else:
                        from storagecdc.snapshot.columnar import BatchReader, to_ipc  # noqa: PLC0415 (see serve)

                        for batch in BatchReader(conn, plan, chunk_rows, mariadb).batches():
                            data = to_ipc(batch)
                            pipe.send(("batch", data.size))
                            raw.sendall(data)
                    pipe.send(("done", None))
            except (pymysql.err.MySQLError, SourceError) as exc:
                pipe.send(("error", str(exc)))
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the changefeed is gone or stopping
    except (pymysql.err.MySQLError, SourceError) as exc:
        with contextlib.suppress(OSError):
            pipe.send(("error", str(exc)))


def _receive_exactly(sock: socket.socket, size: int) -> bytearray:
    """``size`` bytes from ``sock``, received into one buffer."""
    buf = bytearray(size)
    got = 0
    with memoryview(buf) as view:
        while got < size:
            n = sock.recv_into(view[got:])
            if not n:
                raise EOFError
            got += n
    return buf


class Worker:
    """One reader process and its pipe."""

    def __init__(self, uri: str, index: int) -> None:
        """``uri``: the live source's URI (it reaches the process through the pipe, never its command line)."""
        ours, theirs = socket.socketpair()
        self.name = f"snapshot reader {index}"
        self._source = redact(uri)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "storagecdc.snapshot.reader_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._sock = ours
        """The pipe's socket, for the record batches' bytes."""
        self.pipe = multiprocessing.connection.Connection(os.dup(ours.fileno()))
        self.pipe.send(uri)
        self.mariadb = False

    def ready(self) -> None:
        if not self.pipe.poll(_START_TIMEOUT_S):
            raise SourceError(f"{self.name} did not start within {_START_TIMEOUT_S:.0f} s")
        self.mariadb = bool(self.expect("ready"))

    def send(self, *command: Any) -> None:
        self.pipe.send(command)

    def expect(self, kind: str) -> Any:
        """The next message, which must be ``kind``; its payload."""
        got, payload = self.receive()
        if got != kind:
            raise SourceError(f"{self.name}: expected {kind}, got {got}: {payload}")
        return payload

    def receive(self) -> tuple[str, Any]:
        try:
            kind, payload = self.pipe.recv()
        except (EOFError, OSError):
            raise SourceError(f"{self.name} ended unexpectedly (exit code {self._proc.poll()})",
                              retryable=True) from None
        if kind == "error":
            raise SourceError(f"server {self._source}: snapshot read failed: {payload}", retryable=True)
        if kind == "batch":
            try:
                data = _receive_exactly(self._sock, int(payload))
            except (EOFError, OSError):
                raise SourceError(f"{self.name} ended unexpectedly (exit code {self._proc.poll()})",
                                  retryable=True) from None
            from storagecdc.snapshot.columnar import from_ipc  # noqa: PLC0415 (see serve)

            return "batch", from_ipc(data)
        return str(kind), payload

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.close()
        self._sock.close()
        if self._proc.poll() is None:
            self._proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(10)


Chunk: TypeAlias = "list[Row] | pa.RecordBatch"
"""A chunk of rows: as rows, or as an Arrow record batch for a plan with an Arrow target."""


def read_tables(workers: list[Worker], plans: list[TablePlan], chunk_rows: int
                ) -> Iterator[tuple[TableName, Chunk | None]]:
    """Every plan's rows, ``(table, chunk)`` chunk after chunk and ``(table, None)`` when a table is done;
    each worker reads one plan at a time, taking the next from ``plans`` (in order) when it is done.

    Consecutive plans of one table are its key ranges (``reader.key_ranges``), in key order: several workers
    read them at once, but a table's chunks are yielded in key order (a worker whose range is not the table's
    first unfinished one is not read from; it blocks once the pipe's buffer is full, holding about a chunk)."""
    todo = deque(plans)
    left = Counter(p.info.name for p in plans)
    """Plans not done, per table."""
    order: dict[TableName, deque[Worker]] = {}
    """The workers reading a table's plans, in the plans' order."""
    busy: dict[Any, tuple[Worker, TableName]] = {}

    def assign(worker: Worker) -> None:
        if todo:
            plan = todo.popleft()
            worker.send("read", plan, chunk_rows)
            busy[worker.pipe] = (worker, plan.info.name)
            order.setdefault(plan.info.name, deque()).append(worker)

    for worker in workers:
        assign(worker)
    while busy:
        for pipe in multiprocessing.connection.wait([q[0].pipe for q in order.values()]):
            worker, name = busy[pipe]
            try:
                kind, payload = worker.receive()
            except SourceError as exc:
                raise SourceError(f"snapshot: reading {name}: {exc}", retryable=True) from None
            if kind in ("rows", "batch"):
                yield name, payload
            elif kind == "done":
                del busy[pipe]
                order[name].popleft()
                left[name] -= 1
                if not left[name]:
                    del order[name]
                    yield name, None
                assign(worker)

