"""An idle changefeed's metadata catches up once the checkpoint interval has passed."""

from __future__ import annotations

from storagecdc.dispatcher.trigger import TableTriggerDispatcher
from storagecdc.messages import Message
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.storage import MemoryStore
from storagecdc.storage.checkpoint import read_checkpoint


def test_held_back_checkpoint_is_written_by_a_later_advance() -> None:
    now = [0]
    store = MemoryStore("idle")
    sink = StorageSink(store, SinkOptions(protocol="csv"), clock=lambda: now[0])
    sent: list[Message] = []
    trigger = TableTriggerDispatcher(sink, 0, sent.append)
    trigger.write_checkpoint(10)
    assert read_checkpoint(store) == 10
    now[0] += 1
    trigger.write_checkpoint(20)  # within the 2 s interval: held back
    assert read_checkpoint(store) == 10
    now[0] += 5_000
    trigger.write_checkpoint(20)  # the same value again, nothing new happened: it must be written now
    assert read_checkpoint(store) == 20
