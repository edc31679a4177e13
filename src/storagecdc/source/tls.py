"""pymysql connections whose "preferred" TLS context is built once per process, and only when it is used.

With no TLS option, pymysql (2.x) asks for TLS when the server offers it and goes on without it otherwise
("preferred", as the mysql client does), with a context that does not verify the server. It builds that
context, loading the system's CA certificates (about 60 ms of CPU), for every connection, whether the
server offers TLS or not; a snapshot opens several connections in one process. ``Connection`` behaves the
same, but its preferred-mode context is made on the first TLS handshake and shared by the process's later
connections. Explicit TLS options (a required, verifying context) are pymysql's own.
"""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Any

import pymysql


@functools.cache
def _preferred_context() -> ssl.SSLContext:
    """pymysql's preferred-mode context: TLS without verification of the server's certificate."""
    ctx = ssl.create_default_context()
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _PreferredTls:
    """Stands in for the preferred-mode context until a handshake needs it."""

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> ssl.SSLSocket:
        return _preferred_context().wrap_socket(sock, server_hostname=server_hostname)


class Connection(pymysql.Connection):
    """A pymysql connection with the shared, lazily built preferred-mode TLS context."""

    def _create_ssl_ctx(self, sslp: Any) -> Any:
        if isinstance(sslp, dict) and not sslp:  # preferred mode: no TLS option given
            return _PreferredTls()
        return super()._create_ssl_ctx(sslp)  # type: ignore[misc]  # pymysql's, not in its stubs
