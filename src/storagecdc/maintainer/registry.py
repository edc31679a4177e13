"""``SpanRegistry``: the maintainer's view of which dispatchers exist, where, and how far they are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from storagecdc.messages import TRIGGER_ID, SpanInfo, schema_of

_NO_FILES: Mapping[str, int] = MappingProxyType({})


@dataclass(slots=True)
class DispatcherEntry:
    """One live dispatcher: its span, its node, its last reported checkpoint."""

    dispatcher_id: str
    span: SpanInfo
    node: str
    checkpoint_ts: int


class SpanRegistry:
    """Live dispatchers by id and by table, plus per table version the last file index each file id reached.

    The file-index history lets a syncpoint cut name the files of spans that were merged or split away.
    """

    def __init__(self) -> None:
        self._entries: dict[str, DispatcherEntry] = {}
        self.get: Callable[[str], DispatcherEntry | None] = self._entries.get
        """The live dispatcher of an id (the dict's own ``get``: the barrier asks several times per report)."""
        self._by_table: dict[str, dict[str, DispatcherEntry]] = {}
        self._per_schema: dict[str, int] = {}
        self.generation = 0
        """Incremented by every add and remove (cached counts compare it)."""
        self._file_index: dict[tuple[str, int], dict[str, int]] = {}

    def add(self, entry: DispatcherEntry) -> None:
        self.remove(entry.dispatcher_id)
        self.generation += 1
        self._entries[entry.dispatcher_id] = entry
        if entry.dispatcher_id != TRIGGER_ID:
            self._by_table.setdefault(entry.span.table, {})[entry.dispatcher_id] = entry
            schema = schema_of(entry.span.table)
            self._per_schema[schema] = self._per_schema.get(schema, 0) + 1

    def remove(self, dispatcher_id: str) -> DispatcherEntry | None:
        entry = self._entries.pop(dispatcher_id, None)
        self.generation += 1
        if entry is not None and dispatcher_id != TRIGGER_ID:
            spans = self._by_table[entry.span.table]
            del spans[dispatcher_id]
            if not spans:
                del self._by_table[entry.span.table]
            self._per_schema[schema_of(entry.span.table)] -= 1
        return entry

    def live(self, dispatcher_id: str, span: SpanInfo | None = None) -> bool:
        """True when the dispatcher exists (and, given ``span``, still serves exactly that span)."""
        e = self._entries.get(dispatcher_id)
        return e is not None and (span is None or e.span == span)

    def entries(self) -> list[DispatcherEntry]:
        return list(self._entries.values())

    def tables(self) -> list[str]:
        return sorted(self._by_table)

    def tables_in(self, schema: str) -> list[str]:
        return [t for t in sorted(self._by_table) if schema_of(t) == schema]

    def count(self, table: str | None = None, schema: str | None = None) -> int:
        """How many table dispatchers exist: of ``table``, of the tables of ``schema``, or of all tables."""
        if table is not None:
            return len(self._by_table.get(table, ()))
        if schema is not None:
            return self._per_schema.get(schema, 0)
        return len(self._entries) - (TRIGGER_ID in self._entries)

    def dispatchers_of(self, table: str) -> list[DispatcherEntry]:
        return sorted(self._by_table.get(table, {}).values(), key=lambda e: e.span.lo)

    def update_checkpoint(self, dispatcher_id: str, checkpoint_ts: int) -> None:
        e = self._entries.get(dispatcher_id)
        if e is not None and checkpoint_ts > e.checkpoint_ts:
            e.checkpoint_ts = checkpoint_ts

    def note_file_index(self, table: str, version: int, file_id: str, index: int) -> None:
        files = self._file_index.setdefault((table, version), {})
        if index > files.get(file_id, 0):
            files[file_id] = index

    def file_indexes(self, table: str, version: int) -> Mapping[str, int]:
        """Every file id that wrote files of ``table`` at ``version``, with its highest known index (a
        read-only view, not a copy: a syncpoint cut reads it for every table)."""
        return self._file_index.get((table, version), _NO_FILES)

    def min_checkpoint(self) -> int | None:
        """The smallest checkpoint of any live dispatcher (None when there are none)."""
        return min((e.checkpoint_ts for e in self._entries.values()), default=None)
