"""Signing in through a real OpenID Connect provider on loopback (its own process): discovery,
authorization code + PKCE, state and nonce used once, the ID token's signature and claims."""

from datetime import UTC, datetime, timedelta

import pytest

from console import clock
from console.models import AuditEvent, Membership, User
from console.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from domains.tests.factories import DomainFactory
from sso import crypto
from sso.models import IdentityProvider
from sso.tests.conftest import CLIENT_SECRET, provider_url

pytestmark = pytest.mark.django_db


def signed_in_user(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def alice(organization, domain):
    return MembershipFactory(organization=organization, user__email="alice@example.com").user


def test_configuring_the_provider_reads_its_discovery_document_and_encrypts_the_secret(provider, oidc_provider):
    stored = IdentityProvider.objects.get(pk=provider.pk)
    assert stored.authorization_endpoint == f"{oidc_provider.issuer}/authorize"
    assert stored.token_endpoint == f"{oidc_provider.issuer}/token"
    assert stored.jwks_uri == f"{oidc_provider.issuer}/jwks"
    assert CLIENT_SECRET not in stored.client_secret_encrypted
    assert crypto.decrypt(stored.client_secret_encrypted) == CLIENT_SECRET
    event = AuditEvent.objects.get(action="sso.configured")
    assert CLIENT_SECRET not in str(event.detail)
    assert event.detail["client_secret_changed"] is True


def test_a_managed_user_signs_in_through_the_provider(provider, alice, sso_sign_in, client):
    response, _callback = sso_sign_in("alice@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user(client) == str(alice.pk)
    assert AuditEvent.objects.filter(action="sso.signed_in", target_id=str(alice.pk)).exists()
    assert client.get("/").status_code in (200, 403)  # a Member sees the "for admins" page, signed in


def test_an_identity_provider_sign_in_answers_for_the_second_factor(provider, alice, sso_sign_in, client):
    """A password sign-in of a user with a second factor owes it; the IdP's sign-in does not."""
    User.objects.filter(pk=alice.pk).update(two_factor_enabled=True)
    response, _callback = sso_sign_in("alice@example.com")
    assert response["Location"] == "/"
    assert signed_in_user(client) == str(alice.pk)
    assert not client.session.get("mfa_pending")
    assert client.get("/").status_code in (200, 403)  # not sent to the second-factor page


def test_the_callback_cannot_be_replayed(provider, alice, sso_sign_in, client):
    _response, callback = sso_sign_in("alice@example.com")
    client.logout()
    replay = client.get(callback)
    assert replay.status_code == 400
    assert b"already used" in replay.content
    assert signed_in_user(client) is None


def test_a_callback_with_an_unknown_state_is_refused(provider, alice, oidc_provider, client):
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    callback = oidc_provider.sign_in(provider_url(started), "alice@example.com")
    forged = callback.replace("state=", "state=forged")
    response = client.get(forged.split("127.0.0.1:8000", 1)[-1])
    assert response.status_code == 400
    assert signed_in_user(client) is None


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ({"expires_in": -3600}, "expired_token"),
        ({"nonce": "a-nonce-from-another-sign-in"}, "invalid_claim"),
        ({"audience": "another-client"}, "invalid_claim"),
        ({"foreign_key": True}, "bad_signature"),
    ],
)
def test_an_id_token_that_is_expired_replayed_for_us_or_forged_is_refused(
    provider, alice, oidc_provider, sso_sign_in, client, behaviour, reason
):
    oidc_provider.behave(**behaviour)
    response, _callback = sso_sign_in("alice@example.com")
    assert response.status_code == 400
    assert b"could not be verified" in response.content
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="sso.signin_refused").detail["reason"] == reason


def test_expiry_is_judged_by_the_project_clock(provider, alice, sso_sign_in, client):
    clock.set_now(datetime.now(UTC) + timedelta(hours=2))
    response, _callback = sso_sign_in("alice@example.com")
    assert response.status_code == 400
    assert AuditEvent.objects.get(action="sso.signin_refused").detail["reason"] == "expired_token"


def test_a_sign_in_started_too_long_ago_is_refused(provider, alice, oidc_provider, client):
    started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    callback = oidc_provider.sign_in(provider_url(started), "alice@example.com")
    clock.set_now(datetime.now(UTC) + timedelta(minutes=11))
    response = client.get(callback.split("127.0.0.1:8000", 1)[-1])
    assert response.status_code == 400
    assert b"expired" in response.content
    assert signed_in_user(client) is None


def test_an_address_at_a_domain_the_organization_has_not_verified_is_refused(
    provider, alice, organization, sso_sign_in, client
):
    victim = UserFactory(email="ceo@victim.example")
    DomainFactory(organization=organization, name="pending.example", pending=True)
    for asserted in ("ceo@victim.example", "someone@pending.example"):
        response, _callback = sso_sign_in("alice@example.com", asserted=asserted)
        assert response.status_code == 403
        assert b"not at a verified domain" in response.content
        assert signed_in_user(client) is None
    refusals = AuditEvent.objects.filter(action="sso.signin_refused").order_by("pk")
    assert [event.detail["reason"] for event in refusals] == ["domain_not_verified", "domain_not_verified"]
    assert not Membership.objects.filter(user=victim).exists()


def test_without_provisioning_a_stranger_is_told_to_ask_an_administrator(provider, sso_sign_in, client):
    response, _callback = sso_sign_in("newcomer@example.com")
    assert response.status_code == 403
    assert b"Ask an administrator" in response.content
    assert not User.objects.filter(email="newcomer@example.com").exists()


def test_just_in_time_provisioning_admits_through_the_one_rule(provider, organization, sso_sign_in, client):
    IdentityProvider.objects.filter(pk=provider.pk).update(jit_provisioning=True)
    response, _callback = sso_sign_in("newcomer@example.com")
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.com")
    assert signed_in_user(client) == str(user.pk)
    assert user.email_verified and not user.has_usable_password()
    membership = user.membership
    assert membership.organization == organization
    assert membership.role == Membership.Role.MEMBER
    assert membership.joined_via == Membership.JoinedVia.SSO
    assert membership.via_domain == "example.com"
    assert AuditEvent.objects.get(action="sso.user_provisioned").detail["new_user"] is True


def test_provisioning_never_takes_a_user_managed_by_another_organization(provider, sso_sign_in, client):
    IdentityProvider.objects.filter(pk=provider.pk).update(jit_provisioning=True)
    elsewhere = MembershipFactory(organization=OrganizationFactory(), user__email="moved@example.com").user
    response, _callback = sso_sign_in("moved@example.com")
    assert response.status_code == 403
    assert signed_in_user(client) is None
    assert Membership.objects.get(user=elsewhere).organization != provider.organization


def test_provisioning_refuses_a_deactivated_user(provider, sso_sign_in, client):
    IdentityProvider.objects.filter(pk=provider.pk).update(jit_provisioning=True)
    UserFactory(email="gone@example.com", is_active=False)
    response, _callback = sso_sign_in("gone@example.com")
    assert response.status_code == 403
    assert signed_in_user(client) is None


def test_an_address_the_provider_says_is_unverified_is_refused(provider, alice, oidc_provider, sso_sign_in, client):
    oidc_provider.behave(email_verified=False)
    response, _callback = sso_sign_in("alice@example.com")
    assert response.status_code == 403
    assert signed_in_user(client) is None
