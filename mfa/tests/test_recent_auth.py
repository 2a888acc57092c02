"""Sensitive actions ask for a recent authentication (console.permissions.require_recent_auth):
adding a factor, API tokens, roles, the policy, deleting a domain. The re-authentication page
takes the password (through the sign-in throttle) or a second factor, and brings the user back."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from console.models import AuditEvent, Membership
from console.tests.factories import PASSWORD, MembershipFactory
from domains.models import Domain
from domains.tests.factories import DomainFactory
from mfa.tests.conftest import code_now, enrol_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale(clock, admin_client, settings):
    """The Owner signed in longer ago than RECENT_AUTH_SECONDS."""
    clock.advance(timedelta(seconds=settings.RECENT_AUTH_SECONDS + 1))
    return admin_client


def _next_of(response) -> str:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mfa:reauthenticate"), response["Location"]
    return parse_qs(location.query)["next"][0]


def test_a_fresh_sign_in_is_recent_enough(clock, admin_client):
    assert admin_client.get(reverse("api_tokens:create")).status_code == 200
    assert admin_client.get(reverse("mfa:totp_add")).status_code == 200


@pytest.mark.parametrize("name", ["api_tokens:create", "mfa:totp_add"])
def test_pages_that_add_credentials_ask_and_come_back(stale, name):
    assert _next_of(stale.get(reverse(name))) == reverse(name)


def test_a_role_change_asks_first_and_changes_nothing(stale, organization):
    member = MembershipFactory(organization=organization)
    users = "http://testserver" + reverse("console:users")
    response = stale.post(reverse("console:user_change_role", args=[member.pk]), {"role": "administrator"}, HTTP_REFERER=users)
    assert _next_of(response) == users  # back to the form, to do it again knowingly
    member.refresh_from_db()
    assert member.role == Membership.Role.MEMBER


def test_deleting_a_domain_asks_first(stale, organization):
    domain = DomainFactory(organization=organization, name="example.com")
    response = stale.post(reverse("domains:delete", args=[domain.pk]))
    assert _next_of(response) == reverse("console:home")  # no usable Referer: somewhere safe
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_a_foreign_referer_is_not_followed(stale, organization):
    member = MembershipFactory(organization=organization)
    response = stale.post(
        reverse("console:user_change_role", args=[member.pk]), {"role": "owner"}, HTTP_REFERER="https://evil.example/x"
    )
    assert _next_of(response) == reverse("console:home")


def test_security_key_options_ask_first(stale):
    response = stale.post(reverse("mfa:key_options"))
    assert _next_of(response) == reverse("console:home")


def test_the_password_re_authenticates_and_returns(stale, organization):
    response = stale.post(reverse("mfa:reauthenticate"), {"password": PASSWORD, "next": reverse("api_tokens:create")})
    assert response.status_code == 302 and response["Location"] == reverse("api_tokens:create")
    assert stale.get(reverse("api_tokens:create")).status_code == 200
    member = MembershipFactory(organization=organization)
    stale.post(reverse("console:user_change_role", args=[member.pk]), {"role": "administrator"})
    member.refresh_from_db()
    assert member.role == Membership.Role.ADMINISTRATOR


def test_a_wrong_password_is_refused_and_throttled(stale, settings):
    for _attempt in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
        response = stale.post(reverse("mfa:reauthenticate"), {"password": "wrong"})
        assert response.status_code == 400 and "That password is not right." in response.content.decode()
    response = stale.post(reverse("mfa:reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 400 and "Too many sign-in attempts" in response.content.decode()
    assert _next_of(stale.get(reverse("api_tokens:create")))


def test_an_open_redirect_in_next_is_ignored(stale):
    response = stale.post(reverse("mfa:reauthenticate"), {"password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == reverse("console:home")


def test_a_second_factor_re_authenticates_too(clock, admin_client, settings):
    secret = enrol_totp(admin_client)
    clock.advance(timedelta(seconds=settings.RECENT_AUTH_SECONDS + 60))
    assert _next_of(admin_client.get(reverse("api_tokens:create")))
    page = admin_client.get(reverse("mfa:reauthenticate")).content.decode()
    assert "Confirm with a code" in page
    response = admin_client.post(reverse("mfa:reauthenticate"), {"code": code_now(secret), "next": reverse("api_tokens:create")})
    assert response.status_code == 302
    assert admin_client.get(reverse("api_tokens:create")).status_code == 200
    assert AuditEvent.objects.filter(action="user.two_factor_passed", detail__purpose="reauthenticate").exists()


def test_the_window_is_a_setting(clock, admin_client, settings):
    settings.RECENT_AUTH_SECONDS = 60
    clock.advance(timedelta(seconds=61))
    assert _next_of(admin_client.get(reverse("api_tokens:create")))
