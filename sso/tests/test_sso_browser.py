"""Single sign-on in headless Chromium: from the sign-in page through the loopback OIDC provider
(its own process, real redirects) into the Admin Center; the Owner's pages and the refusal of a
password under enforcement, in English and Japanese, on a desktop and a phone. Screenshots go to
/tmp/shots/sso/."""

import tempfile
from pathlib import Path

import pytest
from django.urls import reverse

from console.models import Membership
from console.tests.factories import MembershipFactory
from domains.tests.factories import DomainFactory
from sso import services
from sso.views import callback_url
from tests.support.console_pages import language_cookie, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(tempfile.gettempdir()) / "shots" / "sso"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def sso_world(live_server, settings, oidc_provider, organization, owner):
    settings.CONSOLE_BASE_URL = live_server.url
    domain = DomainFactory(organization=organization, name="example.com", unicode_name="example.com")
    oidc_provider.register("admin-center", "browser-secret", callback_url())
    services.save_provider(
        organization=organization,
        issuer=oidc_provider.issuer,
        client_id="admin-center",
        client_secret="browser-secret",
        jit_provisioning=True,
        actor=owner,
    )
    alice = MembershipFactory(organization=organization, user__email="alice@example.com").user
    return {"domain": domain, "owner": owner, "alice": alice}


def _context(browser, live_server, *, viewport, language, user=None):
    # The loopback IdP's certificate comes from the tests' own CA.
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, locale="en-US", ignore_https_errors=True
    )
    cookies = [language_cookie(language, live_server.url)]
    if user is not None:
        cookies.append(session_cookie(user, live_server.url))
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_an_owner_signs_in_through_the_identity_provider_into_the_admin_center(
    browser, live_server, sso_world, oidc_provider, language
):
    context, page = _context(browser, live_server, viewport=DESKTOP, language=language)
    try:
        page.goto(reverse("console:login"))
        page.fill("#id_username", "owner@example.com")
        _shot(page, f"sign-in-{language}-desktop")
        page.click("button[name=sso]")
        page.wait_for_url(f"{oidc_provider.issuer}/authorize?**")
        assert page.input_value("#email") == "owner@example.com"  # the login_hint
        page.click("text=Sign in at the IdP")
        page.wait_for_url(f"{live_server.url}/")
        nav = page.locator("nav.sidenav")
        assert nav.is_visible()
        assert page.locator("header .user-email").inner_text() == "owner@example.com"
        _shot(page, f"signed-in-{language}-desktop")
    finally:
        context.close()


def test_a_new_person_is_provisioned_at_their_first_sign_in(browser, live_server, sso_world, oidc_provider):
    context, page = _context(browser, live_server, viewport=PHONE, language="en")
    try:
        page.goto(reverse("console:login"))
        page.fill("#id_username", "newcomer@example.com")
        page.click("button[name=sso]")
        page.wait_for_url(f"{oidc_provider.issuer}/authorize?**")
        page.click("text=Sign in at the IdP")
        page.wait_for_url(f"{live_server.url}/")
        assert Membership.objects.get(user__email="newcomer@example.com").joined_via == Membership.JoinedVia.SSO
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_sso_pages_and_the_refused_password(browser, live_server, sso_world, language, viewport):
    size = "desktop" if viewport is DESKTOP else "phone"
    owner, domain = sso_world["owner"], sso_world["domain"]
    context, page = _context(browser, live_server, viewport=viewport, language=language, user=owner)
    try:
        page.goto(reverse("sso:settings"))
        assert page.locator("#sso-callback").inner_text() == f"{live_server.url}/sso/oidc/callback/"
        _shot(page, f"settings-{language}-{size}")
        page.goto(reverse("sso:domain_requirement", args=[domain.pk]))
        _shot(page, f"require-confirm-{language}-{size}")
        page.click("button.danger")
        page.wait_for_url(f"{live_server.url}/sso/")
        assert page.locator(".badge.ok", has_text="Required" if language == "en" else "必須").count() == 1
        _shot(page, f"settings-required-{language}-{size}")
    finally:
        context.close()
    context, page = _context(browser, live_server, viewport=viewport, language=language)
    try:
        page.goto(reverse("console:login"))
        page.fill("#id_username", "alice@example.com")
        page.fill("#id_password", "a-good-password-123")
        page.click("main form button[type=submit]:not([name])")
        page.wait_for_selector(".errorlist")
        assert "example.com" in page.locator(".errorlist").inner_text()
        _shot(page, f"password-refused-{language}-{size}")
        page.goto(reverse("sso:start"))
        _shot(page, f"start-{language}-{size}")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_token_signed_with_an_unpublished_key_is_refused_with_a_clear_page(
    browser, live_server, sso_world, oidc_provider, language, viewport
):
    size = "desktop" if viewport is DESKTOP else "phone"
    oidc_provider.behave(unpublished_key=True)
    context, page = _context(browser, live_server, viewport=viewport, language=language)
    try:
        page.goto(reverse("console:login"))
        page.fill("#id_username", "alice@example.com")
        page.click("button[name=sso]")
        page.wait_for_url(f"{oidc_provider.issuer}/authorize?**")
        page.click("text=Sign in at the IdP")
        page.wait_for_url(f"{live_server.url}/sso/oidc/callback/**")
        text = page.locator("main").inner_text()
        assert ("does not publish" if language == "en" else "公開していない鍵") in text, text
        _shot(page, f"unpublished-key-{language}-{size}")
    finally:
        context.close()
