"""Fixtures of the whole-run fault tests: one evidence collector for the session, reference outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.runtime.replicate import replicate
from tests.faults.harness import RUN_OVERRIDES, Evidence, objects, with_query


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    """Everything the fault, failure and secrets tests showed anyone, for the final grep."""
    return Evidence()


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], str]:
    """``reference_run(source, query)``: the URI of a fault-free run of ``source`` into a local directory
    (split ``shop.orders``, syncpoints every second), made once per source and sink query."""
    made: dict[tuple[Path, str], str] = {}

    def run(source: Path, query: str) -> str:
        if (source, query) not in made:
            uri = with_query(tmp_path_factory.mktemp("reference").as_uri(), query)
            replicate(load_config(None, source=str(source), sink_uri=uri, overrides=dict(RUN_OVERRIDES)))
            made[source, query] = uri
        return made[source, query]

    return run


@pytest.fixture(scope="session")
def reference_objects(reference_run: Callable[[Path, str], str]) -> Callable[[Path, str], dict[str, bytes]]:
    """``reference_objects(source, query)``: every object of the fault-free run, by key."""
    return lambda source, query: objects(reference_run(source, query))
