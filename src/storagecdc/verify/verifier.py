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

from storagecdc.consumer import options_from_uri
from storagecdc.errors import ConfigError
from storagecdc.runtime.resume import read_resume
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.uri import open_store
from storagecdc.table_filter import TableFilter
from storagecdc.verify.compare import TableResult, compare
from storagecdc.verify.replay import Replayed, cuts_by_commit_ts, open_target, replay_output
from storagecdc.verify.sides import MySqlSide
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
    options_from_uri(options.sink_uri)  # a bad sink option is a ConfigError before anything is opened
    store = open_store(options.sink_uri)
    replays: list[Replayed] = []
    try:
        with tempfile.TemporaryDirectory(prefix="storagecdc-verify-") as tmp:
            try:
                out: list[Comparison] = []
                if options.source:
                    out.append(_against_source(options, store, Path(tmp), replays))
                if options.target:
                    out.append(_against_target(options, store, Path(tmp), replays))
                return out
            finally:
                for r in replays:
                    r.close()
    finally:
        store.close()


def _replay(options: VerifyOptions, store: ObjectStore, tmp: Path, until: int | None,
            replays: list[Replayed]) -> Replayed:
    for r in replays:
        if r.checkpoint == until:
            return r
    consumer_options = options_from_uri(options.sink_uri)
    r = replay_output(store, consumer_options, tmp / f"output-{len(replays)}.db", until,
                      TableFilter(options.filter_rules))
    replays.append(r)
    return r


def _against_source(options: VerifyOptions, store: ObjectStore, tmp: Path, replays: list[Replayed]) -> Comparison:
    assert options.source is not None
    cut = align(options.source, store, wait_s=options.wait_s, poll_s=options.poll_s)
    try:
        out = _replay(options, store, tmp, cut.until_ts, replays)
        pos = cut.snapshot.position
        if out.checkpoint is None or out.checkpoint < cut.last_commit_ts:
            raise CannotVerify(f"the output's metadata checkpoint ({out.checkpoint}) is short of the source "
                               f"snapshot's last commit-ts {cut.last_commit_ts}, and its files carry no commit-ts "
                               "to cut at the resume record's checkpoint (write with include-commit-ts=true)")
        if not cuts_by_commit_ts(options_from_uri(options.sink_uri)):
            record = read_resume(store)
            now = (record.state.position.file, record.state.position.offset) if record is not None else None
            if now != pos:
                raise CannotVerify("the output moved past the source snapshot while being replayed, and its files "
                                   "carry no commit-ts to cut at (write with include-commit-ts=true)")
        source = MySqlSide("source", cut.snapshot.conn, TableFilter(options.filter_rules))
        results = compare(source, out.side, out.infos, chunk_size=options.chunk_size, max_rows=options.max_rows)
        return Comparison("source", "output", cut.until_ts, f"binlog {pos[0]}:{pos[1]}", results)
    finally:
        cut.snapshot.close()


def _against_target(options: VerifyOptions, store: ObjectStore, tmp: Path, replays: list[Replayed]) -> Comparison:
    assert options.target is not None
    target = open_target(options.target, TableFilter(options.filter_rules))
    try:
        if not target.checkpoint:
            raise CannotVerify("the target has consumed nothing yet (no checkpoint in its progress)")
        out = _replay(options, store, tmp, target.checkpoint, replays)
        if out.checkpoint != target.checkpoint:
            raise CannotVerify(f"the target is at checkpoint {target.checkpoint}, the output replays to "
                               f"{out.checkpoint}")
        results = compare(target.side, out.side, out.infos, chunk_size=options.chunk_size,
                          max_rows=options.max_rows)
        return Comparison("target", "output", target.checkpoint, "the target's checkpoint", results)
    finally:
        target.close()
