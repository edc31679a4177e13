"""SQL workloads for the live tests and the differential (live vs files vs SELECT) tests.

``all_types_ddl.sql`` covers every value type of ``storagecdc.model``'s docstring and every DDL form the
schema tracker must follow, with DML between the DDLs (see the file's comments). It writes into one
database (``database``, which must exist) and creates and drops a second one (``second_database``).
Sessions run with ``time_zone = '+00:00'``: compare TIMESTAMP values from SELECT in UTC too.
"""

from __future__ import annotations

from pathlib import Path

WORKLOADS = Path(__file__).resolve().parent
ALL_TYPES_DDL = "all_types_ddl.sql"

ALL_TYPES_DDL_TABLES = ("all_types", "t_myisam", "t_ctas", "a/b", ".. renamed", "名前 表")
"""The tables of ``database`` that still exist when ``all_types_ddl.sql`` has run."""


def workload_sql(name: str, database: str, second_database: str | None = None) -> str:
    """The workload ``name`` with its database placeholders filled in."""
    second = second_database or f"{database[:56]}_2"
    for db in (database, second):
        if "'" in db or "`" in db or not db:
            raise ValueError(f"database name {db!r} must be non-empty without quotes")
    return (WORKLOADS / name).read_text().replace("@DB2@", second).replace("@DB@", database)
