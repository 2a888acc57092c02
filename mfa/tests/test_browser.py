"""In headless Chromium: an Owner whose new organization requires two-factor authentication
signs in, is taken to enrolment, sets up an authenticator app from the QR page (the code typed
is pyotp's, on the project clock), saves the recovery codes, signs out, and signs in again with
the password and a code — in English, then in Japanese, on a desktop and on a phone.
Screenshots go to /tmp/shots/mfa/ (SHOTS_DIR) for a person to look at."""

import os
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe

from console import services as console_services
from console.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots/mfa"))  # noqa: S108  (screenshots for a person to look at)


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], f"{name} is too wide"
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def _no_serious_violations(page):
    violations = Axe().run(page).response["violations"]
    serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, serious


def _sign_in(page, email):
    page.goto("/sign-in/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")


def test_enrol_an_authenticator_app_sign_out_and_sign_in_with_a_code(page, clock):
    _organization, owner, _created = console_services.create_organization(
        name="Initech", owner_email="boss@initech.test", password=PASSWORD
    )

    # The policy of a new organization: enrolment first, nothing else.
    _sign_in(page, owner.email)
    page.wait_for_url("**/security/")
    assert "requires two-factor authentication" in page.locator(".alert").inner_text()
    _shot(page, "en-enrolment-required")
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.wait_for_url("**/security/app/add/")
    assert page.locator("img.qr-code").get_attribute("src").startswith("data:image/svg+xml")
    _no_serious_violations(page)
    _shot(page, "en-qr-code")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("#id_code", totp.at(clock.now()))
    page.click("main button[type=submit]")
    codes = page.locator("ul.recovery-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    _shot(page, "en-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url("**/security/")
    assert page.locator(".badge.verified").inner_text() == "Two-factor authentication is on"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/**")

    # Password, then the second factor.
    clock.advance(timedelta(seconds=60))
    _sign_in(page, owner.email)
    page.wait_for_url("**/security/verify/**")
    page.fill("#id_code", "000000" if totp.at(clock.now()) != "000000" else "111111")
    page.click("form[action$='/security/verify/'] button[type=submit]")
    assert "not right" in page.locator(".errorlist").inner_text()
    _no_serious_violations(page)
    _shot(page, "en-challenge-wrong-code")
    page.fill("#id_code", totp.at(clock.now()))
    page.click("form[action$='/security/verify/'] button[type=submit]")
    page.wait_for_selector("nav.sidenav")
    assert page.locator("h1").inner_text() == "Admin Center"

    # The same in Japanese.
    page.goto("/users/")
    page.select_option("#language-select", "ja")
    with page.expect_navigation():
        page.locator("form.lang-switch button").click()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "オン" in page.locator("table").inner_text()  # the Users page shows who has enrolled
    _shot(page, "ja-users")
    page.goto("/security/")
    _shot(page, "ja-security")
    page.get_by_role("button", name="サインアウト").click()
    page.wait_for_url("**/sign-in/**")
    clock.advance(timedelta(seconds=60))
    _sign_in(page, owner.email)
    page.wait_for_url("**/security/verify/**")
    assert page.locator("h1").inner_text() == "2 段階認証"
    _no_serious_violations(page)
    _shot(page, "ja-challenge")
    page.fill("#id_code", totp.at(clock.now()))
    page.click("form[action$='/security/verify/'] button[type=submit]")
    page.wait_for_selector("nav.sidenav")
    assert page.locator("h1").inner_text() == "管理センター"
    _shot(page, "ja-overview-after-sign-in")
