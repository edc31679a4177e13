"""The project's one exception tree. Every error a user can see is one of these.

::

    StorageCdcError                 base; ``retryable`` says whether trying again can help
    ├── ConfigError                 bad option, URI or config file (exit code 2)
    ├── SourceError                 binlog bytes or server: names file/server and byte offset
    │   └── SchemaError             a table's columns unknown, or DDL that cannot be parsed
    ├── SinkError                   encoding or writing change files
    ├── StorageError                object store (S3 / local): names the key, never credentials
    │   ├── ObjectExistsError       a create-only write found the object already there
    │   └── ObjectNotFoundError     a read of an object that does not exist
    ├── BarrierProtocolError        a dispatcher/maintainer contract violation
    ├── FencedError                 another changefeed owns the sink prefix
    └── ConsumerError               reading the layout back or applying it to a target

Third-party errors are wrapped once, at the boundary that called the library, with ``raise ... from``.
"""

from __future__ import annotations


class StorageCdcError(Exception):
    """Base of every storagecdc error."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class ConfigError(StorageCdcError, ValueError):
    """An option, URI or config file is invalid; the message names the option."""


class SourceError(StorageCdcError):
    """The binlog or the server cannot be read; the message names the file or server and byte offset."""


class SchemaError(SourceError):
    """A table's columns are unknown at a position, or a DDL statement cannot be understood."""


class SinkError(StorageCdcError):
    """A change cannot be encoded or its file cannot be written."""


class StorageError(StorageCdcError):
    """The object store failed; the message names the key, never credentials."""


class ObjectExistsError(StorageError, FileExistsError):
    """A create-only write found an object at the key already."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """The object does not exist."""


class BarrierProtocolError(StorageCdcError):
    """A dispatcher or the maintainer broke the barrier protocol."""


class FencedError(StorageCdcError):
    """Another, newer changefeed process owns the sink prefix; this one must stop."""


class ConsumerError(StorageCdcError):
    """The output layout cannot be read back or applied to the target."""
