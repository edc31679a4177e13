"""A small fault-injecting HTTP reverse proxy on loopback, placed between an S3 client and an S3 server.

For each request a fault plan decides one of:

- ``PASS``: forward and relay the answer;
- ``LATENCY``: wait ``FaultProxy.latency_s``, then forward and relay the answer;
- ``SLOWDOWN`` / ``UNAVAILABLE`` / ``INTERNAL``: answer 503 ``SlowDown`` / 503 ``ServiceUnavailable`` / 500
  ``InternalError`` without forwarding;
- ``RESET_BEFORE``: reset the client's connection without forwarding;
- ``RESET_AFTER``: forward (the write lands), then reset the client's connection (the answer is lost);
- ``DENY`` / ``NO_BUCKET``: answer 403 ``AccessDenied`` / 404 ``NoSuchBucket`` without forwarding (permanent
  failures, for plans that turn a store away in the middle of a run).

The proxy records every forwarded request with the upstream status, so tests can count how often a write
really landed. The Host header is forwarded unchanged, so SigV4 signatures stay valid.
"""

from __future__ import annotations

import enum
import http.client
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Fault(enum.Enum):
    PASS = "pass"
    LATENCY = "latency"
    SLOWDOWN = "slowdown"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    RESET_BEFORE = "reset-before"
    RESET_AFTER = "reset-after"
    DENY = "deny"
    NO_BUCKET = "no-bucket"


TRANSIENT = (Fault.LATENCY, Fault.SLOWDOWN, Fault.UNAVAILABLE, Fault.INTERNAL, Fault.RESET_BEFORE, Fault.RESET_AFTER)
"""The faults a client must ride out by retrying."""
_ANSWERS = {
    Fault.SLOWDOWN: (503, "SlowDown"),
    Fault.UNAVAILABLE: (503, "ServiceUnavailable"),
    Fault.INTERNAL: (500, "InternalError"),
    Fault.DENY: (403, "AccessDenied"),
    Fault.NO_BUCKET: (404, "NoSuchBucket"),
}


@dataclass(frozen=True)
class Forwarded:
    method: str
    path: str
    status: int


FaultPlan = Callable[[str, str], Fault]
"""(method, path) -> the fault for this request."""

_ERROR_BODY = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
               "<Message>injected by faultproxy</Message></Error>")
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"})


def random_plan(rate: float, seed: int, faults: tuple[Fault, ...] = TRANSIENT) -> FaultPlan:
    """Fault ``rate`` of all requests, choosing uniformly among ``faults``; deterministic per seed."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def plan(method: str, path: str) -> Fault:
        with lock:
            return rng.choice(faults) if rng.random() < rate else Fault.PASS

    return plan


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A reset connection is the point of the exercise; stay quiet."""


class FaultProxy:
    """``with FaultProxy(upstream_url, plan) as proxy: ... proxy.endpoint ...``"""

    def __init__(self, upstream: str, plan: FaultPlan, *, latency_s: float = 0.1) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.plan = plan
        self.latency_s = latency_s
        self.forwarded: list[Forwarded] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def _reset(self) -> None:
                self.close_connection = True
                sock = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

            def _error(self, status: int, code: str) -> None:
                body = _ERROR_BODY.format(code=code).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                fault = proxy.plan(self.command, self.path)
                with proxy._lock:
                    proxy.faults.append(fault)
                if fault is Fault.RESET_BEFORE:
                    self._reset()
                    return
                if fault in _ANSWERS:
                    self._error(*_ANSWERS[fault])
                    return
                if fault is Fault.LATENCY:
                    time.sleep(proxy.latency_s)
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=60)
                try:
                    upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                            upstream.putheader(name, value)
                    upstream.putheader("Content-Length", str(len(body)))
                    upstream.endheaders(body)
                    resp = upstream.getresponse()
                    data = resp.read()
                    headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS]
                    status = resp.status
                finally:
                    upstream.close()
                with proxy._lock:
                    proxy.forwarded.append(Forwarded(self.command, self.path, status))
                if fault is Fault.RESET_AFTER:
                    self._reset()
                    return
                self.send_response_only(status)
                for name, value in headers:
                    if name.lower() != "content-length" or self.command == "HEAD":
                        self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def landed(self, method: str, path_part: str) -> int:
        """How many forwarded ``method`` requests whose path contains ``path_part`` got a 2xx upstream."""
        with self._lock:
            return sum(1 for f in self.forwarded
                       if f.method == method and path_part in f.path and 200 <= f.status < 300)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
