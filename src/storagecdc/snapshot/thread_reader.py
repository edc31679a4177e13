"""A snapshot reader in a thread of the changefeed's process.

The text way (``snapshot.columnar``) spends little Python time per row: the server formats each row, the
reader walks the result packets and pyarrow parses a whole chunk with the GIL released. Such a reader needs no
process of its own, and in a thread its record batches reach the sink as they are, without Arrow IPC and a
socket in between, and without an interpreter to start per reader.

Messages go through a bounded queue (``OUTBOX`` messages: the back-pressure, as a pipe's buffer is for a
process) and each message rings a doorbell, one byte on a socket pair, that ``read_tables`` waits on like a
process's pipe. ``close`` stops the thread: it closes the queue, and shuts the reader's connection down so that
a read in progress ends at once.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from typing import TYPE_CHECKING, Any

import pymysql

from storagecdc.snapshot.workers import Reader, serve

if TYPE_CHECKING:
    import pyarrow as pa

OUTBOX = 2
"""Messages a reader thread may have sent that the changefeed has not taken."""
_POLL_S = 0.2
_CLOSED = ("closed", None)


class ThreadSide:
    """The reader thread's end of the channel."""

    def __init__(self, bell: socket.socket) -> None:
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.outbox: queue.Queue[tuple[str, Any]] = queue.Queue(OUTBOX)
        self.closed = threading.Event()
        self.conn: pymysql.Connection[Any] | None = None
        self._bell = bell

    def recv(self) -> Any:
        message = self.inbox.get()
        if message is _CLOSED:
            raise EOFError
        return message

    def send(self, message: tuple[str, Any]) -> None:
        while True:
            if self.closed.is_set():
                raise EOFError
            try:
                self.outbox.put(message, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._bell.send(b"\0")

    def send_batch(self, batch: pa.RecordBatch) -> None:
        self.send(("batch", batch))

    def connected(self, conn: pymysql.Connection[Any]) -> None:
        self.conn = conn

    def end(self) -> None:
        """The reader stopped: its connection closes, and the changefeed's next receive sees the end."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self._bell.close()


class ThreadReader(Reader):
    """The changefeed's side of a reader thread."""

    def __init__(self, uri: str, index: int) -> None:
        super().__init__(uri, f"snapshot reader thread {index}")
        self._door, bell = socket.socketpair()
        self._side = ThreadSide(bell)
        self._side.inbox.put(uri)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            serve(self._side)
        finally:
            self._side.end()

    @property
    def waitable(self) -> Any:
        return self._door

    def send(self, *command: Any) -> None:
        self._side.inbox.put(command)

    def _next(self) -> tuple[str, Any]:
        if not self._door.recv(1):
            raise EOFError
        return self._side.outbox.get_nowait()

    def _ended(self) -> str:
        return "its thread stopped"

    def close(self) -> None:
        side = self._side
        side.closed.set()
        side.inbox.put(_CLOSED)
        conn = side.conn
        if conn is not None and self._thread.is_alive():
            sock = getattr(conn, "_sock", None)  # pymysql's socket: a read in progress ends
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._door.close()
