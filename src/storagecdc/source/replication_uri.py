"""The live source's address: ``mysql://user:password@host:port/?server-id=N&...``.

Query options (``-`` and ``_`` are interchangeable):

==========================  ==============================================================================
``server-id``               this replica's server id (unique among the server's replicas; default: random)
``heartbeat-interval``      seconds between the server's heartbeats on an idle binlog (default 1)
``connect-timeout``         seconds to connect and log in (default 10)
``read-timeout``            seconds without any packet before the connection counts as lost
                            (default: 3 heartbeat intervals, at least 10 s)
``max-reconnects``          reconnect attempts after a lost connection before giving up (default 10;
                            -1: forever); each attempt waits twice as long as the one before
``reconnect-backoff``       seconds before the first reconnect attempt (default 0.5)
``reconnect-backoff-max``   the longest wait between attempts (default 30)
==========================  ==============================================================================

The password is never part of ``repr()``, ``str()`` or any message: ``redacted()`` prints
``mysql://user:***@host:port/``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from storagecdc.errors import ConfigError

DEFAULT_PORT = 3306

_FLOATS = {"heartbeat-interval", "connect-timeout", "read-timeout", "reconnect-backoff", "reconnect-backoff-max"}
_INTS = {"server-id", "max-reconnects"}


@dataclass(frozen=True, slots=True)
class ReplicationUri:
    """A parsed live-source URI. Build one with ``parse``; ``str()`` is the redacted form."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    server_id: int
    heartbeat_interval: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    max_reconnects: int = 10
    reconnect_backoff: float = 0.5
    reconnect_backoff_max: float = 30.0

    @classmethod
    def parse(cls, uri: str) -> ReplicationUri:
        """Parse and validate ``uri``; a ``ConfigError`` names the bad part (never the password)."""
        try:
            parts = urlsplit(uri)
            port = parts.port or DEFAULT_PORT
            host = parts.hostname or ""
        except ValueError as e:  # a bad port; the message holds no part of the URI
            raise ConfigError(f"bad live source URI {redact(uri)}: {e}") from None
        if parts.scheme not in ("mysql", "mariadb"):
            raise ConfigError(f"bad live source URI {redact(uri)}: the scheme must be mysql:// or mariadb://")
        if not host:
            raise ConfigError(f"bad live source URI {redact(uri)}: no host")
        if not parts.username:
            raise ConfigError(f"bad live source URI {redact(uri)}: no user")
        if parts.path not in ("", "/"):
            raise ConfigError(f"bad live source URI {redact(uri)}: a path ({parts.path!r}) is not allowed")
        values: dict[str, float | int] = {}
        for key, raw in parse_qsl(parts.query, keep_blank_values=True):
            name = key.replace("_", "-").lower()
            if name not in _INTS and name not in _FLOATS:
                raise ConfigError(f"unknown option {key!r} in live source URI {redact(uri)}")
            try:
                values[name] = int(raw) if name in _INTS else float(raw)
            except ValueError:
                raise ConfigError(f"option {key}={raw!r} of live source URI {redact(uri)} is not a number") from None
        heartbeat = float(values.get("heartbeat-interval", 1.0))
        result = cls(
            host=host,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            server_id=int(values.get("server-id", random.randint(1 << 20, (1 << 31) - 1))),
            heartbeat_interval=heartbeat,
            connect_timeout=float(values.get("connect-timeout", 10.0)),
            read_timeout=float(values.get("read-timeout", max(10.0, 3 * heartbeat))),
            max_reconnects=int(values.get("max-reconnects", 10)),
            reconnect_backoff=float(values.get("reconnect-backoff", 0.5)),
            reconnect_backoff_max=float(values.get("reconnect-backoff-max", 30.0)),
        )
        result._validate(uri)
        return result

    def _validate(self, uri: str) -> None:
        if not 1 <= self.server_id < 1 << 32:
            raise ConfigError(f"server-id of live source URI {redact(uri)} must be in 1..4294967295")
        if not 0 < self.heartbeat_interval <= 4_294_967:
            raise ConfigError(f"heartbeat-interval of live source URI {redact(uri)} must be in (0, 4294967] s")
        if self.read_timeout <= self.heartbeat_interval:
            raise ConfigError(f"read-timeout of live source URI {redact(uri)} must exceed heartbeat-interval")
        if self.connect_timeout <= 0 or self.reconnect_backoff < 0 or self.reconnect_backoff_max < 0:
            raise ConfigError(f"timeouts of live source URI {redact(uri)} must be positive")

    def redacted(self) -> str:
        """``mysql://user:***@host:port/``: the URI without its password, for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mysql://{self.user}:***@{host}:{self.port}/"

    def __str__(self) -> str:
        return self.redacted()


def redact(uri: str) -> str:
    """Any URI with the password part of its authority replaced by ``***`` (for messages about bad URIs)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return "<unparsable URI>"
    userinfo, at, hostpart = rest.rpartition("@")  # the last '@': a password may hold unescaped ones
    if not at:
        return uri
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{hostpart}"
