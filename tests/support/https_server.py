"""A real HTTPS server on loopback for tests, with certificates from a trustme test CA.

Fixtures (registered through `pytest_plugins` in the root conftest.py):

- `https_server`: the session's server with routes cleared for the test. It serves any host
  name: an SNI callback issues a certificate for the requested name from the test CA (cached).
  put(host, path, body, status=200, headers=None), redirect(host, path, location, status=301),
  set_status(host, path, status), set_untrusted(host) (that host's certificate comes from an
  unknown CA), hang(host, path) (accepts, never answers until the test ends),
  trickle(host, path, part="headers"|"body", interval=0.2) (sends its header fields or its
  body one byte per interval until the client goes away or the test ends),
  truncate(host, path, body) (announces a longer body, sends `body`, then closes),
  put(..., interim=(103,)) (interim 1xx responses before the answer), clear();
  POSTs (webhook receivers): answer_sequence(host, path, [500, 500, 200]) (one status per
  POST, the last repeated), hang(host, path) too, and verify_with(host, *secrets): each POST
  to that host is checked with the `standardwebhooks` library and answered 401 when no
  secret verifies it; `posts` lists every POST (headers, body, verified);
  attributes host ("127.0.0.1"), port, http_port (a plain-HTTP listener with the same routes,
  for "this port does not speak TLS"), stalled_port (accepts TCP, never completes a TLS
  handshake), old_tls_port (offers only TLS 1.0/1.1), ca_bundle_path (PEM of the test CA),
  requests (what was asked: host header, SNI, path), url(host, path).
  Unknown (host, path) pairs get 404. Names used with it resolve through the loopback DNS
  server: dns_server.set_a(name, "127.0.0.1").
- `https_settings`: HTTPS_PORT, HTTPS_CA_BUNDLE, HTTPS_ALLOW_LOOPBACK=True.
"""

import socket
import ssl
import tempfile
import threading
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Route:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False
    trickle: str = ""  # "headers" or "body": sent one byte at a time
    truncate: bool = False  # announce more than `body`, then close
    interim: tuple[int, ...] = ()  # 1xx responses sent before the answer


@dataclass(frozen=True)
class SeenRequest:
    host: str  # the Host header, without port
    server_name: str | None  # the TLS SNI (None on the plain-HTTP listener)
    path: str
    client: str


@dataclass(frozen=True)
class SeenPost:
    host: str
    path: str
    headers: dict
    body: bytes
    verified: bool | None  # None: the host verifies nothing


