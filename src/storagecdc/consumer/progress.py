"""The replayer's own progress, kept in the target next to the data (``_storagecdc_progress``).

Rows of (key, value) text, changed ones written in the same target transaction as the changes they cover, so
a restarted ``consume`` continues exactly where the last commit left off:

- ``t<US><schema><US><table>`` -> JSON ``{"ddl": V, "done": {"<version>": ts}, "schema": <schema file>}``:
  the table's DDL watermark (version of the last DDL applied to the name; ``table`` '' for the database), per
  data version the commit-ts below which every row is applied, and the columns it has now (the schema file's
  JSON, null when the name holds no table).
- ``s<US><data dir key prefix><US><dispatcher>`` -> the last data file index fully applied in that span.
- ``checkpoint`` -> the checkpoint of the last completed round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from storagecdc.errors import ConsumerError
from storagecdc.model import TableInfo, TableName
from storagecdc.storage.schema_file import SchemaFile, parse_schema_file

PROGRESS_TABLE = "_storagecdc_progress"
_SEP = "\x1f"


@dataclass(slots=True)
class TableState:
    ddl: int = 0
    """Version of the last DDL applied to this name (0: none yet)."""
    done: dict[int, int] = field(default_factory=dict)
    """Data version -> every row of that version with a smaller commit-ts is applied."""
    schema: SchemaFile | None = None
    """The columns the name holds now (None: no table, or columns not known yet)."""

    @property
    def info(self) -> TableInfo | None:
        return self.schema.to_table_info() if self.schema is not None and self.schema.columns else None


def span_key(dir_prefix: str, dispatcher: str | None) -> str:
    return f"{dir_prefix}{_SEP}{dispatcher or ''}"


class Progress:
    """In-memory progress; ``changed_rows`` gives the rows to write at the next commit."""

    def __init__(self) -> None:
        self.tables: dict[TableName, TableState] = {}
        self.spans: dict[str, int] = {}
        self.checkpoint = 0
        self._dirty_tables: set[TableName] = set()
        self._dirty_spans: set[str] = set()
        self._dirty_checkpoint = False

    def table(self, name: TableName) -> TableState:
        state = self.tables.get(name)
        if state is None:
            state = self.tables[name] = TableState()
        return state

    def touch(self, name: TableName) -> TableState:
        """The table's state, marked to be written at the next commit."""
        self._dirty_tables.add(name)
        return self.table(name)

    def set_span(self, key: str, index: int) -> None:
        if self.spans.get(key, 0) < index:
            self.spans[key] = index
            self._dirty_spans.add(key)

    def set_checkpoint(self, checkpoint: int) -> None:
        if checkpoint > self.checkpoint:
            self.checkpoint = checkpoint
            self._dirty_checkpoint = True

    def changed_rows(self) -> dict[str, str]:
        """The rows changed since the last call (the caller writes them in its transaction)."""
        rows: dict[str, str] = {}
        for name in self._dirty_tables:
            state = self.tables[name]
            doc = {"ddl": state.ddl, "done": {str(v): ts for v, ts in sorted(state.done.items())},
                   "schema": state.schema.to_json().decode("utf-8") if state.schema is not None else None}
            rows[f"t{_SEP}{name.schema}{_SEP}{name.table}"] = json.dumps(doc, separators=(",", ":"))
        for key in self._dirty_spans:
            rows[f"s{_SEP}{key}"] = str(self.spans[key])
        if self._dirty_checkpoint:
            rows["checkpoint"] = str(self.checkpoint)
        self._dirty_tables.clear()
        self._dirty_spans.clear()
        self._dirty_checkpoint = False
        return rows

    @classmethod
    def from_rows(cls, rows: Mapping[str, str]) -> Progress:
        progress = cls()
        try:
            for key, value in rows.items():
                if key == "checkpoint":
                    progress.checkpoint = int(value)
                elif key.startswith("s" + _SEP):
                    progress.spans[key[2:]] = int(value)
                elif key.startswith("t" + _SEP):
                    _, schema, table = key.split(_SEP)
                    doc = json.loads(value)
                    text = doc.get("schema")
                    progress.tables[TableName(schema, table)] = TableState(
                        int(doc["ddl"]), {int(v): int(ts) for v, ts in doc["done"].items()},
                        parse_schema_file(text.encode("utf-8"), key) if text is not None else None)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConsumerError(f"the target's {PROGRESS_TABLE} table is damaged: {exc}") from exc
        return progress
