"""The changefeed's automatic splits: which tables to split when, and what the resume record keeps of them.

An automatic split of table ``t`` into ``K`` spans happens at the commit of one transaction (commit-ts
``S``): the whole table's dispatcher holds the changes ``<= S``, the ``K`` spans the later ones. The resume
record lists every split in effect as ``AutoSplit(t, K, S)`` so that a restart keeps the layout:

- a split at or below the restart's checkpoint is in effect from the start: the table is created with its
  ``K`` spans, the ids ``split-tables`` would give it, so they continue their own files;
- a split above it is done again at the first commit at or after ``S`` (the same transaction, since
  commit-ts are deterministic), whatever the rate measured since the restart.

A table that is dropped (or renamed away) forgets its split: a table created under that name starts whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storagecdc.dispatcher.autosplit import AutoSplitPolicy
from storagecdc.messages import parse_table_key, table_key
from storagecdc.model import TableName

if TYPE_CHECKING:
    from storagecdc.dispatcher.table_dispatcher import TableDispatcher
    from storagecdc.maintainer.maintainer import Maintainer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AutoSplit:
    """Table ``table`` (``schema.table`` key) was split into ``parts`` spans after the commit at ``commit_ts``."""

    table: str
    parts: int
    commit_ts: int

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "parts": self.parts, "commit-ts": self.commit_ts}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AutoSplit:
        return cls(str(doc["table"]), int(doc["parts"]), int(doc["commit-ts"]))


@dataclass(frozen=True, slots=True)
class SplitDecision:
    """Split ``table`` into ``parts`` spans now; ``rate`` is the measured rows/s (None: redone after a restart)."""

    table: TableName
    parts: int
    rate: float | None


class AutoSplits:
    """The policy (when configured) plus the splits in effect and those to redo after a restart."""

    def __init__(self, policy: AutoSplitPolicy | None, restored: tuple[AutoSplit, ...], start_ts: int) -> None:
        self.policy = policy
        self._in_effect: dict[str, AutoSplit] = {s.table: s for s in restored}
        self._redo: dict[TableName, AutoSplit] = {
            parse_table_key(s.table): s for s in restored if s.commit_ts > start_ts
        }

    @property
    def active(self) -> bool:
        """True when anything can ever be split (a policy, or a split to redo)."""
        return self.policy is not None or bool(self._redo)

    def split_counts(self) -> dict[str, int]:
        """Spans of the tables split at or before the start: the maintainer creates them split."""
        redo = {s.table for s in self._redo.values()}
        return {key: s.parts for key, s in self._in_effect.items() if key not in redo}

    def due(self, commit_ts: int) -> list[SplitDecision]:
        """The tables to split at the commit of ``commit_ts``, by name."""
        out = [SplitDecision(name, s.parts, None) for name, s in sorted(self._redo.items()) if s.commit_ts <= commit_ts]
        if self.policy is not None:
            redone = {d.table for d in out}
            out += [SplitDecision(name, self.policy.parts, rate) for name, rate in self.policy.due(commit_ts)
                    if name not in redone]
        return out

    def split(self, decision: SplitDecision, whole: TableDispatcher | None, maintainer: Maintainer,
              commit_ts: int) -> bool:
        """Carry out ``decision`` after the commit at ``commit_ts``: the table's ``whole`` dispatcher makes its
        changes (all <= commit_ts) durable, data then index files, and the maintainer closes it and creates
        the spans, which start after commit_ts. False (and the table is forgotten) when the table is not whole
        or cannot be split (it has no primary key any more)."""
        name = decision.table
        if whole is not None:
            whole.resolved(commit_ts + 1)
            whole.flush()
        if whole is None or not maintainer.split(whole.dispatcher_id, decision.parts):
            self.forget(name)
            return False
        self.forget(name)
        key = table_key(name)
        self._in_effect[key] = AutoSplit(key, decision.parts, commit_ts)
        if decision.rate is None:
            log.info("table %s split into %d spans at commit-ts %d again (the resumed run's split)", name,
                     decision.parts, commit_ts)
        else:
            assert self.policy is not None
            log.info("table %s split into %d spans at commit-ts %d: %.1f rows/s over the last %d s of commit-ts "
                     "time, above split-rows-per-second %d", name, decision.parts, commit_ts, decision.rate,
                     self.policy.window_ms // 1000, self.policy.rows_per_second)
        return True

    def forget(self, table: TableName) -> None:
        """``table`` is gone (dropped, renamed away) or can no longer be split: nothing to split or redo."""
        self._redo.pop(table, None)
        self._in_effect.pop(table_key(table), None)
        if self.policy is not None:
            self.policy.unwatch(table)

    def records(self) -> tuple[AutoSplit, ...]:
        """Every split in effect or still to redo, for the resume record, by table."""
        return tuple(sorted(self._in_effect.values(), key=lambda s: s.table))
