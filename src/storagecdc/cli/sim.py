"""``storagecdc sim``: the deterministic simulator of dispatchers, maintainer and sink under faults."""

from __future__ import annotations

import argparse

from storagecdc.errors import ConfigError
from storagecdc.sim.runner import run_sim


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds to run (default 200)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """Prints ``seeds=N violations=K`` and a reproduction command per failing seed; exit 1 if K > 0."""
    if args.seeds < 1:
        raise ConfigError("--seeds must be at least 1")
    return 1 if run_sim(args.seeds, args.first_seed) else 0
