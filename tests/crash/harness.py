"""Crash harness: ``storagecdc run`` as a subprocess killed at failpoints, restarted until it finishes.

After every kill it checks what a crash must never break:

- no data, schema or syncpoint object that existed before the run changed or vanished (content hashes);
- the ``metadata`` checkpoint never moved back, and the resume record is not behind it;
- every change up to the ``metadata`` checkpoint is durable: a fresh replay with ``until_ts`` = checkpoint
  equals the decoder's state at that commit-ts; the same holds for the resume record's checkpoint (a
  restart reads the source again only after it), checked on an in-memory copy whose ``metadata`` names it;
- a follower consumer that replays after every kill into one SQLite database (progress kept in the target)
  ends with every change applied exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storagecdc.consumer import Replayer, SqliteApplier, options_from_uri
from storagecdc.failpoints import FAILPOINTS_ENV, classify
from storagecdc.model import DDLEvent, RowChanges
from storagecdc.runtime.resume import RESUME_KEY
from storagecdc.source.stream import EventCounter, SchemaOptions, file_events
from storagecdc.source.txn import TransactionAssembler
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import METADATA_KEY
from storagecdc.storage.uri import open_store
from storagecdc.table_filter import TableFilter
from tests.consumer.test_binlog_end_to_end import Model, assert_replayed

CLI = ("-c", "import sys; from storagecdc.cli import main; sys.exit(main())")
IMMUTABLE = frozenset({"data", "schema", "syncpoint"})
RUN_TIMEOUT_S = 120


def cli(args: Sequence[str], *, failpoints: str = "",
        timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``storagecdc ARGS`` in a new process; ``failpoints`` is its ``STORAGECDC_FAILPOINTS``."""
    env = {k: v for k, v in os.environ.items() if k != FAILPOINTS_ENV}
    if failpoints:
        env[FAILPOINTS_ENV] = failpoints
    return subprocess.run([sys.executable, *CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


class Decoded:
    """The source's change stream from the decoder (``file_events`` + ``TransactionAssembler``)."""

    def __init__(self, path: Path) -> None:
        assembler = TransactionAssembler(SchemaOptions().tracker_factory, table_filter=TableFilter(["*.*"]))
        self.events: list[RowChanges | DDLEvent] = [
            e for e in assembler.feed(file_events(str(path), EventCounter())) if isinstance(e, RowChanges | DDLEvent)
        ]
        self.last_ts = max(e.commit_ts for e in self.events)

    def model_at(self, ts: int) -> Model:
        """The tables after every change with commit-ts at or below ``ts``."""
        model = Model()
        for event in self.events:
            if event.commit_ts > ts:
                break
            if isinstance(event, RowChanges):
                model.change(event)
            else:
                model.ddl(event)
        return model


def snapshot(store: ObjectStore) -> dict[str, str]:
    """SHA-256 of every listed object."""
    return {info.key: hashlib.sha256(store.get(info.key)).hexdigest() for info in store.list()}


def checkpoint_of(data: bytes) -> int:
    return int(json.loads(data)["checkpoint-ts"])


def assert_model(applier: SqliteApplier, model: Model, protocol: str) -> None:
    if model.tables:
        assert_replayed(applier, model, protocol)
    else:
        assert not applier.tables()


@dataclass
class CrashRun:
    """One changefeed (source, sink URI, run arguments) driven through kills and restarts."""

    uri: str
    run_args: list[str]
    decoded: Decoded
    workdir: Path
    snapshot: dict[str, str] = field(default_factory=dict)
    checkpoint: int = 0
    kills: list[str] = field(default_factory=list)
    follower_rows: int = 0
    checks: int = 0

    @property
    def protocol(self) -> str:
        return self.uri.split("protocol=", 1)[1].split("&", 1)[0]

    def store(self) -> ObjectStore:
        return open_store(self.uri)

    def run(self, failpoints: str = "") -> subprocess.CompletedProcess[str]:
        config = self.workdir / "changefeed.toml"
        if not config.exists():
            # A killed process keeps the owner record: the restart takes it over after the lease (1s).
            config.write_text('lease = "1s"\n')
        return cli(["run", "--config", str(config), "--sink-uri", self.uri, *self.run_args], failpoints=failpoints)

    def kill_at(self, failpoints: str) -> bool:
        """Run with ``failpoints`` and check the store; True if a failpoint killed it, False if it finished."""
        proc = self.run(failpoints)
        if proc.returncode == 0:
            assert "failpoint " not in proc.stderr
            self.check_after_kill()
            return False
        assert proc.returncode == -9, (failpoints, proc.returncode, proc.stderr[-2000:])
        fired = [line for line in proc.stderr.splitlines() if line.startswith("failpoint ")]
        assert len(fired) == 1, proc.stderr[-2000:]
        self.kills.append(fired[0])
        self.check_after_kill()
        return True

    def finish(self) -> None:
        """Restart without failpoints: the run must end normally."""
        proc = self.run()
        assert proc.returncode == 0, f"restart failed ({proc.returncode}): {proc.stderr[-2000:]}"
        self.check_after_kill()

    def check_after_kill(self) -> None:
        store = self.store()
        try:
            now = snapshot(store)
            for key, digest in self.snapshot.items():
                if classify(key) in IMMUTABLE:
                    assert now.get(key) == digest, f"{key} changed or vanished after {self.kills[-1:]}"
            self.snapshot = now
            if METADATA_KEY not in now:
                assert self.checkpoint == 0
                return
            checkpoint = checkpoint_of(store.get(METADATA_KEY))
            assert checkpoint >= self.checkpoint, "the checkpoint moved back"
            self.checkpoint = checkpoint
            self._check_durable(store, checkpoint, "metadata")
            if RESUME_KEY in now:
                resume = checkpoint_of(store.get(RESUME_KEY))
                assert resume >= checkpoint, "the resume record is behind the metadata checkpoint"
                if resume > checkpoint:
                    copy = MemoryStore()
                    for key in now:
                        copy.put(key, store.get(key))
                    copy.put(METADATA_KEY, json.dumps({"checkpoint-ts": resume}).encode())
                    self._check_durable(copy, resume, "resume")
            self._follow(store, checkpoint)
        finally:
            store.close()

    def _check_durable(self, store: ObjectStore, ts: int, what: str) -> None:
        """A fresh replay up to ``ts`` equals the decoder's state at ``ts``."""
        self.checks += 1
        db = self.workdir / f"check-{self.checks}.db"
        applier = SqliteApplier(db)
        try:
            stats = Replayer(store, applier, options_from_uri(self.uri)).run(until_ts=ts)
            assert stats.checkpoint is not None and stats.checkpoint >= ts, (what, stats)
            try:
                assert_model(applier, self.decoded.model_at(ts), self.protocol)
            except AssertionError as exc:
                raise AssertionError(f"{what} checkpoint {ts} names data that is not durable "
                                     f"after {self.kills[-1:]}: {exc}") from exc
        finally:
            applier.close()
            db.unlink()

    def _follow(self, store: ObjectStore, checkpoint: int) -> None:
        """The follower consumer catches up to ``checkpoint`` and must match the decoder there."""
        applier = SqliteApplier(self.workdir / "follower.db")
        try:
            stats = Replayer(store, applier, options_from_uri(self.uri)).run(until_ts=checkpoint)
            self.follower_rows += stats.rows
            assert_model(applier, self.decoded.model_at(checkpoint), self.protocol)
        finally:
            applier.close()


def consume_cli(uri: str, db: Path) -> tuple[int, int]:
    """``storagecdc consume`` into SQLite ``db``: (rows applied, duplicates skipped) from its summary line."""
    proc = cli(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = proc.stderr.strip().splitlines()[-1]
    words = summary.replace(",", "").split()
    applied = int(words[words.index("rows") - 1])
    skipped = int(words[words.index("duplicates") - 1])
    return applied, skipped
