"""Shared test fixtures: the clock, a browser, and (in tests/support) real DNS/HTTPS servers."""

import os
import shutil

# Tests never talk to the development broker: tasks enqueued by services go to an in-memory
# broker unless a test starts a real worker against Redis (see the celery_worker marker).
os.environ["CELERY_BROKER_URL"] = os.environ.get("TEST_CELERY_BROKER_URL", "memory://")
# Playwright's sync API runs an event loop in the test thread; the ORM calls made by test
# code around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402

from console import clock as console_clock  # noqa: E402
from tests.support.missing import skip_or_fail  # noqa: E402

pytest_plugins = [
    "tests.support.dns_server",
    "tests.support.https_server",
    "tests.support.smtp_server",
    "tests.support.oidc_provider",
    "tests.support.saml_idp",
]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def clock():
    """The one clock, frozen at a fixed instant for the test; move it with clock.advance()."""
    from datetime import UTC, datetime

    console_clock.set_now(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    yield console_clock
    console_clock.reset()


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    console_clock.reset()


@pytest.fixture(autouse=True)
def _reset_language():
    """LocaleMiddleware activates the request's language and leaves it active in the thread:
    a test that calls services directly must not inherit the previous test's last page."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """Rate-limit and throttle counters live in the cache: each test starts from zero.

    Only the counters are deleted: with REDIS_URL the cache may share its Redis database with
    the Celery broker, whose queue bindings a FLUSHDB would silently drop.
    """
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisCache

    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=cache.make_key("rl:*")):
            client.delete(key)
    else:
        cache.clear()
    yield


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium via Playwright. Skips without it, unless REQUIRE_BROWSER=1."""
    have_browser = os.path.exists(CHROMIUM) or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        sync_playwright = None
    if not have_browser or sync_playwright is None:
        skip_or_fail(
            f"no browser: install Debian's chromium ({CHROMIUM}) and playwright to run browser tests",
            required_by="REQUIRE_BROWSER",
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def organization(db):
    """An organization ("Example Corp") for tests that need one, with its Owner below."""
    from console.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Example Corp")


@pytest.fixture
def owner(organization):
    from console.models import Membership
    from console.tests.factories import MembershipFactory

    return MembershipFactory(
        organization=organization, role=Membership.Role.OWNER, user__email="owner@example.com"
    ).user


@pytest.fixture
def admin_client(client, owner):
    """The test client, signed in as the organization's Owner."""
    client.force_login(owner)
    return client
