"""``verify(VerifyOptions)``: the SOURCE vs OUTPUT comparison at a consistent cut, and TARGET vs OUTPUT.

SOURCE vs OUTPUT: ``snapshot.align`` finds a source snapshot whose binlog position is the output's resume
position; the output is replayed (``replay.replay_output``) up to that checkpoint while the snapshot stays
open, and every selected table is compared (``compare``). Guarantee: with commit-ts in the files (Parquet,
CSV with include-commit-ts, canal-json with the TiDB extension) the replay holds exactly the transactions at
or before the snapshot's position, so any difference is a real one. Without commit-ts the replay takes whole
files up to the checkpoint and the resume record is checked again afterwards; that is exact only while the
changefeed is not writing past the checkpoint (stopped, or the source quiescent).

TARGET vs OUTPUT: the target's own progress names the checkpoint it was consumed to (a ``consume --until`` or
``--syncpoint`` target included); the output is replayed to that same commit-ts and compared.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from storagecdc.consumer import ConsumerOptions, options_from_uri
from storagecdc.errors import ConfigError
from storagecdc.runtime.resume import read_resume
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.uri import open_store
from storagecdc.table_filter import TableFilter
from storagecdc.verify.compare import TableResult, compare
from storagecdc.verify.replay import Replayed, cuts_by_commit_ts, open_target, replay_output
from storagecdc.verify.sides import MySqlSide, Side
from storagecdc.verify.snapshot import CannotVerify, align


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    sink_uri: str
    source: str | None = None
    """``mysql://user:password@host:port/``: the live source (None: no SOURCE comparison)."""
    target: str | None = None
    """A consumed database (``sqlite:///path.db`` or ``mysql://...``); None: no TARGET comparison."""
    filter_rules: tuple[str, ...] = ("*.*",)
    wait_s: float = 60.0
    chunk_size: int = 10_000
    max_rows: int = 10
    poll_s: float = 0.2

    def __post_init__(self) -> None:
        if not self.source and not self.target:
            raise ConfigError("verify needs --source, --target or both")
        if self.chunk_size < 1 or self.max_rows < 0 or self.wait_s < 0:
            raise ConfigError("--chunk-size must be positive, --max-rows and --wait not negative")


@dataclass(slots=True)
class Comparison:
    """One pair of sides compared at one commit-ts."""

    a: str
    b: str
    commit_ts: int | None
    where: str
    results: list[TableResult] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(r.equal for r in self.results)


def verify(options: VerifyOptions) -> list[Comparison]:
    """Run the comparisons ``options`` ask for; ``CannotVerify`` when no consistent cut was found."""
    consumer_options = options_from_uri(options.sink_uri)  # a bad sink option fails before anything opens
    store = open_store(options.sink_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="storagecdc-verify-") as tmp:
            run = _Run(options, consumer_options, TableFilter(options.filter_rules), store, Path(tmp))
            try:
                out: list[Comparison] = []
                if options.source:
                    out.append(run.against_source(options.source))
                if options.target:
                    out.append(run.against_target(options.target))
                return out
            finally:
                run.close()
    finally:
        store.close()


@dataclass
class _Run:
    options: VerifyOptions
    consumer_options: ConsumerOptions
    table_filter: TableFilter
    store: ObjectStore
    tmp: Path
    replays: list[Replayed] = field(default_factory=list)

    def close(self) -> None:
        for r in self.replays:
            r.close()

    def replay(self, checkpoint: int) -> Replayed:
        """The output replayed up to ``checkpoint`` (one replay per checkpoint)."""
        for r in self.replays:
            if r.checkpoint == checkpoint:
                return r
        r = replay_output(self.store, self.consumer_options, self.tmp / f"output-{len(self.replays)}.db",
                          checkpoint, self.table_filter)
        self.replays.append(r)
        return r

    def _compare(self, a: Side, out: Replayed) -> list[TableResult]:
        return compare(a, out.side, out.infos, chunk_size=self.options.chunk_size, max_rows=self.options.max_rows)

    def against_source(self, source_uri: str) -> Comparison:
        cut = align(source_uri, self.store, self.table_filter, wait_s=self.options.wait_s,
                    poll_s=self.options.poll_s)
        try:
            out = self.replay(cut.until_ts)
            pos = cut.snapshot.position
            if out.checkpoint is None or out.checkpoint < cut.last_commit_ts:
                raise CannotVerify(f"the output's metadata checkpoint ({out.checkpoint}) is short of the source "
                                   f"snapshot's last commit-ts {cut.last_commit_ts}, and its files carry no "
                                   "commit-ts to cut at the resume record's checkpoint (write with "
                                   "include-commit-ts=true)")
            if not cuts_by_commit_ts(self.consumer_options):
                record = read_resume(self.store)
                now = (record.state.position.file, record.state.position.offset) if record is not None else None
                if now != pos:
                    raise CannotVerify("the output moved past the source snapshot while being replayed, and its "
                                       "files carry no commit-ts to cut at (write with include-commit-ts=true)")
            source = MySqlSide("source", cut.snapshot.conn, self.table_filter)
            return Comparison("source", "output", cut.until_ts, f"binlog {pos[0]}:{pos[1]}",
                              self._compare(source, out))
        finally:
            cut.snapshot.close()

    def against_target(self, target_uri: str) -> Comparison:
        target = open_target(target_uri, self.table_filter)
        try:
            if not target.checkpoint:
                raise CannotVerify("the target has consumed nothing yet (no checkpoint in its progress)")
            out = self.replay(target.checkpoint)
            if out.checkpoint != target.checkpoint:
                raise CannotVerify(f"the target is at checkpoint {target.checkpoint}, the output replays to "
                                   f"{out.checkpoint}")
            return Comparison("target", "output", target.checkpoint, "the target's checkpoint",
                              self._compare(target.side, out))
        finally:
            target.close()
