"""``source.tls``: pymysql's preferred-mode TLS, with one context per process, built on first use."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from storagecdc.source import tls


def _connection(**options: Any) -> tls.Connection:
    return tls.Connection(host="127.0.0.1", port=1, user="u", password="p", defer_connect=True, **options)


def test_preferred_mode_builds_no_context_until_a_handshake() -> None:
    tls._preferred_context.cache_clear()
    conn: Any = _connection()  # pymysql's attributes below are not in its stubs
    assert conn.ssl and not conn._ssl_required  # still "preferred": TLS when the server offers it
    assert not isinstance(conn.ctx, ssl.SSLContext)
    assert tls._preferred_context.cache_info().currsize == 0


def test_the_handshake_uses_one_shared_unverified_context() -> None:
    tls._preferred_context.cache_clear()
    # unconnected sockets: wrapping them does not start a handshake
    with _wrap(socket.socket()) as first, _wrap(socket.socket()) as second:
        assert isinstance(first, ssl.SSLSocket)
        ctx = first.context
        assert ctx is second.context is tls._preferred_context()
        assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
        assert not ctx.verify_flags & ssl.VERIFY_X509_STRICT
    assert tls._preferred_context.cache_info().misses == 1


def _wrap(sock: socket.socket) -> ssl.SSLSocket:
    ctx: Any = _connection().ctx  # type: ignore[attr-defined]  # pymysql's attribute, not in its stubs
    wrapped: ssl.SSLSocket = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    return wrapped


def test_explicit_tls_options_keep_pymysqls_verifying_context() -> None:
    conn: Any = _connection(ssl_verify_cert=True)
    assert conn._ssl_required
    assert isinstance(conn.ctx, ssl.SSLContext)
    assert conn.ctx.verify_mode == ssl.CERT_REQUIRED
