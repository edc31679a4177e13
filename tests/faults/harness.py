"""What the whole-run fault tests share: the runs, canary secrets, the ``storagecdc`` command as a subprocess,
and the evidence every run leaves (outputs, logs, objects) that the secrets test greps.

Credentials are distinctive canaries: moto accepts any key, so moto runs sign with ``MOTO_ACCESS_KEY`` /
``MOTO_SECRET_KEY`` and a ``SESSION_TOKEN``; SeaweedFS checks them, so its runs use the server's identities.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pyarrow.parquet as pq

from storagecdc.consumer import Replayer, open_applier, options_from_uri
from storagecdc.devtools.mariadb import REPLICATION_PASSWORD
from storagecdc.devtools.s3servers import (
    ACCESS_KEY,
    READONLY_ACCESS_KEY,
    READONLY_SECRET_KEY,
    REGION,
    SECRET_KEY,
    MotoServer,
    SeaweedFS,
)
from storagecdc.storage import open_store

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"
TYPES = "mariadb/mariadb-10.11-types.000001"
RUN_OVERRIDES: dict[str, object] = {"split_tables": ["shop.orders=4"], "sync_point": True, "sync_point_interval": "1s"}
RUN_FLAGS = ["--split-table", "shop.orders=4", "--sync-point-interval", "1s", "--no-progress"]
CONSUMABLE = "protocol=csv&include-commit-ts=true"
"""Sink query of the failure runs: CSV with commit-ts, so a reference can be replayed up to any checkpoint."""

MOTO_ACCESS_KEY = "AKIDFAULTCANARY0042"
MOTO_SECRET_KEY = "fault-canary-SECRET-7f3e"
SESSION_TOKEN = "fault-canary-TOKEN-19ab"
SOURCE_PASSWORD = "pw-canary-RIGHT-5c2d"
WRONG_PASSWORD = "pw-canary-WRONG-8e1f"
SECRETS = (MOTO_ACCESS_KEY, MOTO_SECRET_KEY, SESSION_TOKEN, SOURCE_PASSWORD, WRONG_PASSWORD, REPLICATION_PASSWORD,
           ACCESS_KEY, SECRET_KEY, READONLY_ACCESS_KEY, READONLY_SECRET_KEY)
"""Strings that must appear in no output, log, message or object."""


def with_query(uri: str, query: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{query}" if query else uri


def moto_uri(server: MotoServer, bucket: str, prefix: str, *, endpoint: str | None = None, **extra: str) -> str:
    """A moto URI signed with the canary key pair and session token."""
    params = {"endpoint": endpoint or server.endpoint, "region": REGION, "access-key": MOTO_ACCESS_KEY,
              "secret-access-key": MOTO_SECRET_KEY, "session-token": SESSION_TOKEN, "force-path-style": "true",
              **extra}
    return f"s3://{bucket}/{prefix}?{urlencode(params)}"


def server_uri(server: MotoServer | SeaweedFS, bucket: str, prefix: str, *, endpoint: str | None = None,
               **extra: str) -> str:
    """A URI on either server with canary credentials (moto) or the server's admin identity (SeaweedFS)."""
    if isinstance(server, MotoServer):
        return moto_uri(server, bucket, prefix, endpoint=endpoint, **extra)
    if endpoint is not None:
        extra["endpoint"] = endpoint
    return server.store_uri(bucket, prefix, **extra)


@dataclass
class Evidence:
    """Every text a run showed anyone: stdout, stderr, logs, error messages and the objects it wrote."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, text: str) -> None:
        self.texts.append((label, text))

    def add_result(self, label: str, result: subprocess.CompletedProcess[str]) -> None:
        self.add(f"{label} stdout", result.stdout)
        self.add(f"{label} stderr", result.stderr)

    def add_objects(self, label: str, objects: dict[str, bytes]) -> None:
        for key, data in objects.items():
            self.add(f"{label} object {key}", key + "\n" + data.decode("latin-1"))
            if key.endswith(".parquet"):  # compressed pages: grep the decoded rows and the footer too
                table = pq.read_table(io.BytesIO(data))
                self.add(f"{label} object {key} (decoded)", f"{table.schema}\n{table.to_pylist()}")

    def leaks(self) -> list[str]:
        return [f"{secret!r} in {label}" for label, text in self.texts for secret in SECRETS if secret in text]


def command(*args: str) -> list[str]:
    """The argv of ``storagecdc ARGS`` in a fresh interpreter."""
    return [sys.executable, "-c", "from storagecdc.cli import main; raise SystemExit(main())", *args]


def command_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``STORAGECDC_*`` or AWS settings, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGECDC_", "AWS_"))}
    return {**base, **(extra or {})}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``storagecdc ARGS`` to its end."""
    return subprocess.run(command(*args), env=command_env(env), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def run_args(source: str | Path, sink_uri: str, *extra: str) -> list[str]:
    return ["run", "--source", str(source), "--sink-uri", sink_uri, *RUN_FLAGS, *extra]


def error_line(result: subprocess.CompletedProcess[str], *, alone: bool = True) -> str:
    """The ``storagecdc: error:`` line that ends a failed command (exit 1, no traceback); with ``alone``
    nothing else on stderr, otherwise only WARNING log records before it."""
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    *before, last = result.stderr.strip().splitlines() or [""]
    assert last.startswith("storagecdc: error: "), result.stderr[-3000:]
    assert not before if alone else all(" WARNING " in line for line in before), before
    return last


def objects(uri: str) -> dict[str, bytes]:
    store = open_store(uri)
    try:
        return {info.key: store.get(info.key) for info in store.list()}
    finally:
        store.close()


def dump_sqlite(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows (sorted), storagecdc's own progress tables left out."""
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not r[0].startswith(("_storagecdc", "sqlite_"))]
        return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


def replay(uri: str, db: Path, until_ts: int | None = None) -> dict[str, list[tuple[object, ...]]]:
    """Replay ``uri`` into a fresh SQLite file in this process (the reference side of a comparison)."""
    store = open_store(uri)
    applier = open_applier(f"sqlite:///{db}")
    try:
        Replayer(store, applier, options_from_uri(uri)).run(until_ts=until_ts)
    finally:
        applier.close()
        store.close()
    return dump_sqlite(db)
