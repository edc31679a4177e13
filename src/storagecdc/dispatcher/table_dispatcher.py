"""``TableDispatcher``: one table span's DML into its ``TableWriter``, and its side of the barrier."""

from __future__ import annotations

from collections.abc import Callable

from storagecdc.dispatcher.block import BlockEvent, BlockingDispatcher, write_block_event
from storagecdc.dispatcher.router import Span
from storagecdc.errors import BarrierProtocolError
from storagecdc.messages import CutEntry, Message
from storagecdc.model import DDLEvent, RowChanges, TableInfo
from storagecdc.sink.base import Sink, TableWriter


class TableDispatcher(BlockingDispatcher):
    """Buffers a span's DML into its writer; flushes before WAITING; writes table DDL when elected.

    Files of a split span are named by ``span.file_id`` (``CDC_<id>_<idx>``); a whole table's are plain.
    """

    def __init__(
        self, span: Span, table: TableInfo, sink: Sink, start_ts: int, emit: Callable[[Message], None]
    ) -> None:
        info = span.info()
        super().__init__(info.dispatcher_id, info, start_ts, emit)
        self.table_span = span
        self._file_id = info.file_id
        self.table = table
        self.dropped = False
        """True after the dispatcher passed a DDL that dropped (or renamed away) its table."""
        self._sink = sink
        # The schema file of the version it starts at (create-only: a DDL's own file, written by the barrier
        # before any dispatcher starts at that version, is kept); later versions' files are the DDL writer's.
        sink.write_table_schema(table)
        self._writer: TableWriter = sink.table_writer(table, self._file_id)
        self._files: tuple[int, tuple[str, ...]] | None = (0, ())
        """(writer's last index, its last key per directory) when taken; None after anything that may write
        (a file finishing its upload later changes the index)."""

    def append(self, changes: RowChanges) -> None:
        """Buffer a batch of this span's rows (the router already sliced it)."""
        if self.blocked or self.dropped:
            raise BarrierProtocolError(
                f"dispatcher {self.dispatcher_id}: DML at {changes.commit_ts} while "
                f"{'blocked at ' + str(self.pending_key) if self.blocked else 'dropped'}"
            )
        self._writer.append(changes)
        self._dirty = True
        self._files = None

    def maybe_flush(self, now_ms: int) -> None:
        """Flush when the writer's oldest buffered change is older than the flush interval."""
        if self._dirty and self._writer.flush_due(now_ms):
            self.flush()

    def close(self) -> None:
        """Drop buffers without writing (a move or crash: the successor replays from the checkpoint)."""
        self._writer.close()

    def _flush(self) -> None:
        self._writer.flush()
        self._files = None

    def _write(self, event: BlockEvent, cut: tuple[CutEntry, ...]) -> None:
        write_block_event(self._sink, event, cut)

    def _apply(self, event: BlockEvent) -> None:
        if not isinstance(event, DDLEvent):
            return
        name = self.table.name
        if name in event.dropped:
            self.dropped = True
        for t in event.new_tables:
            if t.name == name and not self.dropped:
                self._writer.close()
                self.table = t
                self._writer = self._sink.table_writer(t, self._file_id)
                self._files = (0, ())

    def cut_fields(self) -> tuple[int, str, int]:
        return self.table.version, self._file_id or "", self._writer.last_file_index()

    def cut_files(self) -> tuple[str, ...]:
        taken, last = self._files or (-1, ()), self._writer.last_file_index()
        if taken[0] != last:
            taken = self._files = (last, self._writer.last_file_keys())
        return taken[1]
