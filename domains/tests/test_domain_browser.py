"""End to end in headless Chromium: add a domain, publish its TXT record in the loopback DNS
server, verify it, then add a user at it; and delete a domain through its dialog."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from console.models import Membership
from domains.models import Domain

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_OWNER = "owner@example.com"
DEMO_PASSWORD = "demo-password-123"


@pytest.fixture
def signed_in(page):
    call_command("load_demo_data", stdout=io.StringIO())
    page.goto("/sign-in/")
    page.get_by_label("E-mail address").fill(DEMO_OWNER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def test_add_verify_by_dns_then_add_a_user_at_the_domain(signed_in, dns_server, dns_settings):
    page = signed_in
    # Before the domain is verified, the Users section refuses an address at it.
    page.goto("/users/add/")
    page.get_by_label("E-mail address").fill("new.hire@acme.test")
    page.get_by_role("button", name="Add user").click()
    assert page.locator(".errorlist").first.inner_text()
    assert not Membership.objects.filter(user__email="new.hire@acme.test").exists()

    page.get_by_role("link", name="Domains").click()
    page.get_by_role("link", name="Add Domain").first.click()
    page.get_by_label("Domain").fill("  https://ACME.test/careers ")
    page.get_by_role("button", name="Save & continue").click()
    page.wait_for_url(re.compile(r"/domains/\d+/verify/$"))
    assert "we took only its domain name" in page.content()

    host = page.locator("[id^=txt-host-]").inner_text().strip()
    value = page.locator("[id^=txt-value-]").inner_text().strip()
    assert host == "_twilio.acme.test"
    assert value.startswith("twilio-domain-verification=")
    copy = page.locator("button[data-copy^='#txt-value-']")
    copy.click()
    expect(copy).to_have_text("Copied")  # the clipboard write resolves asynchronously

    # Verify before publishing: the page says what it found and stays pending.
    page.get_by_role("button", name="Verify Domain").click()
    page.wait_for_load_state()
    assert "Not verified yet" in page.content()
    assert Domain.objects.get(name="acme.test").status == Domain.Status.PENDING

    dns_server.set_txt(host, value)
    page.get_by_role("button", name="Verify Domain").click()
    page.wait_for_load_state()
    assert page.locator(".badge.verified").first.is_visible()
    assert "acme.test is verified." in page.content()
    assert Domain.objects.get(name="acme.test").status == Domain.Status.VERIFIED

    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name="Add user").click()
    page.get_by_label("E-mail address").fill("new.hire@acme.test")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_url(re.compile(r"/users/$"))
    assert "new.hire@acme.test was added." in page.content()
    assert Membership.objects.filter(user__email="new.hire@acme.test", organization__name="Example Corp").exists()


def test_delete_a_domain_through_the_dialog(signed_in):
    page = signed_in
    domain = Domain.objects.get(name="example.com")
    page.goto(f"/domains/{domain.pk}/")
    page.get_by_role("link", name="Delete domain").click()
    dialog = page.locator("#delete-dialog")
    assert dialog.is_visible()
    assert "Existing members stay" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete domain").click()
    page.wait_for_url(re.compile(r"/domains/$"))
    assert "example.com was deleted." in page.content()
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REMOVED
    assert domain.removal_reason == f"Deleted by {DEMO_OWNER}"
    assert Membership.objects.filter(user__email="alice@example.com").exists()
