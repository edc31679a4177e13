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
    Batch,
    CheckpointAdvance,
    Message,
    Outbox,
    Transport,
)


class DispatcherNode:
    """Delivers the maintainer's messages to the dispatchers it hosts, and sends their reports.

    Reports are batched: dispatchers' messages collect in the node's outbox and go out as one ``Batch``
    when the node has handled an incoming message, on ``tick``, and on ``flush`` (which whoever drives the
    dispatchers' input calls after a round of it).
    """

    def __init__(self, name: str, transport: Transport) -> None:
        self.name = name
        self.dispatchers: dict[str, BlockingDispatcher] = {}
        self._outbox = Outbox(name, transport)
        transport.register(name, self._receive)

    def emitter(self) -> Callable[[Message], None]:
        """The ``emit`` callback for a dispatcher hosted here."""
        return self._outbox.channel(MAINTAINER)

    def flush(self) -> None:
        """Send the reports collected so far."""
        self._outbox.flush()

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
        for d in list(self.dispatchers.values()):
            d.tick()
            if heartbeat:
                self._outbox.put(MAINTAINER, d.heartbeat())
        self._outbox.flush()

    def _receive(self, sender: str, msg: Message) -> None:
        for m in msg.messages if isinstance(msg, Batch) else (msg,):
            self._handle(m)
        self._outbox.flush()

    def _handle(self, msg: Message) -> None:
        if isinstance(msg, Ack):
            dispatchers = self.dispatchers
            for dispatcher_id in msg.dispatcher_ids:
                d = dispatchers.get(dispatcher_id)
                if d is not None:
                    d.on_ack(msg)
        elif isinstance(msg, BarrierAction):
            dispatchers = self.dispatchers
            for target in msg.targets:
                d = dispatchers.get(target)
                if d is not None:
                    d.on_action(msg)
        elif isinstance(msg, Batch):
            for m in msg.messages:
                self._handle(m)
        elif isinstance(msg, CheckpointAdvance):
            trigger = self.dispatchers.get(TRIGGER_ID)
            if isinstance(trigger, TableTriggerDispatcher):
                trigger.write_checkpoint(msg.checkpoint_ts)
