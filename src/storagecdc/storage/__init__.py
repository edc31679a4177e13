"""The output format shared by sink and consumer, and the object stores (the only boto3 user).

- ``base``: the ``ObjectStore`` protocol; ``s3``, ``local``, ``memory``: its implementations; ``uri``:
  ``open_store(uri)`` and ``redact_uri``; ``retry``: the backoff loop. ``S3Store`` (and with it boto3, about
  0.1 s of start-up) is imported on first use, so a run on a local directory never loads boto3.
- ``paths`` and ``names``: object keys (build_*/parse_* pairs) and the reversible name encoding.
- ``schema_file``, ``checkpoint``, ``syncpoint``, ``owner``: the JSON objects of the layout.
"""

from __future__ import annotations

from storagecdc.storage.base import ObjectInfo, ObjectStore, check_key
from storagecdc.storage.checkpoint import CheckpointWriter, build_checkpoint, parse_checkpoint, read_checkpoint
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import MemoryStore, named_memory_store
from storagecdc.storage.names import decode_segment, encode_segment
from storagecdc.storage.owner import OwnerLease, OwnerRecord, parse_owner
from storagecdc.storage.paths import (
    METADATA_KEY,
    OWNER_KEY,
    SYNCPOINT_PREFIX,
    DataDir,
    DataFileKey,
    DateSeparator,
    IndexFileKey,
    SchemaFileKey,
    build_data_file_key,
    build_index_content,
    build_index_file_key,
    build_schema_file_key,
    build_syncpoint_key,
    clamp_file_index_digit,
    data_file_name,
    parse_data_file_key,
    parse_index_content,
    parse_index_file_key,
    parse_schema_file_key,
    parse_syncpoint_key,
    replay_order,
    table_key_prefix,
)
from storagecdc.storage.retry import RetryPolicy, call_with_retry
from storagecdc.storage.s3_options import S3Options
from storagecdc.storage.schema_file import (
    SchemaColumn,
    SchemaFile,
    column_from_info,
    column_to_info,
    parse_schema_file,
    schema_file_for_database,
    schema_file_for_table,
)
from storagecdc.storage.syncpoint import SyncpointMarker, SyncpointTable, parse_syncpoint
from storagecdc.storage.uri import STORE_OPTION_KEYS, open_store, redact_uri, split_store_options

__all__ = [
    "METADATA_KEY",
    "OWNER_KEY",
    "STORE_OPTION_KEYS",
    "SYNCPOINT_PREFIX",
    "CheckpointWriter",
    "DataDir",
    "DataFileKey",
    "DateSeparator",
    "IndexFileKey",
    "LocalStore",
    "MemoryStore",
    "ObjectInfo",
    "ObjectStore",
    "OwnerLease",
    "OwnerRecord",
    "RetryPolicy",
    "S3Options",
    "S3Store",
    "SchemaColumn",
    "SchemaFile",
    "SchemaFileKey",
    "SyncpointMarker",
    "SyncpointTable",
    "build_checkpoint",
    "build_data_file_key",
    "build_index_content",
    "build_index_file_key",
    "build_schema_file_key",
    "build_syncpoint_key",
    "call_with_retry",
    "check_key",
    "clamp_file_index_digit",
    "column_from_info",
    "column_to_info",
    "data_file_name",
    "decode_segment",
    "encode_segment",
    "named_memory_store",
    "open_store",
    "parse_checkpoint",
    "parse_data_file_key",
    "parse_index_content",
    "parse_index_file_key",
    "parse_owner",
    "parse_schema_file",
    "parse_schema_file_key",
    "parse_syncpoint",
    "parse_syncpoint_key",
    "read_checkpoint",
    "redact_uri",
    "replay_order",
    "schema_file_for_database",
    "schema_file_for_table",
    "split_store_options",
    "table_key_prefix",
]


def __getattr__(name: str) -> object:
    if name == "S3Store":
        from storagecdc.storage.s3 import S3Store  # noqa: PLC0415 (boto3 loads only when S3 is used)

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
