"""``storagecdc verify``: prove that the output holds what the source holds, without a prior ``consume``.

Sides
    SOURCE, the live MySQL/MariaDB (``mysql://user:password@host:port/``); OUTPUT, the sink, replayed by
    verify itself with the real consumer into a temporary SQLite file; TARGET (optional), a database that
    ``storagecdc consume`` wrote (``sqlite:///...`` or ``mysql://...``). SOURCE is compared with OUTPUT, and
    TARGET with OUTPUT.

Consistency (``snapshot``)
    The source keeps changing while a changefeed lags, so the source is read inside one consistent-snapshot
    transaction whose binlog position is known (MariaDB: ``binlog_snapshot_file/position``, lock-free; MySQL:
    a brief FLUSH TABLES WITH READ LOCK). The output's resume record maps exactly one source position to a
    commit-ts: the position after its checkpoint's transaction. verify waits (``--wait``) until that
    position equals the snapshot's (or the binlog between them holds nothing the filter selects: ``gap``),
    re-taking the snapshot whenever the output has moved past it, and then replays the output up to that
    checkpoint. When the positions never meet in time it exits
    3: "the output lags" or "the source moved". Guarantee: with commit-ts in the files, OUTPUT holds exactly
    the transactions at or before the snapshot's position, so every reported difference is real. Syncpoint
    markers name no source position, so the source cannot be read at a syncpoint; a TARGET consumed with
    ``--syncpoint`` or ``--until`` is compared at its own checkpoint, which its progress names.

Comparison (``compare``, ``canonical``)
    Tables selected by the ``--filter`` rules; a table on one side only is a difference, and so are differing
    column sets. Per table: row counts, then multiset checksums of chunks of about ``--chunk-size`` rows over
    values canonicalised to one text per column type on both sides. Chunks are primary-key ranges when the
    key is one integer column, else buckets by a hash of the canonical key (of the whole row without a
    primary key): MySQL and SQLite order other keys differently, so ranges of them would not line up.
    Differing chunks are read again and up to ``--max-rows`` differing keys are printed with their values on
    both sides (``report``). Exit 0: equal; 1: a difference; 3: no consistent cut. Passwords are never
    printed.
"""

from __future__ import annotations

from storagecdc.verify.compare import RowDiff, TableResult, compare, compare_table
from storagecdc.verify.report import format_comparison
from storagecdc.verify.snapshot import CannotVerify, Cut, SourceSnapshot, align, take_snapshot
from storagecdc.verify.verifier import Comparison, VerifyOptions, verify

__all__ = [
    "CannotVerify",
    "Comparison",
    "Cut",
    "RowDiff",
    "SourceSnapshot",
    "TableResult",
    "VerifyOptions",
    "align",
    "compare",
    "compare_table",
    "format_comparison",
    "take_snapshot",
    "verify",
]
