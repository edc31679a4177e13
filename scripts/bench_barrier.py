#!/usr/bin/env python3
"""Run ``storagecdc bench barrier`` (arguments as for that command; see docs/performance.md)."""

from __future__ import annotations

import sys

from storagecdc.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "barrier", *sys.argv[1:]]))
