"""The table-trigger dispatcher: database-wide and all-table events, DDL creating or dropping tables."""

from __future__ import annotations

from collections.abc import Callable

from storagecdc.dispatcher.block import BlockEvent, BlockingDispatcher, write_block_event
from storagecdc.dispatcher.router import TRIGGER_SPAN
from storagecdc.messages import TRIGGER_ID, CutEntry, Message
from storagecdc.model import DDLEvent, SyncPointEvent
from storagecdc.sink.base import Sink


class TableTriggerDispatcher(BlockingDispatcher):
    """The changefeed's one dispatcher without a table: it writes the events no table dispatcher owns.

    It sees every DDL whose ``creates_or_drops`` is true (CREATE/DROP/RENAME TABLE, database DDL) and every
    syncpoint, and writes the ``metadata`` checkpoint the maintainer aggregates.
    """

    def __init__(self, sink: Sink, start_ts: int, emit: Callable[[Message], None]) -> None:
        super().__init__(TRIGGER_ID, TRIGGER_SPAN, start_ts, emit)
        self._sink = sink

    @staticmethod
    def wants(event: DDLEvent | SyncPointEvent) -> bool:
        """True when ``event`` blocks the table-trigger dispatcher."""
        return isinstance(event, SyncPointEvent) or event.creates_or_drops

    def write_checkpoint(self, checkpoint_ts: int) -> None:
        """Offer the aggregated checkpoint to the sink's ``metadata`` writer on every advance message.

        The sink ignores values it has stored and holds back writes closer than its interval, so a value
        held back is written by a later offer: remembering it here as written kept an idle changefeed's
        ``metadata`` behind its data for good."""
        self._sink.write_checkpoint(checkpoint_ts)

    def _flush(self) -> None:
        """The trigger buffers no DML."""

    def _apply(self, event: BlockEvent) -> None:
        """Table creation and removal are the maintainer's scheduling, nothing local."""

    def _write(self, event: BlockEvent, cut: tuple[CutEntry, ...]) -> None:
        write_block_event(self._sink, event, cut)
