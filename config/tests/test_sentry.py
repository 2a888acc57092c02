"""Error tracking: with SENTRY_DSN set, exceptions of a view and of a Celery task reach Sentry
(a loopback HTTP receiver that counts envelopes stands in for it); without it nothing is sent."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: sentry_sdk.init is process-wide and must not leak into other tests.
SCRIPT = """
import django
django.setup()
import sentry_sdk
from celery import shared_task
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
from django.urls import path

def boom_view(request):
    raise RuntimeError("view exploded on purpose")

urlpatterns = [path("boom/", boom_view)]

@shared_task(name="tests.sentry.boom")
def boom_task():
    raise RuntimeError("task exploded on purpose")

setup_test_environment()
with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500, response.status_code
from config.celery import app
app.conf.task_always_eager = True
boom_task.apply()
sentry_sdk.flush(timeout=10)
print("sentry active:", sentry_sdk.get_client().is_active())
print("done")
"""


class _Receiver(BaseHTTPRequestHandler):
    envelopes: list = []

    def do_POST(self):  # noqa: N802  (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.envelopes.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_receiver():
    _Receiver.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _run(env_extra: dict) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", **env_extra}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stderr[-3000:]
    return result.stdout


def _exceptions(envelopes) -> list[str]:
    """The exception messages in the error events received."""
    messages = []
    for _path, body in envelopes:
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            for exception in (item.get("exception") or {}).get("values", []):
                messages.append(exception.get("value", ""))
    return messages


def test_exceptions_of_views_and_tasks_reach_sentry(sentry_receiver):
    port = sentry_receiver.server_address[1]
    out = _run({"SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/42", "SENTRY_ENVIRONMENT": "test"})
    assert "sentry active: True" in out
    assert all(path == "/api/42/envelope/" for path, _ in _Receiver.envelopes)
    messages = _exceptions(_Receiver.envelopes)
    assert "view exploded on purpose" in messages
    assert "task exploded on purpose" in messages


def test_without_a_dsn_nothing_is_sent(sentry_receiver):
    out = _run({"SENTRY_DSN": ""})
    assert "sentry active: False" in out  # not even initialised
    assert _Receiver.envelopes == []