def _host_key(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LoopbackHTTPS/1.0"

    def setup(self):
        self.server_name = None
        self.request.settimeout(10)
        if self.server.tls:
            tls_socket = self.server.context.wrap_socket(self.request, server_side=True)
            self.server_name = getattr(tls_socket, "sni_name", None)
            self.request = tls_socket
        super().setup()

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        pass

    def do_GET(self):  # noqa: N802
        owner = self.server.owner
        host = _host_key(self.headers.get("Host", ""))
        path = self.path.split("?", 1)[0]
        owner.record(SeenRequest(host, getattr(self.request, "sni_name", None), path, self.client_address[0]))
        route = owner.route(host, path)
        if route.hang:
            owner.release.wait(30)
            return
        for status in route.interim:
            self.wfile.write(f"HTTP/1.1 {status} Interim\r\nLink: </style.css>; rel=preload\r\n\r\n".encode())
        if route.trickle:
            self._trickle(route, owner.release)
            return
        self.send_response(route.status)
        header_names = {name.lower() for name, _ in route.headers}
        for name, value in route.headers:
            self.send_header(name, value)
        if "content-type" not in header_names:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(route.body) + (1000 if route.truncate else 0)))
        self.end_headers()
        self.wfile.write(route.body)
        if route.truncate:
            self.close_connection = True

    def do_POST(self):  # noqa: N802
        owner = self.server.owner
        host = _host_key(self.headers.get("Host", ""))
        path = self.path.split("?", 1)[0]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = owner.verify(host, body, headers)
        owner.record_post(SeenPost(host, path, headers, body, verified))
        route = owner.route(host, path)
        if route.hang:
            owner.release.wait(60)
            return
        status = 401 if verified is False else owner.next_status(host, path, route.status)
        answer = f"status {status}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _trickle(self, route, release):
        """One byte per interval, for ever: the client's own deadline must end it."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        if route.trickle == "body":
            self.wfile.write(b"Content-Type: text/html\r\nContent-Length: 1000000\r\n\r\n")
        self.wfile.flush()
        interval = float(dict(route.headers).get("interval", "0.2"))
        byte = b"a" if route.trickle == "body" else b"X"
        try:
            while not release.wait(interval):
                self.wfile.write(byte)
                self.wfile.flush()
        except OSError:  # the client hung up: what the test wants
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner, tls: bool, context: ssl.SSLContext | None = None):
        self.owner = owner
        self.tls = tls
        self.context = context or owner.server_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):  # TLS failures are what some tests want
        self.owner.record_error()


class LoopbackHTTPSServer:
    def __init__(self):
        self.ca = trustme.CA()
        self.untrusted_ca = trustme.CA()  # a CA nobody trusts, for the certificate-error test
        self._directory = tempfile.TemporaryDirectory(prefix="loopback-https-")
        self.ca_bundle_path = str(Path(self._directory.name) / "test-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_bundle_path)
        self._lock = threading.RLock()
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self.release = threading.Event()
        self.clear()
        self.server_context = self._context_for("localhost", trusted=True)
        self.server_context.sni_callback = self._sni_callback
        self.host = "127.0.0.1"
        self._servers = [
            _Server(self, tls=True),
            _Server(self, tls=False),
            _Server(self, tls=True, context=self._old_tls_context()),
        ]
        self.port = self._servers[0].server_address[1]
        self.http_port = self._servers[1].server_address[1]
        self.old_tls_port = self._servers[2].server_address[1]
        # Listens, so TCP connects, but never accepts: no TLS handshake ever completes.
        self._stalled = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.stalled_port = self._stalled.getsockname()[1]
        self._threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in self._servers]
        for thread in self._threads:
            thread.start()

    # --- certificates ------------------------------------------------------------------------
    def _context_for(self, name: str, trusted: bool) -> ssl.SSLContext:
        with self._lock:
            key = (name, trusted)
            if key not in self._contexts:
                ca = self.ca if trusted else self.untrusted_ca
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ca.issue_cert(name).configure_cert(context)
                self._contexts[key] = context
            return self._contexts[key]

    def _old_tls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0/1.1 at higher levels
        with warnings.catch_warnings():  # deprecated versions are the point of this listener
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        self.ca.issue_cert("localhost").configure_cert(context)
        return context

    def _sni_callback(self, tls_object, server_name, _context):
        tls_object.sni_name = server_name
        if server_name:
            with self._lock:
                trusted = server_name.lower() not in self._untrusted
            tls_object.context = self._context_for(server_name.lower(), trusted)
        return None

    # --- routes -------------------------------------------------------------------------------
    def clear(self):
        with self._lock:
            self._routes: dict[tuple[str, str], Route] = {}
            self._untrusted: set[str] = set()
            self.requests: list[SeenRequest] = []
            self.posts: list[SeenPost] = []
            self._sequences: dict[tuple[str, str], list[int]] = {}
            self._secrets: dict[str, tuple[str, ...]] = {}
            self.errors = 0
        self.release.set()
        self.release = threading.Event()

    def put(self, host, path, body, status=200, headers=None, interim=()):
        body = body.encode() if isinstance(body, str) else bytes(body)
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(
                status, body, tuple((headers or {}).items()), interim=tuple(interim)
            )

    def trickle(self, host, path, part="body", interval=0.2):
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(200, headers=(("interval", str(interval)),), trickle=part)

    def truncate(self, host, path, body):
        body = body.encode() if isinstance(body, str) else bytes(body)
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(200, body, truncate=True)

    def redirect(self, host, path, location, status=301):
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(status, b"", (("Location", location),))

    def set_status(self, host, path, status):
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(status, f"status {status}".encode())

    def hang(self, host, path):
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(200, hang=True)

    def set_untrusted(self, host):
        with self._lock:
            self._untrusted.add(_host_key(host))

    def route(self, host, path) -> Route:
        with self._lock:
            return self._routes.get((host, path), Route(404, b"not found"))

    def record(self, seen: SeenRequest):
        with self._lock:
            self.requests.append(seen)

    def answer_sequence(self, host, path, statuses):
        with self._lock:
            self._routes[(_host_key(host), path)] = Route(statuses[-1])
            self._sequences[(_host_key(host), path)] = list(statuses)

    def next_status(self, host, path, default):
        with self._lock:
            sequence = self._sequences.get((host, path))
            if not sequence:
                return default
            return sequence.pop(0) if len(sequence) > 1 else sequence[0]

    def verify_with(self, host, *secrets):
        with self._lock:
            self._secrets[_host_key(host)] = secrets

    def verify(self, host, body, headers) -> bool | None:
        with self._lock:
            secrets = self._secrets.get(host)
        if secrets is None:
            return None
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    def record_post(self, seen: SeenPost):
        with self._lock:
            self.posts.append(seen)

    def record_error(self):
        with self._lock:
            self.errors += 1

    def url(self, host, path="/"):
        return f"https://{host}:{self.port}{path}"

    def stop(self):
        self._stalled.close()
        self.release.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._directory.cleanup()


@pytest.fixture(scope="session")
def _https_server_session():
    server = LoopbackHTTPSServer()
    yield server
    server.stop()


@pytest.fixture
def https_server(_https_server_session):
    _https_server_session.clear()
    yield _https_server_session
    _https_server_session.clear()


@pytest.fixture
def https_settings(settings, https_server):
    settings.HTTPS_PORT = https_server.port
    settings.HTTPS_CA_BUNDLE = https_server.ca_bundle_path
    settings.HTTPS_ALLOW_LOOPBACK = True
    return https_server
