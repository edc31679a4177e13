"""How far an interrupted snapshot of a table got: the largest primary key among its rows in storage.

A table's snapshot rows reach the sink in primary-key order and its writer writes them out in that order
(first in, first out, one file after another), so the rows in storage are exactly the rows up to the largest
key in its last data file, whatever the snapshot record says. That holds only for a table whose rows go to
one writer and one directory (not split into spans, no partition directories) and whose key order is the
same in Python as in SQL, that is, a key of integer columns only: ``continuable`` says which tables qualify.
Others are read again from the start after a TRUNCATE version (``snapshot.run``).
"""

from __future__ import annotations

from storagecdc.config import ChangefeedConfig
from storagecdc.consumer.decoders import reader_for
from storagecdc.consumer.options import consumer_options
from storagecdc.model import TableInfo
from storagecdc.sink.options import SinkOptions
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.paths import DATA_FILE_PREFIX, INDEX_SUFFIX, DataDir, parse_data_file_key

Key = tuple[int, ...]
_INTEGERS = frozenset({"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT"})


def continuable(config: ChangefeedConfig, info: TableInfo) -> bool:
    """Whether an interrupted snapshot of ``info`` can continue after its last durable key."""
    if not info.pk_indexes or any(info.columns[i].type_name not in _INTEGERS for i in info.pk_indexes):
        return False
    if str(info.name) in config.split_tables:
        return False
    return not (info.partition_ids and config.sink.enable_partition_separator)


def has_rows(store: ObjectStore, info: TableInfo) -> bool:
    """Whether table version ``info`` has any data file in storage."""
    prefix = DataDir(info.name.schema, info.name.table, info.version).key_prefix()
    for obj in store.list(prefix):
        name = obj.key.rsplit("/", 1)[-1]
        if name.startswith(DATA_FILE_PREFIX) and not name.endswith(INDEX_SUFFIX):
            return True
    return False


def durable_max_key(store: ObjectStore, options: SinkOptions, info: TableInfo) -> Key | None:
    """The largest key among the rows of table version ``info`` in storage (None: no rows there)."""
    params = {
        "protocol": options.protocol, "date-separator": options.date_separator,
        "output-old-value": str(options.output_old_value).lower(),
        "include-commit-ts": str(options.include_commit_ts).lower(),
        "output-field-header": str(options.output_field_header).lower(), "delimiter": options.delimiter,
        "quote": options.quote, "null": options.null, "terminator": options.terminator,
        "binary-encoding-method": options.binary_encoding_method,
        "enable-tidb-extension": str(options.enable_tidb_extension).lower(),
    }
    consumer = consumer_options(params)
    prefix = DataDir(info.name.schema, info.name.table, info.version).key_prefix()
    last = None
    for obj in store.list(prefix):
        parsed = parse_data_file_key(obj.key, consumer.date_separator)
        if parsed is None or parsed.dir.version != info.version or parsed.dispatcher_id:
            continue
        order = (parsed.dir.date, parsed.index)
        if last is None or order > last[0]:
            last = (order, obj.key, parsed.ext)
    if last is None:
        return None
    _, key, ext = last
    reader = reader_for(info, ext, consumer)
    pk = info.pk_indexes
    best: Key | None = None
    for change in reader.changes(store.get(key), key):
        value = tuple(int(change.row[i]) for i in pk)
        if best is None or value > best:
            best = value
    return best
