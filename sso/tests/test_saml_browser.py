"""SAML single sign-on in headless Chromium: from the sign-in page through the loopback SAML IdP
(its own process; its page auto-submits the signed Response to our ACS, cross-site) into the
Admin Center; the Owner's settings page with SAML configured, in English and Japanese, on a
desktop and a phone. Screenshots go to /tmp/shots/sso/."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from console.tests.factories import MembershipFactory
from domains.tests.factories import DomainFactory
from sso import services
from sso.tests.test_sso_browser import DESKTOP, PHONE, _context, _shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def saml_world(live_server, settings, saml_idp, organization, owner):
    settings.CONSOLE_BASE_URL = live_server.url
    DomainFactory(organization=organization, name="example.com", unicode_name="example.com")
    provider = services.save_saml_provider(
        organization=organization, metadata_url=saml_idp.metadata_url, metadata_xml=None, jit_provisioning=True, actor=owner
    )
    sp = services.saml_service_provider(organization)
    saml_idp.trust(Client().get(urlsplit(sp.entity_id).path).content.decode())
    MembershipFactory(organization=organization, user__email="alice@example.com")
    return {"owner": owner, "provider": provider, "sp": sp}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_an_owner_signs_in_through_the_saml_idp_into_the_admin_center(browser, live_server, saml_world, saml_idp, language):
    context, page = _context(browser, live_server, viewport=DESKTOP, language=language)
    try:
        page.goto(reverse("console:login"))
        page.fill("#id_username", "owner@example.com")
        page.click("button[name=sso]")
        page.wait_for_url(f"{saml_idp.base}/sso/redirect?SAMLRequest=**")
        page.fill("#email", "owner@example.com")
        page.click("text=Sign in at the IdP")
        page.wait_for_url(f"{live_server.url}/")
        assert page.locator("nav.sidenav").is_visible()
        assert page.locator("header .user-email").inner_text() == "owner@example.com"
        _shot(page, f"saml-signed-in-{language}-desktop")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_settings_page_with_saml_configured(browser, live_server, saml_world, saml_idp, language, viewport):
    size = "desktop" if viewport is DESKTOP else "phone"
    context, page = _context(browser, live_server, viewport=viewport, language=language, user=saml_world["owner"])
    try:
        page.goto(reverse("sso:settings"))
        assert page.input_value("#saml-acs") == saml_world["sp"].acs_url
        assert page.input_value("#saml-entity") == saml_world["sp"].entity_id
        assert page.get_attribute("#saml-acs", "readonly") is not None
        assert saml_idp.entity_id in page.locator("dl.facts").inner_text()
        _shot(page, f"saml-settings-{language}-{size}")
    finally:
        context.close()
