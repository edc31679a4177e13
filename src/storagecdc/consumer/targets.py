"""``open_applier``: the target a URI names."""

from __future__ import annotations

from storagecdc.consumer.applier import Applier
from storagecdc.consumer.mysql_applier import MySqlApplier
from storagecdc.consumer.sqlite_applier import SqliteApplier
from storagecdc.errors import ConfigError


def open_applier(uri: str) -> Applier:
    """``sqlite:///path.db`` (``sqlite:///:memory:`` too) or ``mysql://user:password@host:port/[progress-db]``."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme == "sqlite":
        return SqliteApplier.from_uri(uri)
    if scheme in ("mysql", "mariadb"):
        return MySqlApplier.from_uri(uri)
    raise ConfigError(f"target must be sqlite:///path.db or mysql://user:password@host:port/, got {scheme or uri!r}"
                      f"{'://...' if scheme else ''}")
