"""The security-key page script in headless Chromium, answered by Chromium's own virtual
authenticator (DevTools WebAuthn domain): register a key on the Security page, sign out, sign in
with the password and the key."""

import pytest

from console.tests.factories import PASSWORD, MembershipFactory
from mfa.models import SecurityKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def key_site(settings, live_server):
    # Browsers offer WebAuthn on http only for "localhost": the live server's own address.
    origin = live_server.url.replace("127.0.0.1", "localhost")
    settings.MFA_WEBAUTHN_ORIGIN = origin
    settings.MFA_WEBAUTHN_RP_ID = "localhost"
    return origin


def test_register_a_key_and_sign_in_with_it(browser, key_site, clock):
    owner = MembershipFactory(role="owner", user__email="keys@example.com").user
    context = browser.new_context(base_url=key_site, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    try:
        page.goto("/sign-in/")
        page.fill("#id_username", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector("nav.sidenav")

        page.goto("/security/")
        page.fill("#id_name", "Virtual key")
        with page.expect_navigation():
            page.get_by_role("button", name="Add a security key or passkey").click()
        page.locator("ul.recovery-codes li").first.wait_for()  # the first factor: codes shown at once
        assert SecurityKey.objects.filter(user=owner, name="Virtual key").exists()

        page.goto("/security/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/sign-in/**")
        page.fill("#id_username", owner.email)
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/security/verify/**")
        with page.expect_navigation():
            page.get_by_role("button", name="Use a security key or passkey").click()
        page.wait_for_selector("nav.sidenav")
        assert page.locator("h1").inner_text() == "Admin Center"
        assert SecurityKey.objects.get(user=owner).last_used_at is not None
    finally:
        context.close()
