"""POSTing webhooks: keep-alive connections per endpoint, no redirects, private networks refused.

The destination is resolved once per connection and the socket is connected to that address (the
TLS handshake still uses the host name), so a DNS answer cannot switch to an internal address
between the check and the request.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 65_536
MAX_CONNECTION_AGE = 60.0
_local = threading.local()


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    error: str
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DestinationRefused(Exception):
    pass


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified)


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve")
    if not allow_private and not all(_public(a) for a in addresses):
        raise DestinationRefused(f"{host} resolves to a private or local address")
    return str(addresses[0])


class _PinnedConnect(http.client.HTTPConnection):
    pinned_ip: str = ""

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPConnection(_PinnedConnect):
    pass


class PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedConnect):
    pass


class WebhookClient:
    """Posts to several URLs, reusing one keep-alive connection per (scheme, host, port) for up to
    MAX_CONNECTION_AGE seconds (then the name is resolved and checked again). Not thread-safe:
    use `client_for_this_thread`."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self._connections: dict[tuple[str, str, int], tuple[http.client.HTTPConnection, float]] = {}

    def _connection(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        cached = self._connections.get(key)
        if cached is not None and time.monotonic() - cached[1] < MAX_CONNECTION_AGE:
            return cached[0]
        self._drop(key)
        ip = resolve(host, port, allow_private=self.allow_private)
        cls = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
        conn = cls(host, port, timeout=self.timeout)
        conn.pinned_ip = ip
        self._connections[key] = (conn, time.monotonic())
        return conn

    def _drop(self, key: tuple[str, str, int]) -> None:
        cached = self._connections.pop(key, None)
        if cached is not None:
            cached[0].close()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
        started = time.monotonic()
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return HttpResult(None, "unsupported URL", 0.0)
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        all_headers = {"Content-Type": "application/json", "User-Agent": "Rollcall-Webhooks/1", **headers}
        for attempt in (1, 2):  # a reused keep-alive socket may have been closed by the server: retry once
            reused = False
            try:
                conn = self._connection(scheme, parts.hostname, port)
                reused = conn.sock is not None
                conn.request("POST", path, body=body, headers=all_headers)
                response = conn.getresponse()
                response.read(MAX_RESPONSE_BYTES)
                if response.will_close or not response.isclosed():
                    self._drop(key)
                return HttpResult(response.status, "", (time.monotonic() - started) * 1000)
            except DestinationRefused as exc:
                return HttpResult(None, str(exc), (time.monotonic() - started) * 1000)
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                if attempt == 1 and reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                    continue
                return HttpResult(None, f"{type(exc).__name__}: {exc}"[:500], (time.monotonic() - started) * 1000)
        return HttpResult(None, "unreachable", (time.monotonic() - started) * 1000)  # pragma: no cover

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)


def client_for_this_thread(*, timeout: float, allow_private: bool) -> WebhookClient:
    """A per-thread client whose keep-alive connections survive from one send task to the next."""
    client: WebhookClient | None = getattr(_local, "client", None)
    if client is None or client.timeout != timeout or client.allow_private != allow_private:
        if client is not None:
            client.close()
        client = WebhookClient(timeout=timeout, allow_private=allow_private)
        _local.client = client
    return client
