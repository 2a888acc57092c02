"""Organization API tokens: format, storage, the console page, the operator command, and what
stops a token working (revocation, expiry, its person losing the admin role)."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from api import tokens
from api.models import ApiToken
from api.tests.conftest import TokenClient
from console import services as console_services
from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TOKEN_PATTERN = re.compile(r"^adc_live_[0-9A-Za-z]{46}$")


def console_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Format and storage ----------------------------------------------------------------------


def test_a_token_has_a_scannable_prefix_and_a_checksum():
    secret = tokens.new_secret()
    assert TOKEN_PATTERN.match(secret)
    assert tokens.well_formed(secret)
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert not tokens.well_formed(tampered)
    assert not tokens.well_formed("adc_test_" + secret[9:])
    assert not tokens.well_formed(secret + "x")


def test_only_a_keyed_digest_is_stored(make_token, settings):
    token, secret = make_token()
    row = ApiToken.objects.get(pk=token.pk)
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    assert row.digest == tokens.digest(secret) and len(row.digest) == 64
    assert row.display_prefix == secret[:13]
    settings.API_TOKEN_HASH_KEY = "another key"
    assert tokens.digest(secret) != row.digest  # the key is part of the digest


def test_an_unknown_scope_or_no_scope_is_refused(make_token):
    with pytest.raises(Exception, match="Unknown scope: domains:admin"):
        make_token(["domains:admin"])
    with pytest.raises(Exception, match="Choose at least one scope"):
        make_token([])


# --- What a token may do -------------------------------------------------------------------------


def test_me_shows_the_tokens_identity(make_token, org, org_owner):
    token, secret = make_token(["domains:read"], name="Terraform")
    body = TokenClient(secret).get("/api/v1/me").json()
    assert body["name"] == "Terraform" and body["scopes"] == ["domains:read"]
    assert body["organization"] == {"id": org.pk, "name": org.name}
    assert body["acts_for"] == org_owner.email and body["prefix"] == token.display_prefix


def test_a_read_token_cannot_write(make_token, org):
    from domains.tests.factories import DomainFactory

    domain = DomainFactory(organization=org, name="acme-corp.example", pending=True)
    _token, secret = make_token(["domains:read"])
    client = TokenClient(secret)
    assert client.get(f"/api/v1/domains/{domain.pk}").status_code == 200
    refused = client.post(f"/api/v1/domains/{domain.pk}/verify")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == "This API token does not have the domains:write scope."
    assert client.get("/api/v1/users").status_code == 403
    assert client.get("/api/v1/audit-events").status_code == 403


def test_no_token_a_malformed_header_or_a_wrong_token_is_401():
    assert TokenClient().get("/api/v1/me").status_code == 401
    response = TokenClient().get("/api/v1/me", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="api"'
    wrong = TokenClient(tokens.new_secret()).get("/api/v1/me")
    assert wrong.status_code == 401 and wrong.json()["detail"] == "The API token is not valid."


def test_a_revoked_token_stops_at_once(make_token, org_owner):
    token, secret = make_token()
    client = TokenClient(secret)
    assert client.get("/api/v1/me").status_code == 200
    tokens.revoke_token(token=token, actor=org_owner)
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["detail"] == "This API token has been revoked."


def test_an_expired_token_stops_at_its_expiry(clock, make_token):
    _token, secret = make_token(expires_at=clock.now() + timedelta(hours=1))
    client = TokenClient(secret)
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(hours=1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["detail"] == "This API token has expired."


def test_a_token_stops_when_its_person_is_no_longer_an_admin(make_token, org, org_owner, org_admin):
    _token, secret = make_token(created_by=org_admin)
    client = TokenClient(secret)
    assert client.get("/api/v1/me").status_code == 200
    console_services.change_role(membership=org_admin.membership, role=Membership.Role.MEMBER, actor=org_owner)
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and "no longer an Owner or Administrator" in response.json()["detail"]


def test_an_administrators_token_cannot_touch_owners(make_token, org, org_owner, org_admin):
    """The token acts with its person's role: the console's Owner rule applies unchanged."""
    _token, secret = make_token(created_by=org_admin)
    owner_membership = org_owner.membership
    response = TokenClient(secret).patch(
        f"/api/v1/users/{owner_membership.pk}", {"role": "member"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only an Owner can grant, change or remove the Owner role."
    owner_membership.refresh_from_db()
    assert owner_membership.role == Membership.Role.OWNER


def test_last_used_is_recorded_at_most_once_a_minute(clock, make_token, django_assert_max_num_queries):
    token, secret = make_token()
    client = TokenClient(secret)
    client.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == clock.now()
    clock.advance(timedelta(seconds=30))
    client.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == clock.now() - timedelta(seconds=30)


# --- The console page --------------------------------------------------------------------------


def test_the_console_creates_a_token_and_shows_the_secret_once(org, org_owner):
    client = console_client(org_owner)
    page = client.get(reverse("api_tokens:list"))
    assert page.status_code == 200 and b"No API tokens yet" in page.content
    response = client.post(
        reverse("api_tokens:create"),
        {"name": "CI pipeline", "scopes": ["domains:read", "domains:write"], "expires_on": "2099-01-31"},
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(rb"adc_live_[0-9A-Za-z]{46}", response.content).group().decode()
    token = ApiToken.objects.get()
    assert token.digest == tokens.digest(secret) and token.scopes == ["domains:read", "domains:write"]
    assert token.expires_at.isoformat() == "2099-02-01T00:00:00+00:00"  # the end of the chosen day
    assert TokenClient(secret).get("/api/v1/me").status_code == 200
    listing = client.get(reverse("api_tokens:list")).content.decode()
    assert "CI pipeline" in listing and token.display_prefix in listing and secret not in listing
    assert org_owner.email in listing and "Never" not in listing  # it was just used
    event = AuditEvent.objects.get(action="api_token.created")
    assert event.actor_user == org_owner and event.detail["token"]["name"] == "CI pipeline"


def test_the_console_refuses_a_token_without_name_or_scope(org, org_owner):
    response = console_client(org_owner).post(reverse("api_tokens:create"), {"name": "", "scopes": []})
    assert response.status_code == 200
    assert b"Give the token a name" in response.content and b"Choose at least one scope" in response.content
    assert not ApiToken.objects.exists()


def test_the_console_revokes_a_token(make_token, org, org_owner):
    token, secret = make_token()
    client = console_client(org_owner)
    assert client.get(reverse("api_tokens:revoke", args=[token.pk])).status_code == 200
    response = client.post(reverse("api_tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == org_owner
    assert TokenClient(secret).get("/api/v1/me").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoked", actor_user=org_owner).count() == 1
    client.post(reverse("api_tokens:revoke", args=[token.pk]))  # again: nothing more happens
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_members_and_other_organizations_cannot_reach_tokens(make_token, org):
    token, _secret = make_token()
    member = MembershipFactory(organization=org, role=Membership.Role.MEMBER).user
    assert console_client(member).get(reverse("api_tokens:list")).status_code == 403
    other = MembershipFactory(organization=OrganizationFactory(), role=Membership.Role.OWNER).user
    other_client = console_client(other)
    assert other_client.post(reverse("api_tokens:revoke", args=[token.pk])).status_code == 404
    assert token.name not in other_client.get(reverse("api_tokens:list")).content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_is_in_japanese_too(org, org_owner):
    client = console_client(org_owner)
    client.cookies["django_language"] = "ja"
    page = client.get(reverse("api_tokens:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "API トークン" in page


# --- The operator command ----------------------------------------------------------------------


def test_create_api_token_prints_only_the_token(org, org_owner):
    out = io.StringIO()
    call_command(
        "create_api_token", "--organization", org.name, "--scopes", "domains:read,imports:read", "--name", "Ops", stdout=out
    )
    secret = out.getvalue().strip()
    assert TOKEN_PATTERN.match(secret)
    token = ApiToken.objects.get()
    assert token.name == "Ops" and token.scopes == ["domains:read", "imports:read"] and token.created_by == org_owner
    assert AuditEvent.objects.get(action="api_token.created").actor_kind == AuditEvent.ActorKind.OPERATOR
    assert TokenClient(secret).get("/api/v1/me").json()["acts_for"] == org_owner.email


def test_create_api_token_refuses_unknown_organizations_and_scopes(org, org_owner):
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_token", "--organization", "Nope", "--scopes", "domains:read", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_token", "--organization", org.name, "--scopes", "everything", stdout=io.StringIO())
    assert not ApiToken.objects.exists()
