"""A real SMTP server on loopback for tests (aiosmtpd), that can refuse, defer or reject.

Fixtures (registered through `pytest_plugins` in the root conftest.py):

- `smtp_server`: a server on 127.0.0.1 at a spare port, started for the test. Attributes
  host, port, messages (email.message.Message, in arrival order); methods
  message_ids() (Counter of Message-ID headers), stop() / start() (refuse connections while
  stopped, on the same port), reply_for(address, "451 4.3.0 Try again later") (a reply to RCPT
  for that address instead of accepting it; "" to accept again).
- `smtp_settings`: points Django's SMTP backend at `smtp_server` (EMAIL_TIMEOUT 5 s).
- `silent_tcp_port`: a port on 127.0.0.1 that accepts connections and never says a word.

The chaos run (bench/chaos_run.py) uses `SMTPServer` on its own.
"""

import email
import socket
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller


def spare_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it), for servers that need a fixed one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_RCPT(self, smtp_session, session, envelope, address, rcpt_options):  # noqa: N802  (aiosmtpd's hook name)
        reply = self.server.replies.get(address.lower(), "")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp_session, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        with self.server.lock:
            self.server.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or spare_port(host)
        self.messages: list = []
        self.replies: dict[str, str] = {}
        self.lock = threading.Lock()
        self._controller = None

    def start(self) -> "SMTPServer":
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def reply_for(self, address: str, reply: str) -> None:
        self.replies[address.lower()] = reply

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(message["Message-ID"] for message in self.messages)


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def silent_tcp_port():
    """Accepts connections (the kernel's backlog) and never answers: a hung mail server."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()
