"""``FaultyTransport``: a seeded ``Transport`` that drops, duplicates, reorders and delays messages.

Messages are encoded to plain dicts on send and decoded on delivery, as between processes. Delivery picks a
random in-flight message, so any message can be overtaken by later ones (reorder, delay).
"""

from __future__ import annotations

import random
from typing import Any

from storagecdc.messages import Handler, Message, decode, encode


class FaultyTransport:
    """In-flight messages wait until the simulator delivers them one at a time, in random order."""

    def __init__(self, rng: random.Random, drop: float = 0.08, duplicate: float = 0.08) -> None:
        self._rng = rng
        self.drop = drop
        self.duplicate = duplicate
        self.faults = True
        self._handlers: dict[str, Handler] = {}
        self.in_flight: list[tuple[str, str, dict[str, Any]]] = []

    def register(self, address: str, handler: Handler) -> None:
        self._handlers[address] = handler

    def unregister(self, address: str) -> None:
        self._handlers.pop(address, None)

    def send(self, sender: str, to: str, msg: Message) -> None:
        if self.faults and self._rng.random() < self.drop:
            return
        wire = encode(msg)
        self.in_flight.append((sender, to, wire))
        if self.faults and self._rng.random() < self.duplicate:
            self.in_flight.append((sender, to, wire))

    def deliver_one(self) -> bool:
        """Deliver one random in-flight message; False when none is in flight."""
        if not self.in_flight:
            return False
        i = self._rng.randrange(len(self.in_flight)) if self.faults else 0
        sender, to, wire = self.in_flight.pop(i)
        handler = self._handlers.get(to)
        if handler is not None:
            handler(sender, decode(wire))
        return True
