"""Table schemas at every point of the stream: DDL tracking, TABLE_MAP metadata and initial schemas.

``SchemaTracker`` is the one stateful object; ``parse_ddl`` and ``parse_type_text`` are exposed for tools
and tests.
"""

from .columnops import MARIADB, MYSQL
from .parse import is_dml, parse_ddl
from .sqltypes import TypeSpec, parse_type_text
from .tracker import SchemaTracker

__all__ = ["MARIADB", "MYSQL", "SchemaTracker", "TypeSpec", "is_dml", "parse_ddl", "parse_type_text"]
