"""The initial snapshot: a live source's tables read at one consistent point before the stream.

Import from the modules (the package imports nothing, so that a reader process starts light):

- ``run``: ``wants_snapshot``, ``plan_snapshot`` -> ``InitialSnapshot`` (``changes(feed, assembler)``),
  ``SnapshotOptions``, ``SnapshotStopped``;
- ``point``: ``take_point`` -> ``ConsistentPoint`` (readers in snapshots of one binlog position);
- ``workers``: ``serve`` (a reader), ``Reader`` (the changefeed's side of one), ``read_tables``;
- ``thread_reader``, ``process_reader``: ``ThreadReader`` (for Parquet), ``ProcessReader`` (a process of its
  own, ``python -m storagecdc.snapshot.reader_process``, for the row way);
- ``durable``: ``continuable``, ``durable_max_key``, ``has_rows`` (where an interrupted table continues);
- ``reader``: ``TablePlan``, ``read_table`` (key-ordered chunks, or one unbuffered pass without a key);
- ``state``: ``SnapshotRecord`` (``_storagecdc/snapshot.json``), which makes a snapshot resumable;
- ``gap``: ``drop_before``, the stream after a continued snapshot;
- ``progress``: ``SnapshotProgress``, the INFO progress lines.
"""
