"""Headless Chromium: the API tokens page (create, copy the secret once, revoke) with the
keyboard, and the API docs page running under the console's strict CSP."""

import re

import pytest

from api.models import ApiToken
from api.tests.conftest import TokenClient
from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user, live_server):
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def test_create_copy_and_revoke_a_token_with_the_keyboard(page, live_server):
    organization = OrganizationFactory(name="Example Corp")
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="owner@example.com").user
    sign_in(page, owner, live_server)
    page.goto("/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="Create token").click()
    page.get_by_label("Name").fill("Terraform")
    page.get_by_label("domains:read").check()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the next checkbox, domains:write, by keyboard
    page.get_by_role("button", name="Create token").press("Enter")
    page.get_by_role("heading", name="API token created").wait_for()
    secret = page.locator("#token-secret").inner_text().strip()
    assert re.fullmatch(r"adc_live_[0-9A-Za-z]{46}", secret)
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert ApiToken.objects.get().scopes == ["domains:read", "domains:write"]
    assert TokenClient(secret).get("/api/v1/me").status_code == 200

    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()
    page.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke token").click()
    page.get_by_text("was revoked").wait_for()
    assert TokenClient(secret).get("/api/v1/me").status_code == 401


def test_the_api_docs_run_under_the_strict_csp(page, live_server):
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    requests_elsewhere = []
    page.on("request", lambda request: requests_elsewhere.append(request.url) if not request.url.startswith(live_server.url) and not request.url.startswith("data:") else None)
    page.goto("/api/v1/docs")
    page.get_by_text("Admin Center API").first.wait_for()
    page.get_by_text("/api/v1/domains/{id}/verify").first.wait_for()
    assert violations == [] and requests_elsewhere == []
