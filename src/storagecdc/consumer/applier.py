"""The seam between the replayer and a target database: the ``Applier`` protocol and what crosses it.

The replayer turns each DDL's schema files into one ``DdlChange`` (what happened, structurally, plus the
statement text) and each table version's files into ``Change`` batches. An applier keeps one open target
transaction: ``apply_ddl`` and ``apply_changes`` work inside it and ``commit`` writes the replayer's progress
rows in the same transaction and commits. ``consumer.targets.open_applier`` picks the implementation by the
target URI: ``sqlite:///path.db`` (the embedded default) or ``mysql://user:password@host:port/[progress-db]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from storagecdc.consumer.changes import Change
from storagecdc.model import TableInfo, TableName


@dataclass(frozen=True, slots=True)
class TableChange:
    """A table that has these columns after the DDL; ``old`` is what the target holds under ``new``'s name
    before it (after the DDL's renames), None when the name is new to the target."""

    old: TableInfo | None
    new: TableInfo


@dataclass(frozen=True, slots=True)
class DdlChange:
    """One DDL, applied in this order: databases created, renames (in statement order), tables dropped,
    databases dropped, ``tables`` created or altered to their new columns, ``truncated`` emptied.

    ``query`` is the statement text ('' for a schema file written from the DML path, which only says which
    columns a table has) and ``schema`` the database its unqualified names refer to.
    """

    version: int
    query: str = ""
    ddl_type: int = 0
    schema: str = ""
    create_databases: tuple[str, ...] = ()
    renames: tuple[tuple[TableName, TableName], ...] = ()
    dropped: tuple[TableName, ...] = ()
    drop_databases: tuple[str, ...] = ()
    tables: tuple[TableChange, ...] = ()
    truncated: tuple[TableName, ...] = ()
    create_select: bool = False
    """The query is a CREATE ... SELECT: its rows arrive as DML, so the table is built from its columns."""


class Applier(Protocol):
    """A target database the replayer writes to. Not thread-safe; one owner."""

    @property
    def display_uri(self) -> str:
        """The target URI without its password."""
        ...

    def load_progress(self) -> dict[str, str]:
        """The progress rows the last ``commit`` wrote (empty for a new target)."""
        ...

    def apply_ddl(self, ddl: DdlChange) -> None: ...

    def apply_changes(self, table: TableInfo, changes: Sequence[Change]) -> None:
        """Apply row changes of one table in order (idempotent upserts for tables with a primary key)."""
        ...

    def commit(self, progress: Mapping[str, str]) -> None:
        """Write ``progress`` rows (upsert by key) and commit everything since the last commit."""
        ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

