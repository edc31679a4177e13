"""The checkpoint never names a change that is not durable: whenever the resume record or ``metadata`` is
written with checkpoint C, every change with commit-ts <= C is already in a data file. (A store that fails
right after such a write leaves a consumer without that change, and a resumed run skips it for good.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.runtime import changefeed
from storagecdc.runtime.resume import RESUME_KEY
from storagecdc.runtime.source import open_source
from storagecdc.storage import METADATA_KEY, parse_checkpoint
from storagecdc.storage.memory import MemoryStore
from tests.faults.harness import CONSUMABLE, DEMO, RUN_OVERRIDES, objects


class WatchedStore(MemoryStore):
    """A memory store that checks, at every checkpoint write, that the reference's changes up to it are
    already stored."""

    def __init__(self, reference: dict[int, set[bytes]]) -> None:
        super().__init__("watched")
        self._reference = reference
        self.checkpoints: list[int] = []
        self.missing: dict[int, list[bytes]] = {}

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        if key == RESUME_KEY:
            self._check(int(json.loads(data)["checkpoint-ts"]))
        elif key == METADATA_KEY:
            self._check(parse_checkpoint(data))
        super().put(key, data, create_only=create_only)

    def _check(self, checkpoint: int) -> None:
        self.checkpoints.append(checkpoint)
        stored = {line for info in self.list() if info.key.endswith(".csv")
                  for line in self.get(info.key).splitlines()}
        missing = sorted(line for ts, lines in self._reference.items() if ts <= checkpoint
                         for line in lines - stored)
        if missing:
            self.missing[checkpoint] = missing


def test_no_checkpoint_names_a_change_that_is_not_durable(
    reference_run: Callable[[Path, str], str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(changefeed, "TICK_MS", 0)  # publish the checkpoint after every event, not by wall clock
    reference: dict[int, set[bytes]] = {}
    for key, data in objects(reference_run(DEMO, CONSUMABLE)).items():
        if key.endswith(".csv"):
            for line in data.splitlines():
                reference.setdefault(int(line.split(b",")[3]), set()).add(line)
    config = load_config(None, source=str(DEMO), sink_uri=f"memory://watched?{CONSUMABLE}",
                         overrides=dict(RUN_OVERRIDES))
    store = WatchedStore(reference)
    source = open_source(config, None)
    try:
        feed = changefeed.Changefeed(config, store, source.assembler, source_name=source.name)
        feed.run(source.changes, source.until)
    finally:
        source.close()
    assert len(set(store.checkpoints)) >= 3, store.checkpoints
    assert store.missing == {}
