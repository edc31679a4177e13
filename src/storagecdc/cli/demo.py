"""``storagecdc demo``: replicate a bundled binlog into an embedded S3, list it, replay it, check it."""

from __future__ import annotations

import argparse
import sys

from storagecdc.demo import run_demo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Starts moto's S3 server on loopback, replicates a small MariaDB binlog bundled with the package "
        "(a shop database: several tables and types, DDL, a table split 4 ways, syncpoints), prints the "
        "bucket's layout, replays it into a temporary SQLite database and compares every table with the rows "
        "MariaDB returned. Needs nothing installed beyond the package; exits 0 when everything matches."
    )


def run(args: argparse.Namespace) -> int:
    return run_demo(sys.stdout)
