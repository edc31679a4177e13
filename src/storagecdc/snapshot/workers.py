"""Snapshot readers: each holds one connection inside a snapshot transaction and reads whole tables.

A reader runs ``serve``: it answers commands, in order, over a channel: ``begin`` (start the snapshot
transaction; on MariaDB the binlog position it corresponds to), ``rollback``, and ``read`` (a table, as
``rows`` messages of one chunk each, then ``done``). A table whose plan has an Arrow target (a Parquet sink)
comes as ``batch`` messages instead, each a chunk's record batch (``snapshot.columnar`` builds it). The
channel's bounded buffer is the back-pressure, so memory holds a chunk or two per reader.

Readers are of two kinds, with the same interface on the changefeed's side (``Reader``):

- ``snapshot.thread_reader``: a thread of the changefeed's process. For a Parquet sink, where a keyed table
  is read the text way (the server formats the rows, pyarrow parses them: little Python per row) and the batch
  reaches the sink without a copy; no interpreter to start.
- ``snapshot.process_reader``: a process of its own, for the row way (pymysql parses every value in Python,
  which two threads of one process could not do at once).
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing.connection
import threading
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

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
START_TIMEOUT_S = 60.0


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


class ReaderSide(Protocol):
    """The reader's end of its channel. ``recv`` raises ``EOFError`` once the changefeed closed it."""

    def recv(self) -> Any: ...

    def send(self, message: tuple[str, Any]) -> None: ...

    def send_batch(self, batch: pa.RecordBatch) -> None: ...

    def connected(self, conn: pymysql.Connection[Any]) -> None:
        """The reader's connection is open (a thread's channel closes it to stop a read)."""


def serve(channel: ReaderSide) -> None:
    """A reader: the source URI, then commands from the channel until it closes."""
    try:
        uri = channel.recv()
        conn = open_reader(LiveSource(uri, None, blocking=False))
        channel.connected(conn)
        mariadb = "mariadb" in str(getattr(conn, "server_version", "")).lower()
        channel.send(("ready", mariadb))
        # pyarrow and ``snapshot.columnar`` take a good part of a second to import (in a process of its own): a
        # thread imports them while the changefeed takes the point and reads the schema; a ``read`` that needs
        # them waits for the import.
        columnar = "storagecdc.snapshot.columnar"
        threading.Thread(target=importlib.import_module, args=(columnar,), name="import", daemon=True).start()
        while True:
            command = channel.recv()
            try:
                if command[0] == "begin":
                    begin_snapshot(conn)
                    channel.send(("pos", maria_snapshot_position(conn) if mariadb else None))
                elif command[0] == "rollback":
                    conn.rollback()
                    channel.send(("ok", None))
                elif command[0] == "read":
                    plan, chunk_rows = command[1], command[2]
                    if plan.arrow is None:
                        for rows in read_table(conn, plan, chunk_rows):
                            channel.send(("rows", rows))
                    else:
                        from storagecdc.snapshot.columnar import BatchReader  # noqa: PLC0415 (see above)

                        for batch in BatchReader(conn, plan, chunk_rows, mariadb).batches():
                            channel.send_batch(batch)
                    channel.send(("done", None))
            except (pymysql.err.MySQLError, SourceError) as exc:
                channel.send(("error", str(exc)))
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the changefeed is gone or stopping
    except (pymysql.err.MySQLError, SourceError) as exc:
        with contextlib.suppress(OSError, EOFError):
            channel.send(("error", str(exc)))


class Reader(ABC):
    """The changefeed's side of one reader. ``waitable`` is what ``read_tables`` waits on (an object with a
    ``fileno``): it is readable when a message is there."""

    def __init__(self, uri: str, name: str) -> None:
        self.name = name
        self._source = redact(uri)
        self.mariadb = False

    @property
    @abstractmethod
    def waitable(self) -> Any: ...

    @abstractmethod
    def send(self, *command: Any) -> None: ...

    @abstractmethod
    def _next(self) -> tuple[str, Any]:
        """The next message; ``EOFError`` or ``OSError`` when the reader ended."""

    @abstractmethod
    def _ended(self) -> str:
        """How the reader ended, for an error message."""

    @abstractmethod
    def close(self) -> None: ...

    def ready(self) -> None:
        if not multiprocessing.connection.wait([self.waitable], START_TIMEOUT_S):
            raise SourceError(f"{self.name} did not start within {START_TIMEOUT_S:.0f} s")
        self.mariadb = bool(self.expect("ready"))

    def expect(self, kind: str) -> Any:
        """The next message, which must be ``kind``; its payload."""
        got, payload = self.receive()
        if got != kind:
            raise SourceError(f"{self.name}: expected {kind}, got {got}: {payload}")
        return payload

    def receive(self) -> tuple[str, Any]:
        try:
            kind, payload = self._next()
        except (EOFError, OSError):
            raise SourceError(f"{self.name} ended unexpectedly ({self._ended()})", retryable=True) from None
        if kind == "error":
            raise SourceError(f"server {self._source}: snapshot read failed: {payload}", retryable=True)
        return str(kind), payload


Chunk: TypeAlias = "list[Row] | pa.RecordBatch"
"""A chunk of rows: as rows, or as an Arrow record batch for a plan with an Arrow target."""


def read_tables(workers: list[Reader], plans: list[TablePlan], chunk_rows: int
                ) -> Iterator[tuple[TableName, Chunk | None]]:
    """Every plan's rows, ``(table, chunk)`` chunk after chunk and ``(table, None)`` when a table is done;
    each worker reads one plan at a time, taking the next from ``plans`` (in order) when it is done.

    Consecutive plans of one table are its key ranges (``reader.key_ranges``), in key order: several workers
    read them at once, but a table's chunks are yielded in key order (a worker whose range is not the table's
    first unfinished one is not read from; it blocks once the pipe's buffer is full, holding about a chunk)."""
    todo = deque(plans)
    left = Counter(p.info.name for p in plans)
    """Plans not done, per table."""
    order: dict[TableName, deque[Reader]] = {}
    """The workers reading a table's plans, in the plans' order."""
    busy: dict[Any, tuple[Reader, TableName]] = {}

    def assign(worker: Reader) -> None:
        if todo:
            plan = todo.popleft()
            worker.send("read", plan, chunk_rows)
            busy[worker.waitable] = (worker, plan.info.name)
            order.setdefault(plan.info.name, deque()).append(worker)

    for worker in workers:
        assign(worker)
    while busy:
        for waitable in multiprocessing.connection.wait([q[0].waitable for q in order.values()]):
            worker, name = busy[waitable]
            try:
                kind, payload = worker.receive()
            except SourceError as exc:
                raise SourceError(f"snapshot: reading {name}: {exc}", retryable=True) from None
            if kind in ("rows", "batch"):
                yield name, payload
            elif kind == "done":
                del busy[waitable]
                order[name].popleft()
                left[name] -= 1
                if not left[name]:
                    del order[name]
                    yield name, None
                assign(worker)

