"""One HTTPS request to a pinned address, that a watchdog can cut off at the caller's deadline.

The HTML-file check GETs through it and webhook deliveries POST through it, so both keep the
same rules: the vetted address, no redirects followed here, a capped body, one deadline.
Single sign-on's requests to an IdP go through `pinned_pool` (requests/authlib on top).

urllib3's connection pool, connected to the address the check vetted, with SNI, certificate
name and Host set to the domain. Every socket is handed to a `Watchdog` the moment it opens,
so connect, TLS handshake, headers and body are all bounded by one wall-clock deadline.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass

import certifi
import urllib3

from domains.verifiers.results import remaining

USER_AGENT = "AdminCenter-DomainVerification/1.0"


class _FinalResponse(http.client.HTTPResponse):
    """Skips every interim 1xx response (e.g. 103 Early Hints), not only 100 Continue.

    http.client skips only 100; RFC 9110 §15.2 says a client must ignore the others too.
    """

    def _read_status(self):
        while True:
            version, status, reason = super()._read_status()
            if not 100 < status < 200 or status == 101:  # 101 switches protocols: it is the answer
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim response's header fields


class Watchdog:
    """Shuts down every connection of one fetch once its deadline passes.

    A per-read timeout cannot bound a server that trickles one byte at a time (each byte
    restarts it), so a timer breaks the connection itself and the blocked read returns.
    """

    def __init__(self, deadline: float):
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(max(0.0, remaining(deadline)), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor: TLS wrapping detaches the original, but shutting down either
        # end of one connection breaks it for both.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.fired:
                _shutdown(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its owner


class _WatchedConnection(urllib3.connection.HTTPSConnection):
    """An HTTPS connection the fetch's watchdog can break, reading past interim responses."""

    response_class = _FinalResponse

    def __init__(self, *args, watchdog: Watchdog, **kwargs):
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self):
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _PinnedPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedConnection


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """Certificates verified against `ca_bundle`, or certifi's store when it is empty; raises
    OSError or ssl.SSLError when the bundle cannot be read."""
    return ssl.create_default_context(cafile=ca_bundle or certifi.where())


def host_header(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return host if port == 443 else f"{host}:{port}"


def pinned_pool(
    *, host: str, port: int, address: str, context: ssl.SSLContext, watchdog: Watchdog, timeout: float
) -> urllib3.HTTPSConnectionPool:
    """A connection pool that connects to `address` only (never resolving `host` again), with
    SNI and certificate name checked against `host`; every socket it opens is watched."""
    ip = ipaddress.ip_address(address)
    return _PinnedPool(
        f"[{ip}]" if ip.version == 6 else str(ip),
        port,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        ssl_context=context,
        server_hostname=host,
        assert_hostname=host,
        watchdog=watchdog,
    )


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None
    body: bytes = b""
    truncated: bool = False


def _read_body(response, max_bytes: int, watchdog: Watchdog) -> tuple[bytes, bool]:
    """At most max_bytes of a 200 answer's body, and whether the connection broke before its end."""
    body = bytearray()
    try:
        while len(body) < max_bytes:
            chunk = response.read1(min(1024, max_bytes - len(body)))  # keeps what came before a break
            if not chunk:
                break
            body += chunk
    except (urllib3.exceptions.HTTPError, OSError):
        if watchdog.fired:
            raise
        return bytes(body), True
    return bytes(body), False


@dataclass(frozen=True)
class Request:
    host: str  # the name: SNI, certificate and Host header
    port: int
    path: str
    address: str  # where to connect: the address that was checked
    tls_context: ssl.SSLContext
    watchdog: Watchdog
    connect_timeout: float
    deadline: float
    max_bytes: int
    method: str = "GET"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()  # added to (or replacing) the defaults


def _headers(request: Request) -> dict:
    headers = {
        "Host": host_header(request.host, request.port),
        "User-Agent": USER_AGENT,
        "Accept": "text/html, text/plain;q=0.9, */*;q=0.1",
        "Accept-Encoding": "identity",
    }
    headers.update(dict(request.headers))
    return headers


def get(request: Request) -> Answer:
    """Send the request (GET unless it says otherwise) to the pinned address; raises urllib3
    errors and OSError. Only a 200 answer's body is read, at most max_bytes of it."""
    pool = pinned_pool(
        host=request.host,
        port=request.port,
        address=request.address,
        context=request.tls_context,
        watchdog=request.watchdog,
        timeout=max(0.05, min(request.connect_timeout, remaining(request.deadline))),
    )
    with pool:
        response = pool.urlopen(
            request.method,
            request.path,
            body=request.body,
            headers=_headers(request),
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            if response.status != 200:
                return Answer(response.status, response.headers.get("Location"))
            body, truncated = _read_body(response, request.max_bytes, request.watchdog)
            return Answer(response.status, None, body, truncated)
        finally:
            response.release_conn()
