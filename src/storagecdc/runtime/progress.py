"""How far a running changefeed has come, for people (``Progress``) and for metrics (``SourceLag``).

- ``SourceLag``: bytes of source still to read. File sources: the files' sizes (gzip files by their
  uncompressed size) minus the position the changefeed has reached. Live sources: the server's binary logs
  (``SHOW BINARY LOGS``) after our position, asked at most every ``refresh_s``.
- ``Progress``: a background thread that reports on a text stream (stderr). On a terminal a file source gets
  a progress bar redrawn in place (bytes and rows, rate, ETA); otherwise one status line every ``interval``
  (5 s for files, 30 s for live sources: lag, rows/s, checkpoint). Never anything per row.
"""

from __future__ import annotations

import datetime as dt
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from storagecdc.config import ChangefeedConfig
from storagecdc.errors import StorageCdcError
from storagecdc.model import SourcePosition, ts_physical_ms
from storagecdc.source.binlog.files import resolve_binlog_files
from storagecdc.source.live import LiveSource

if TYPE_CHECKING:
    from storagecdc.runtime.changefeed import Changefeed

FILE_INTERVAL_S = 5.0
LIVE_INTERVAL_S = 30.0
BAR_INTERVAL_S = 0.5
BAR_WIDTH = 30


def _uncompressed_size(path: Path) -> int:
    """A file's size as the decoder sees it: gzip's ISIZE trailer (mod 4 GiB) for ``.gz`` files."""
    size = path.stat().st_size
    if path.suffix != ".gz" or size < 4:
        return size
    with path.open("rb") as f:
        magic = f.read(2)
        if magic != b"\x1f\x8b":
            return size
        f.seek(-4, 2)
        (isize,) = struct.unpack("<I", f.read(4))
    return int(isize)


class SourceLag:
    """Bytes the changefeed has still to read from its source (None when unknown)."""

    def __init__(self, config: ChangefeedConfig, *, refresh_s: float = 5.0) -> None:
        self._live = config.source.uri if config.source.is_live else None
        self._sizes: dict[str, int] = {}
        self._order: list[str] = []
        if self._live is None:
            for path in resolve_binlog_files(config.source.files[0] if len(config.source.files) == 1
                                             else config.source.files):
                name = path.name[:-3] if path.name.endswith(".gz") and path.name != ".gz" else path.name
                size = _uncompressed_size(path)
                for key in {name, path.name}:
                    self._sizes[key] = size
                self._order.append(path.name)
            self._total = sum(self._sizes[n] for n in self._order)
        self._refresh_s = refresh_s
        self._asked = -refresh_s
        self._server: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    @property
    def is_live(self) -> bool:
        return self._live is not None

    @property
    def total_bytes(self) -> int | None:
        """All bytes of a file source (None for live sources)."""
        return None if self._live is not None else self._total

    def done_bytes(self, position: SourcePosition) -> int:
        """Bytes of a file source before ``position`` (0 before the first event)."""
        done = 0
        for name in self._order:
            if position.file in (name, name.removesuffix(".gz")):
                return done + min(position.offset, self._sizes[name])
            done += self._sizes[name]
        return 0 if not position.file else done

    def remaining(self, position: SourcePosition) -> int | None:
        if self._live is None:
            return max(0, self._total - self.done_bytes(position))
        logs = self._server_logs()
        if not logs or not position.file:
            return None
        left, seen = 0, False
        for name, size in logs:
            if name == position.file:
                seen = True
                left += max(0, size - position.offset)
            elif seen:
                left += size
        return left if seen else None

    def _server_logs(self) -> list[tuple[str, int]]:
        assert self._live is not None
        with self._lock:
            now = time.monotonic()
            if now - self._asked >= self._refresh_s:
                self._asked = now
                try:
                    with LiveSource(self._live, None, blocking=False).connect() as conn, conn.cursor() as cur:
                        cur.execute("SHOW BINARY LOGS")
                        self._server = [(str(r[0]), int(r[1])) for r in cur.fetchall()]
                except (StorageCdcError, OSError, ValueError):
                    self._server = []
            return self._server


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def checkpoint_text(checkpoint_ts: int) -> str:
    if not checkpoint_ts:
        return "none yet"
    when = dt.datetime.fromtimestamp(ts_physical_ms(checkpoint_ts) / 1000, dt.UTC)
    return f"{checkpoint_ts} ({when.isoformat(sep=' ', timespec='seconds')} UTC)"


class Progress:
    """Reports one changefeed on ``out`` from a daemon thread until ``close()``."""

    def __init__(self, out: TextIO, lag: SourceLag, *, tty: bool | None = None,
                 interval_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._lag = lag
        self._bar = (out.isatty() if tty is None else tty) and not lag.is_live
        default = BAR_INTERVAL_S if self._bar else LIVE_INTERVAL_S if lag.is_live else FILE_INTERVAL_S
        self._interval = interval_s if interval_s is not None else default
        self._clock = clock
        self._feed: Changefeed | None = None
        self._began = clock()
        self._first_bytes = 0
        self._last: tuple[float, int] = (self._began, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def started(self, feed: Changefeed) -> None:
        """Begin reporting on ``feed`` (its counters and source position)."""
        self._feed = feed
        self._began = self._clock()
        self._first_bytes = self._lag.done_bytes(feed.assembler.position) if not self._lag.is_live else 0
        self._last = (self._began, feed.counters.rows)
        self._thread = threading.Thread(target=self._loop, name="storagecdc-progress", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reporting; a progress bar is completed and its line ended."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._bar and self._feed is not None:
            self._write(self.render())
        if self._drawn:
            self._out.write("\n")
            self._out.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._write(self.render())

    def _write(self, text: str) -> None:
        if self._bar:
            self._out.write("\r\x1b[2K" + text)
            self._drawn = True
        else:
            self._out.write(text + "\n")
        self._out.flush()

    def render(self) -> str:
        """The current bar (terminal) or status line."""
        feed = self._feed
        assert feed is not None
        c = feed.counters
        now = self._clock()
        elapsed = max(now - self._began, 1e-6)
        position = feed.assembler.position
        if self._lag.is_live:
            last_time, last_rows = self._last
            self._last = (now, c.rows)
            rate = (c.rows - last_rows) / max(now - last_time, 1e-6)
            left = self._lag.remaining(position)
            lag = "unknown" if left is None else _size(left)
            return (f"storagecdc: {c.rows} rows ({rate:.0f} rows/s), lag {lag} behind the server, "
                    f"checkpoint {checkpoint_text(c.checkpoint_ts)}, at {position.file}:{position.offset}")
        total = self._lag.total_bytes or 0
        done = self._lag.done_bytes(position)
        speed = (done - self._first_bytes) / elapsed
        eta = _duration((total - done) / speed) if speed > 0 and done < total else "--:--"
        share = done / total if total else 1.0
        text = (f"{_size(done)} / {_size(total)} ({share:.0%}), {c.rows} rows ({c.rows / elapsed:.0f} rows/s, "
                f"{_size(speed)}/s), ETA {eta}")
        if self._bar:
            filled = round(share * BAR_WIDTH)
            return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}"
        return f"storagecdc: {text}, checkpoint {checkpoint_text(c.checkpoint_ts)}"
