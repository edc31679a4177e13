"""The dispatcher <-> maintainer contract: plain, serialisable messages and the ``Transport`` seam.

Everything here is data of ints, strs, bools and enums, so it can cross processes and machines: every message
has ``to_dict`` and a ``from_dict`` classmethod, and ``encode``/``decode`` turn any message into a dict tagged
with its kind. The maintainer knows dispatchers only through these messages (DESIGN.md, barrier protocol).

Addresses on a ``Transport`` are node names (``"maintainer"``, ``"node-1"``...); messages for dispatchers
name the dispatcher ids inside, and the node hosting them delivers them.

Messages are never modified after construction; the high-volume ones are plain (not frozen) slotted
dataclasses only because constructing frozen ones costs several times more, once per dispatcher per barrier.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from storagecdc.model import TableName

MAINTAINER = "maintainer"
"""The maintainer's transport address."""

TRIGGER_ID = "table-trigger"
"""The dispatcher id of the changefeed's one table-trigger dispatcher."""


class BlockStage(enum.Enum):
    """Where a dispatcher is with a block event."""

    WAITING = "waiting"
    """DML < T is durable; waiting for the maintainer's action."""
    WRITING = "writing"
    """Elected writer, applying the block event to storage."""
    DONE = "done"
    """The action is complete; ``done_action`` says which."""


class Action(enum.Enum):
    """What the maintainer tells a blocked dispatcher to do."""

    WRITE = "write"
    PASS = "pass"


DoneAction = Action
"""The action a DONE report completes (the same two values)."""


class BlockKey(NamedTuple):
    """Identity of a block event: its commit-ts and whether it is a syncpoint (a tuple: cheap to hash)."""

    commit_ts: int
    is_syncpoint: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"commit_ts": self.commit_ts, "is_syncpoint": self.is_syncpoint}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlockKey:
        return cls(int(d["commit_ts"]), bool(d["is_syncpoint"]))

    def __str__(self) -> str:
        return f"{'syncpoint' if self.is_syncpoint else 'ddl'}@{self.commit_ts}"


class Scope(enum.Enum):
    """Which dispatchers a block event influences (mirrors ``model.BlockScope``)."""

    TABLE = "table"
    DATABASE = "database"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Influence:
    """The dispatchers a block event blocks, and the tables it drops and adds.

    Table names are ``schema.table`` strings. ``needs_trigger`` is True when the table-trigger dispatcher is
    blocked too and writes the event (database-wide and all-table events, DDL creating or dropping tables).
    """

    scope: Scope
    schema: str = ""
    tables: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    needs_trigger: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "schema": self.schema,
            "tables": list(self.tables),
            "dropped": list(self.dropped),
            "added": list(self.added),
            "needs_trigger": self.needs_trigger,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Influence:
        return cls(
            Scope(d["scope"]),
            str(d["schema"]),
            tuple(d["tables"]),
            tuple(d["dropped"]),
            tuple(d["added"]),
            bool(d["needs_trigger"]),
        )


def table_key(name: TableName) -> str:
    """A table's name in messages, span ids and config: ``schema.table``, with ``\\`` and ``.`` escaped by a
    backslash in the schema part only, so the first unescaped dot separates them (``shop.orders`` for
    ordinary names; a database ``a.b`` gives ``a\\.b.t``)."""
    return name.schema.replace("\\", "\\\\").replace(".", "\\.") + "." + name.table


def parse_table_key(key: str) -> TableName:
    """The ``TableName`` of a ``table_key``; ``ValueError`` when the key has no separating dot."""
    if "\\" not in key:
        schema_part, dot, table = key.partition(".")
        if dot:
            return TableName(schema_part, table)
    schema: list[str] = []
    i = 0
    while i < len(key):
        c = key[i]
        if c == "\\" and i + 1 < len(key):
            schema.append(key[i + 1])
            i += 2
        elif c == ".":
            return TableName("".join(schema), key[i + 1:])
        else:
            schema.append(c)
            i += 1
    raise ValueError(f"table key {key!r} has no schema separator")


def schema_of(key: str) -> str:
    """The database of a ``table_key``."""
    return parse_table_key(key).schema


HASH_SPACE = 1 << 16
"""Size of the primary-key hash space that a table's spans partition: span ranges are [lo, hi) within it."""


