"""The initial snapshot: a live source's tables read at one consistent point before the stream.

Import from the modules (the package imports nothing, so that a reader process starts light):

- ``run``: ``wants_snapshot``, ``plan_snapshot`` -> ``InitialSnapshot`` (``changes(feed, assembler)``),
  ``SnapshotOptions``, ``SnapshotStopped``;
- ``point``: ``take_point`` -> ``ConsistentPoint`` (reader processes in snapshots of one binlog position);
- ``workers``: ``Worker`` (a reader process, ``python -m storagecdc.snapshot.reader_process``), ``read_tables``;
- ``durable``: ``continuable``, ``durable_max_key``, ``has_rows`` (where an interrupted table continues);
- ``reader``: ``TablePlan``, ``read_table`` (key-ordered chunks, or one unbuffered pass without a key);
- ``state``: ``SnapshotRecord`` (``_storagecdc/snapshot.json``), which makes a snapshot resumable;
- ``gap``: ``drop_before``, the stream after a continued snapshot;
- ``progress``: ``SnapshotProgress``, the INFO progress lines.
"""
