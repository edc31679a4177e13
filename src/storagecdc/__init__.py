"""storagecdc: MySQL/MariaDB row-based binlog to TiCDC-compatible change files on object storage."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