def even_ranges(n: int) -> list[tuple[int, int]]:
    """``n`` adjacent ranges covering the hash space as evenly as possible."""
    if n < 1:
        raise ValueError(f"a table needs at least one span, got {n}")
    return [(HASH_SPACE * i // n, HASH_SPACE * (i + 1) // n) for i in range(n)]


def covers_whole(ranges: list[tuple[int, int]]) -> bool:
    """True when the ranges together cover the whole hash space."""
    reach = 0
    for lo, hi in sorted(ranges):
        if lo > reach:
            return False
        reach = max(reach, hi)
    return reach >= HASH_SPACE


class SpanInfo(NamedTuple):
    """A dispatcher's table span: ``table`` (``schema.table``, ``""`` for the trigger) and hash range [lo, hi)."""

    table: str
    lo: int
    hi: int

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpanInfo:
        return cls(str(d["table"]), int(d["lo"]), int(d["hi"]))

    @property
    def whole(self) -> bool:
        return self.lo == 0 and self.hi == HASH_SPACE

    @property
    def file_id(self) -> str | None:
        """The id in a split span's file names (``CDC_<id>_<idx>``); None for a whole table."""
        return None if self.whole else f"{self.lo:04x}{self.hi - 1:04x}"

    @property
    def dispatcher_id(self) -> str:
        """The stable dispatcher id of the span (the trigger's for the empty span)."""
        return f"{self.table}#{self.lo:04x}{self.hi - 1:04x}" if self.table else TRIGGER_ID


@dataclass(slots=True)
class BlockStatus:
    """A dispatcher's report about one block event.

    WAITING reports carry ``influence`` and, for the syncpoint cut, the span's table version, file id (``""``
    for an unsplit table), last durable data-file index, the keys of its last durable data file in every data
    directory its writer wrote (``files``) and ``instance``, a token that differs for every dispatcher object
    ever created (a successor of a moved, split, merged or crashed span has a new one), so the marker writer
    can tell whether the span's writer has been the same since its last marker. DONE reports carry
    ``done_action``: the action actually completed, never the one merely requested.
    """

    dispatcher_id: str
    span: SpanInfo
    key: BlockKey
    stage: BlockStage
    checkpoint_ts: int
    done_action: Action | None = None
    influence: Influence | None = None
    table_version: int = 0
    file_id: str = ""
    last_file_index: int = 0
    files: tuple[str, ...] = ()
    instance: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dispatcher_id": self.dispatcher_id,
            "span": self.span.to_dict(),
            "key": self.key.to_dict(),
            "stage": self.stage.value,
            "checkpoint_ts": self.checkpoint_ts,
            "done_action": None if self.done_action is None else self.done_action.value,
            "influence": None if self.influence is None else self.influence.to_dict(),
            "table_version": self.table_version,
            "file_id": self.file_id,
            "last_file_index": self.last_file_index,
            "files": list(self.files),
            "instance": self.instance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlockStatus:
        return cls(
            str(d["dispatcher_id"]),
            SpanInfo.from_dict(d["span"]),
            BlockKey.from_dict(d["key"]),
            BlockStage(d["stage"]),
            int(d["checkpoint_ts"]),
            None if d["done_action"] is None else Action(d["done_action"]),
            None if d["influence"] is None else Influence.from_dict(d["influence"]),
            int(d["table_version"]),
            str(d["file_id"]),
            int(d["last_file_index"]),
            tuple(str(f) for f in d.get("files", ())),
            int(d.get("instance", 0)),
        )


@dataclass(slots=True)
class CutEntry:
    """One span's part of a syncpoint cut: table, its version, the span's file id and last data-file index,
    and from its WAITING report the keys of its last data file per directory and its ``instance`` token (0
    for a span that ended earlier in the version: only storage knows its files)."""

    table: str
    version: int
    file_id: str
    last_index: int
    files: tuple[str, ...] = ()
    instance: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "version": self.version, "file_id": self.file_id, "last_index": self.last_index,
                "files": list(self.files), "instance": self.instance}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CutEntry:
        return cls(str(d["table"]), int(d["version"]), str(d["file_id"]), int(d["last_index"]),
                   tuple(str(f) for f in d.get("files", ())), int(d.get("instance", 0)))


@dataclass(slots=True)
class BarrierAction:
    """WRITE or PASS for ``key`` to the dispatchers ``targets``; a syncpoint WRITE carries the ``cut``."""

    key: BlockKey
    action: Action
    targets: tuple[str, ...]
    cut: tuple[CutEntry, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key.to_dict(),
            "action": self.action.value,
            "targets": list(self.targets),
            "cut": [c.to_dict() for c in self.cut],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BarrierAction:
        return cls(
            BlockKey.from_dict(d["key"]),
            Action(d["action"]),
            tuple(d["targets"]),
            tuple(CutEntry.from_dict(c) for c in d["cut"]),
        )


@dataclass(slots=True)
class Ack:
    """The maintainer received the WAITING for ``key`` of every dispatcher of ``dispatcher_ids`` (all hosted by
    the receiving node): stop resending it. One message per node and event, not one per dispatcher."""

    dispatcher_ids: tuple[str, ...]
    key: BlockKey

    def to_dict(self) -> dict[str, Any]:
        return {"dispatcher_ids": list(self.dispatcher_ids), "key": self.key.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ack:
        return cls(tuple(str(i) for i in d["dispatcher_ids"]), BlockKey.from_dict(d["key"]))


@dataclass(slots=True)
class Heartbeat:
    """Periodic dispatcher state: its checkpoint and, while blocked, its pending block event and stage.

    After a maintainer restart these rebuild the barrier state (DESIGN.md step 8).
    """

    dispatcher_id: str
    span: SpanInfo
    checkpoint_ts: int
    pending: BlockStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dispatcher_id": self.dispatcher_id,
            "span": self.span.to_dict(),
            "checkpoint_ts": self.checkpoint_ts,
            "pending": None if self.pending is None else self.pending.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Heartbeat:
        return cls(
            str(d["dispatcher_id"]),
            SpanInfo.from_dict(d["span"]),
            int(d["checkpoint_ts"]),
            None if d["pending"] is None else BlockStatus.from_dict(d["pending"]),
        )


@dataclass(slots=True)
class CheckpointAdvance:
    """The maintainer's aggregated checkpoint, for the table-trigger dispatcher to write as ``metadata``."""

    checkpoint_ts: int

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint_ts": self.checkpoint_ts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckpointAdvance:
        return cls(int(d["checkpoint_ts"]))


@dataclass(slots=True)
class Batch:
    """Several messages from one sender to one receiver in one envelope (a node's reports of one round)."""

    messages: tuple[Message, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"messages": [encode(m) for m in self.messages]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Batch:
        return cls(tuple(decode(m) for m in d["messages"]))


Message = BlockStatus | BarrierAction | Ack | Heartbeat | CheckpointAdvance | Batch

_KINDS: dict[str, Any] = {
    "block_status": BlockStatus,
    "barrier_action": BarrierAction,
    "ack": Ack,
    "heartbeat": Heartbeat,
    "checkpoint": CheckpointAdvance,
    "batch": Batch,
}
_KIND_OF: dict[type, str] = {v: k for k, v in _KINDS.items()}


def encode(msg: Message) -> dict[str, Any]:
    """A message as a plain dict (JSON-ready), tagged with its kind."""
    return {"kind": _KIND_OF[type(msg)], "body": msg.to_dict()}


def decode(d: dict[str, Any]) -> Message:
    """The message ``encode`` produced; ``ValueError`` for an unknown kind."""
    cls = _KINDS.get(d.get("kind", ""))
    if cls is None:
        raise ValueError(f"unknown message kind {d.get('kind')!r}")
    msg: Message = cls.from_dict(d["body"])
    return msg


class Outbox:
    """Collects one endpoint's outgoing messages and sends them per receiver as one ``Batch``."""

    def __init__(self, sender: str, transport: Transport) -> None:
        self._sender = sender
        self._transport = transport
        self._pending: dict[str, list[Message]] = {}

    def put(self, to: str, msg: Message) -> None:
        self.channel(to)(msg)

    def channel(self, to: str) -> Callable[[Message], None]:
        """``put`` for one receiver, as a plain list append (no call of ours per message on hot paths)."""
        queue = self._pending.get(to)
        if queue is None:
            queue = self._pending[to] = []
        return queue.append

    def flush(self) -> None:
        for to, queue in list(self._pending.items()):  # a synchronous transport may put more meanwhile
            if queue:
                msgs = queue.copy()
                queue.clear()
                self._transport.send(self._sender, to, msgs[0] if len(msgs) == 1 else Batch(tuple(msgs)))

Handler = Callable[[str, Message], None]
"""A transport endpoint: called with (sender address, message)."""


class Transport(Protocol):
    """Delivers messages between named endpoints. Delivery may be lossy; senders resend."""

    def register(self, address: str, handler: Handler) -> None:
        """Deliver messages addressed to ``address`` to ``handler`` (replaces an earlier registration)."""
        ...

    def unregister(self, address: str) -> None:
        """Drop messages for ``address`` from now on (a crashed node)."""
        ...

    def send(self, sender: str, to: str, msg: Message) -> None:
        """Queue ``msg`` from ``sender`` for ``to``."""
        ...


@dataclass
class InProcessTransport:
    """Reliable in-order in-process transport between several in-process nodes.

    ``send`` only queues; ``pump`` delivers until the queue is empty, so handlers may send while handling.
    With ``serialize`` every message goes through ``encode``/``decode``, as it would between processes.
    """

    serialize: bool = False
    _handlers: dict[str, Handler] = field(default_factory=dict)
    _queue: deque[tuple[str, str, Message]] = field(default_factory=deque)

    def register(self, address: str, handler: Handler) -> None:
        self._handlers[address] = handler

    def unregister(self, address: str) -> None:
        self._handlers.pop(address, None)

    def send(self, sender: str, to: str, msg: Message) -> None:
        self._queue.append((sender, to, decode(encode(msg)) if self.serialize else msg))

    def pump(self, limit: int = 1_000_000) -> int:
        """Deliver queued messages (and the ones they cause), at most ``limit``; returns how many."""
        n = 0
        while self._queue and n < limit:
            sender, to, msg = self._queue.popleft()
            handler = self._handlers.get(to)
            if handler is not None:
                handler(sender, msg)
            n += 1
        return n
