"""``DispatcherNode``: the dispatchers hosted by one node, wired to the transport."""

from __future__ import annotations

from collections.abc import Callable

from storagecdc.dispatcher.block import BlockingDispatcher
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.messages import (
    MAINTAINER,
    TRIGGER_ID,
    Ack,
    BarrierAction,
    CheckpointAdvance,
    Message,
    Transport,
)


class DispatcherNode:
    """Delivers the maintainer's messages to the dispatchers it hosts, and sends their reports."""

    def __init__(self, name: str, transport: Transport) -> None:
        self.name = name
        self.dispatchers: dict[str, BlockingDispatcher] = {}
        self._transport = transport
        transport.register(name, self._handle)

    def emitter(self) -> Callable[[Message], None]:
        """The ``emit`` callback for a dispatcher hosted here."""

        def emit(msg: Message) -> None:
            self._transport.send(self.name, MAINTAINER, msg)

        return emit

    def add(self, dispatcher: BlockingDispatcher) -> None:
        self.dispatchers[dispatcher.dispatcher_id] = dispatcher

    def remove(self, dispatcher_id: str) -> BlockingDispatcher | None:
        """Close and forget a dispatcher (its unflushed buffers are dropped); returns it."""
        d = self.dispatchers.pop(dispatcher_id, None)
        if isinstance(d, TableDispatcher):
            d.close()
        return d

    def tick(self, heartbeat: bool) -> None:
        """Resend unacknowledged WAITING reports; with ``heartbeat`` also report every dispatcher's state."""
        emit = self.emitter()
        for d in list(self.dispatchers.values()):
            d.tick()
            if heartbeat:
                emit(d.heartbeat())

    def _handle(self, sender: str, msg: Message) -> None:
        if isinstance(msg, BarrierAction):
            for target in msg.targets:
                d = self.dispatchers.get(target)
                if d is not None:
                    d.on_action(msg)
        elif isinstance(msg, Ack):
            d = self.dispatchers.get(msg.dispatcher_id)
            if d is not None:
                d.on_ack(msg)
        elif isinstance(msg, CheckpointAdvance):
            trigger = self.dispatchers.get(TRIGGER_ID)
            if isinstance(trigger, TableTriggerDispatcher):
                trigger.write_checkpoint(msg.checkpoint_ts)
