"""The import progress poller in headless Chromium, through a real loopback proxy in front of the
live server: a 502 during a "deploy" shows the reconnecting note and the poller recovers by
itself; a session that ended sends the browser to the sign-in page instead of pasting it into
the progress box."""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from imports import services
from imports.models import ImportJob
from imports.tests.conftest import make_world
from imports.tests.factories import ImportJobFactory, ImportRowFactory, UserFactory
from imports.tests.test_import_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Proxy:
    """A plain HTTP reverse proxy on loopback; `failing = True` answers 502 like a load balancer
    with no healthy backend."""

    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.failing = False
        self.bad_gateways = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                if proxy.failing:
                    proxy.bad_gateways += 1
                    body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                    self.send_response(502)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

            do_GET = do_POST = do_HEAD = _forward  # noqa: N815  (http.server's names)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def proxy(live_server):
    proxy = Proxy(live_server.url)
    yield proxy
    proxy.stop()


@pytest.fixture
def running_import(db):
    """An import in progress (no worker: the test plays it chunk by chunk)."""
    world = make_world()
    job = ImportJobFactory(
        domain=world.domain, status=ImportJob.Status.IMPORTING, rows_total=4, rows_eligible=4, created_by=world.admin
    )
    for name in ("ann", "ben", "cat", "dan"):
        ImportRowFactory(job=job, user=UserFactory(email=f"{name}@example.com"), eligible=True)
    return world, job


def _open(browser, proxy, user, path):
    context = browser.new_context(base_url=proxy.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)

    class _Server:  # sign_in sets the session cookie for the address the browser talks to
        url = proxy.url

    sign_in(page, user, _Server)
    page.goto(path)
    return context, page


def test_a_502_shows_reconnecting_and_the_poller_recovers(browser, proxy, running_import, settings):
    settings.IMPORT_CHUNK_SIZE = 2
    world, job = running_import
    context, page = _open(browser, proxy, world.admin, reverse("imports:job", args=[job.pk]))
    try:
        page.locator("progress.import-progress").wait_for()
        note = page.locator("#job-progress-reconnecting")
        assert note.is_hidden()

        proxy.failing = True  # the deploy: every request gets a 502
        note.wait_for(state="visible")
        assert "Reconnecting" in note.inner_text()
        assert "502" not in page.locator("#job-progress").inner_text()  # the error page is never pasted in
        assert proxy.bad_gateways >= 1

        services.run_import_chunk(job.pk)  # the import goes on meanwhile
        proxy.failing = False
        page.get_by_text("2 of 4 eligible users processed").wait_for()  # back, with the news
        note.wait_for(state="hidden")

        services.run_import(job.pk)
        page.get_by_text("4 users were imported.").wait_for()  # reloaded when done
    finally:
        context.close()


def test_an_ended_session_goes_to_the_sign_in_page(browser, proxy, running_import, settings):
    from django.contrib.sessions.models import Session

    world, job = running_import
    job_path = reverse("imports:job", args=[job.pk])
    context, page = _open(browser, proxy, world.admin, job_path)
    try:
        page.locator("progress.import-progress").wait_for()
        # The session ends on the server (expiry, sign-out elsewhere): gone from the store.
        session_key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
        import_module(settings.SESSION_ENGINE).SessionStore(session_key).delete()  # store and its cache
        assert not Session.objects.filter(session_key=session_key).exists()

        page.wait_for_url(f"**{reverse('console:login')}?next=**")
        assert job_path in page.url  # after signing in again, back to this job
        assert page.locator("#job-progress").count() == 0  # a whole page, not pasted into the box
        page.get_by_role("button", name="Sign in").wait_for()
    finally:
        context.close()
