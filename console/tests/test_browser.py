"""A real browser through the Admin Center shell: sign in, switch language, add a user."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_switches_to_japanese_and_is_told_a_domain_is_not_verified(page):
    call_command("load_demo_data", verbosity=0)

    page.goto("/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", "demo-password-123")
    page.click("main button[type=submit]")
    page.wait_for_selector("nav.sidenav")
    assert page.locator("h1").inner_text() == "Admin Center"  # the overview
    assert page.locator(".help-footer").inner_text().startswith("Need help?")
    assert page.locator("nav.sidenav").inner_text().splitlines() == [
        "Overview", "Domains", "Users", "Accounts", "Audit log", "API tokens", "Webhooks", "Two-factor policy",
        "Single sign-on",
    ]

    page.select_option("#language-select", "ja")  # choosing does not submit; the button does
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
    assert page.locator("html").get_attribute("lang") == "ja"
    navigation = page.locator("nav.sidenav")
    assert navigation.get_by_role("link", name="ドメイン").is_visible()
    assert navigation.get_by_role("link", name="ユーザー").is_visible()
    assert navigation.get_by_role("link", name="監査ログ").is_visible()
    assert navigation.get_by_role("link", name="API トークン").is_visible()
    assert navigation.get_by_role("link", name="シングルサインオン").is_visible()

    navigation.get_by_role("link", name="ユーザー").click()
    page.wait_for_url("**/users/")
    page.click("a[href$='/users/add/']")
    page.fill("#id_email", "someone@not-ours.test")
    page.click("form.card button[type=submit]")
    error = page.locator(".errorlist")
    error.wait_for()
    assert "not-ours.test" in error.inner_text()
    assert "検証済みドメイン" in error.inner_text()  # the page is in Japanese now

    # The demo domain is verified, so the same form adds a user there.
    page.fill("#id_email", "newcomer@example.com")
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/users/")
    assert "newcomer@example.com" in page.locator("table").inner_text()
