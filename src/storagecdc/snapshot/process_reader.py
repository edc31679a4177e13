"""A snapshot reader in a process of its own (``python -m storagecdc.snapshot.reader_process``: a fresh
interpreter that inherits nothing of the changefeed's threads or locks and does not import its main module).

Parsing result rows is most of the row way's cost, and pymysql does it in Python, so readers of the row way
run in processes and the changefeed's process only unpickles their chunks (about a tenth of the parsing cost).
The two sides talk over a socket pair with ``multiprocessing.connection`` framing; the source URI (with its
password) is the first message, never a command-line argument. A record batch is sent as a ``batch`` message
naming its size, then its Arrow IPC stream bytes on the socket directly, which the changefeed's process maps
without per-row work. The socket's buffer is the back-pressure. The reader ends when its socket closes (the
changefeed stopped or died) or it is terminated.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pymysql

from storagecdc.snapshot.workers import Reader

if TYPE_CHECKING:
    import pyarrow as pa


class ProcessSide:
    """The reader process's end: the pipe, and the same socket for record batches' bytes."""

    def __init__(self, pipe: multiprocessing.connection.Connection) -> None:
        self._pipe = pipe
        self._raw = socket.socket(fileno=os.dup(pipe.fileno()))

    def recv(self) -> Any:
        return self._pipe.recv()

    def send(self, message: tuple[str, Any]) -> None:
        self._pipe.send(message)

    def send_batch(self, batch: pa.RecordBatch) -> None:
        from storagecdc.snapshot.columnar import to_ipc  # noqa: PLC0415 (imported after start-up: workers.serve)

        data = to_ipc(batch)
        self._pipe.send(("batch", data.size))
        self._raw.sendall(data)

    def connected(self, conn: pymysql.Connection[Any]) -> None:
        """Nothing to do: the process ends when its pipe closes."""


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


class ProcessReader(Reader):
    """The changefeed's side of a reader process."""

    def __init__(self, uri: str, index: int) -> None:
        """``uri``: the live source's URI (it reaches the process through the pipe, never its command line)."""
        super().__init__(uri, f"snapshot reader {index}")
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "storagecdc.snapshot.reader_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._sock = ours
        self._pipe = multiprocessing.connection.Connection(os.dup(ours.fileno()))
        self._pipe.send(uri)

    @property
    def waitable(self) -> Any:
        return self._pipe

    def send(self, *command: Any) -> None:
        self._pipe.send(command)

    def _next(self) -> tuple[str, Any]:
        kind, payload = self._pipe.recv()
        if kind == "batch":
            from storagecdc.snapshot.columnar import from_ipc  # noqa: PLC0415 (the reader's import is lazy)

            return "batch", from_ipc(_receive_exactly(self._sock, int(payload)))
        return kind, payload

    def _ended(self) -> str:
        return f"exit code {self._proc.poll()}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.close()
        self._sock.close()
        if self._proc.poll() is None:
            self._proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(10)
