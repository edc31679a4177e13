"""A private MariaDB server on loopback, for tests, benchmarks and the demo.

``MariaDBServer`` runs Debian's ``mariadbd`` with a throw-away datadir, a random port on 127.0.0.1, a unix
socket in its own directory, and row-based binlog with full row images and full row metadata (the settings
a changefeed wants). It is started and stopped by process id, never by name, and can be restarted with other
settings (``binlog_row_metadata="NO_LOG"``, ``log_bin_compress="ON"``...) on the same datadir and port.

    with MariaDBServer() as server:
        server.execute_script("CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY);")
        uri = server.uri()            # mysql://storagecdc:...@127.0.0.1:PORT/ for the live source

The server runs as the ``mysql`` user when started by root (``--user=mysql``), so its directory is owned by
that user. The process is ours: an ``atexit`` hook stops (and deletes) every server this process started and
did not stop.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import pymysql
from pymysql.constants import CLIENT

from storagecdc.errors import StorageCdcError

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
INSTALL_HINT = "run scripts/install-test-deps.sh to install Debian's mariadb-server"

REPLICATION_USER = "storagecdc"
REPLICATION_PASSWORD = "storagecdc-test-secret"  # a throw-away credential of a loopback test server
REPLICATION_PRIVILEGES = "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD"

Setting = str | int | None
"""A server option value; ``None`` removes the option (the server's built-in default applies)."""

DEFAULT_SETTINGS: Mapping[str, Setting] = {
    "server_id": 1,
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
    "binlog_checksum": "CRC32",
    "binlog_annotate_row_events": "ON",
    "character_set_server": "utf8mb4",
    "collation_server": "utf8mb4_general_ci",
    "innodb_buffer_pool_size": "16M",
    "innodb_log_file_size": "8M",
    "innodb_flush_log_at_trx_commit": 2,
    "sync_binlog": 0,
    "performance_schema": "OFF",
    "skip_name_resolve": "ON",
    "max_connections": 64,
    "max_allowed_packet": "64M",
}

_RUNNING: set[MariaDBServer] = set()
"""Servers started and not yet stopped (held here so that the exit hook can stop each one)."""


class MariaDBError(StorageCdcError):
    """The private MariaDB server cannot be installed, started or stopped."""


def mariadb_available() -> str | None:
    """None when the server binaries are installed, else a message saying what is missing and what to do."""
    missing = [p for p in (MARIADBD, INSTALL_DB) if not os.access(p, os.X_OK)]
    if missing:
        return f"{', '.join(missing)} not found: {INSTALL_HINT}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no error log)"
    return "\n".join(text.splitlines()[-lines:])


class MariaDBServer:
    """A private ``mariadbd`` on 127.0.0.1 with a random port and a temporary datadir.

    ``settings`` override ``DEFAULT_SETTINGS`` (option names with ``_``; ``None`` removes one). ``log_bin``
    always points into the server's own directory. ``base_dir`` is where the temporary directory is made
    (default: the system temp dir).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        settings: Mapping[str, Setting] | None = None,
        base_dir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.base_settings: dict[str, Setting] = {**DEFAULT_SETTINGS, **(settings or {})}
        self.settings: dict[str, Setting] = dict(self.base_settings)
        self.startup_timeout = startup_timeout
        self._base_dir = base_dir
        self.dir: Path | None = None
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._installed = False

    # -- paths -----------------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        if self.dir is None:
            raise MariaDBError("the MariaDB server has no directory yet: call start() first")
        return self.dir / name

    @property
    def datadir(self) -> Path:
        return self._path("data")

    @property
    def binlog_dir(self) -> Path:
        return self._path("binlog")

    @property
    def socket_path(self) -> Path:
        return self._path("mysqld.sock")

    @property
    def error_log(self) -> Path:
        return self._path("error.log")

    @property
    def binlog_basename(self) -> Path:
        """The ``log_bin`` base name: binlog files are ``<basename>.000001``..., the index ``<basename>.index``."""
        return self.binlog_dir / "mysql-bin"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Install the datadir (first start only) and start the server; wait until it accepts connections."""
        if self.running:
            return
        problem = mariadb_available()
        if problem:
            raise MariaDBError(problem)
        if self.dir is None:
            self.dir = self._make_dir()
        if not self._installed:
            self._install()
        for attempt in range(3):
            if not self.port or attempt:
                self.port = _free_port()
            if self._spawn():
                break
        else:
            raise self._start_error("the port stayed in use")
        _RUNNING.add(self)
        self._create_replication_user()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server by its pid: SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def restart(self, **overrides: Setting) -> None:
        """Restart on the same datadir and port with ``base_settings`` plus ``overrides`` (none: the base)."""
        self.stop()
        self.settings = {**self.base_settings, **overrides}
        self.start()

    @contextlib.contextmanager
    def restarted(self, **overrides: Setting) -> Iterator[MariaDBServer]:
        """Run the block with the server restarted with ``overrides``; restore the previous settings after."""
        previous = self.settings
        self.restart(**overrides)
        try:
            yield self
        finally:
            self.stop()
            self.settings = previous
            self.start()

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            self._installed = False

    def __enter__(self) -> MariaDBServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"MariaDBServer({self.host}:{self.port}, {state}, dir={self.dir})"

    def _make_dir(self) -> Path:
        base = self._base_dir or Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="storagecdc-mariadb-", dir=base))
        for parent in path.parents:  # the mysql user must be able to traverse every parent
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        for sub in ("data", "binlog", "tmp"):
            (path / sub).mkdir()
        if os.geteuid() == 0:
            mysql = pwd.getpwnam("mysql")
            for p in (path, path / "data", path / "binlog", path / "tmp"):
                os.chown(p, mysql.pw_uid, mysql.pw_gid)
        path.chmod(0o755)
        return path

    def _user_args(self) -> list[str]:
        return ["--user=mysql"] if os.geteuid() == 0 else []

    def _install(self) -> None:
        cmd = [
            INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", *self._user_args(),
            "--auth-root-authentication-method=normal", "--skip-test-db",
            f"--innodb-buffer-pool-size={self.settings.get('innodb_buffer_pool_size') or '16M'}",
            f"--innodb-log-file-size={self.settings.get('innodb_log_file_size') or '8M'}",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise MariaDBError(f"mariadb-install-db failed ({done.returncode}) in {self.datadir}:\n{tail}")
        self._installed = True

    def _command(self) -> list[str]:
        args = [
            MARIADBD, "--no-defaults", *self._user_args(), f"--datadir={self.datadir}",
            f"--socket={self.socket_path}", f"--pid-file={self._path('mysqld.pid')}",
            f"--log-error={self.error_log}", f"--tmpdir={self._path('tmp')}",
            f"--bind-address={self.host}", f"--port={self.port}", f"--log-bin={self.binlog_basename}",
        ]  # fmt: skip
        for name, value in self.settings.items():
            if value is not None:
                args.append(f"--{name.replace('_', '-')}={value}")
        return args

    def _spawn(self) -> bool:
        """Start mariadbd; True once it accepts connections, False if the port was taken."""
        log_start = self.error_log.stat().st_size if self.error_log.exists() else 0
        self._proc = subprocess.Popen(
            self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            rc = self._proc.poll()
            if rc is not None:
                self._proc = None
                log = self._log_since(log_start)
                if "Address already in use" in log or "Do you already have another" in log:
                    return False
                raise self._start_error(f"mariadbd exited with code {rc}")
            if self.socket_path.exists():
                with contextlib.suppress(pymysql.err.OperationalError):
                    self.connect().close()
                    return True
            time.sleep(0.02)
        self.stop()
        raise self._start_error(f"mariadbd did not accept connections within {self.startup_timeout:.0f} s")

    def _log_since(self, offset: int) -> str:
        try:
            with self.error_log.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _start_error(self, why: str) -> MariaDBError:
        return MariaDBError(
            f"cannot start MariaDB on {self.host}:{self.port} ({why}); error log "
            f"{self.error_log}:\n{_tail(self.error_log)}\n({INSTALL_HINT} if the server is not installed)"
        )

    # -- SQL ----------------------------------------------------------------------------------------------

    def connect(self, database: str | None = None, *, autocommit: bool = True) -> pymysql.Connection[Any]:
        """A new root connection over the unix socket (utf8mb4, multi-statement scripts allowed)."""
        return pymysql.connect(
            unix_socket=str(self.socket_path),
            user="root",
            database=database,
            charset="utf8mb4",
            autocommit=autocommit,
            client_flag=CLIENT.MULTI_STATEMENTS,
            connect_timeout=10,
        )

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, database: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement as root and return its rows (empty for statements without a result)."""
        with contextlib.closing(self.connect(database)) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def execute_script(self, text: str, *, database: str | None = None) -> None:
        """Run a script of ``;``-separated statements (split by the server) in one session, in order."""
        done = 0
        with contextlib.closing(self.connect(database)) as conn, conn.cursor() as cur:
            try:
                cur.execute(text)
                done = 1
                while cur.nextset():
                    done += 1
            except pymysql.err.Error as e:
                e.add_note(f"in statement {done + 1} of the script (counting from 1)")
                raise

    def flush_logs(self) -> None:
        """Close the current binlog file and start the next one."""
        self.execute("FLUSH BINARY LOGS")

    def purge_binlogs(self, timeout: float = 10.0) -> None:
        """Delete every binlog file but the current one (``PURGE BINARY LOGS``), waiting for the server's
        binlog checkpoint, which keeps recently written files until InnoDB no longer needs them."""
        current = self.binlog_files()[-1].name
        deadline = time.monotonic() + timeout
        while True:
            self.execute(f"PURGE BINARY LOGS TO '{current}'")
            if len(self.binlog_files()) == 1:
                return
            if time.monotonic() > deadline:
                raise MariaDBError(f"binlog files before {current} still exist after {timeout:.0f} s")
            time.sleep(0.05)

    def binlog_files(self) -> list[Path]:
        """The server's binlog files in order, as its ``.index`` file lists them."""
        index = self.binlog_basename.with_suffix(".index")
        files = []
        for line in index.read_text().splitlines():
            if line.strip():
                p = Path(line.strip())
                files.append(p if p.is_absolute() else self.datadir / p)
        return files

    def _create_replication_user(self) -> None:
        self.create_user(REPLICATION_USER, REPLICATION_PASSWORD)

    def create_user(self, user: str, password: str, privileges: str = REPLICATION_PRIVILEGES) -> None:
        """Create (or re-grant) ``user``@``%`` with ``privileges`` on ``*.*``, without writing binlog."""
        self.execute_script(
            "SET SESSION sql_log_bin = 0;"
            f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}';"
            f"GRANT {privileges} ON *.* TO '{user}'@'%';"
        )

    def uri(self, user: str = REPLICATION_USER, password: str = REPLICATION_PASSWORD, **query: Setting) -> str:
        """``mysql://user:password@127.0.0.1:port/`` (query options such as ``server_id=7`` appended)."""
        base = f"mysql://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}/"
        options = "&".join(f"{k.replace('_', '-')}={v}" for k, v in query.items() if v is not None)
        return f"{base}?{options}" if options else base


@atexit.register
def _close_all() -> None:
    for server in list(_RUNNING):
        server.close()
