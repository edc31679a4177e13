"""The initial snapshot: a live source's tables read at one consistent point before the stream.

- ``run``: ``wants_snapshot``, ``plan_snapshot`` -> ``InitialSnapshot`` (``changes(feed, assembler)``),
  ``SnapshotOptions``, ``SnapshotStopped``;
- ``point``: ``take_point`` -> ``ConsistentPoint`` (reader processes in snapshots of one binlog position);
- ``workers``: ``Worker`` (a reader process, ``python -m storagecdc.snapshot.workers``), ``read_tables``;
- ``durable``: ``continuable``, ``durable_max_key``, ``has_rows`` (where an interrupted table continues);
- ``reader``: ``TablePlan``, ``read_table`` (key-ordered chunks, or one unbuffered pass without a key);
- ``state``: ``SnapshotRecord`` (``_storagecdc/snapshot.json``), which makes a snapshot resumable;
- ``gap``: ``drop_before``, the stream after a continued snapshot;
- ``progress``: ``SnapshotProgress``, the INFO progress lines.
"""

from storagecdc.snapshot.run import InitialSnapshot, SnapshotOptions, SnapshotStopped, plan_snapshot, wants_snapshot
from storagecdc.snapshot.state import SNAPSHOT_KEY, SnapshotRecord, read_snapshot_record

__all__ = [
    "SNAPSHOT_KEY",
    "InitialSnapshot",
    "SnapshotOptions",
    "SnapshotRecord",
    "SnapshotStopped",
    "plan_snapshot",
    "read_snapshot_record",
    "wants_snapshot",
]
