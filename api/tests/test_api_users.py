"""/api/v1/users: add by e-mail through the one admission rule, change roles, remove."""

import pytest
from django.core import mail

from api.tests.conftest import TokenClient
from console.models import AuditEvent, Membership, User
from console.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(org):
    return DomainFactory(organization=org, name="acme-corp.example")


def test_list_searches_and_filters_by_role(api, org, org_owner, org_admin):
    MembershipFactory(organization=org, user__email="zed@acme-corp.example")
    MembershipFactory(organization=OrganizationFactory(), user__email="stranger@globex.example")
    emails = [m["email"] for m in api.get("/api/v1/users").json()["results"]]
    assert sorted(emails) == ["admin@acme-corp.example", "owner@acme-corp.example", "zed@acme-corp.example"]
    assert [m["email"] for m in api.get("/api/v1/users?role=administrator").json()["results"]] == [org_admin.email]
    assert [m["email"] for m in api.get("/api/v1/users?q=zed").json()["results"]] == ["zed@acme-corp.example"]
    assert api.get("/api/v1/users?role=king").status_code == 400


def test_add_an_unknown_address_invites_them(api, org, verified, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/users", {"email": "new@acme-corp.example", "role": "member"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@acme-corp.example" and body["role"] == "member"
    assert response["Location"] == f"/api/v1/users/{body['id']}"
    assert Membership.objects.get(pk=body["id"]).organization == org
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.get(action="user.invited").actor_kind == AuditEvent.ActorKind.TOKEN


def test_add_refuses_what_admission_refuses_with_its_words(make_token, org, verified):
    _token, secret = make_token()
    outside = TokenClient(secret).post("/api/v1/users", {"email": "x@elsewhere.example"}, format="json")
    assert outside.status_code == 409
    assert "is not a verified domain of this organization" in outside.json()["detail"]
    MembershipFactory(organization=OrganizationFactory(), user__email="taken@acme-corp.example")
    taken = TokenClient(secret, language="ja").post("/api/v1/users", {"email": "taken@acme-corp.example"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "managed_elsewhere"
    assert "taken@acme-corp.example" in taken.json()["detail"] and taken["Content-Language"] == "ja"
    assert not Membership.objects.filter(user__email="x@elsewhere.example").exists()


def test_change_role_with_if_match(api, org):
    member = MembershipFactory(organization=org, user__email="m@acme-corp.example")
    read = api.get(f"/api/v1/users/{member.pk}")
    changed = api.patch(f"/api/v1/users/{member.pk}", {"role": "administrator"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200 and changed.json()["role"] == "administrator"
    stale = api.patch(f"/api/v1/users/{member.pk}", {"role": "member"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert stale.status_code == 412
    member.refresh_from_db()
    assert member.role == "administrator"
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor_kind == AuditEvent.ActorKind.TOKEN and event.detail["to"] == "administrator"


def test_the_last_owner_is_never_demoted(api, org, org_owner):
    response = api.patch(f"/api/v1/users/{org_owner.membership.pk}", {"role": "member"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "last_owner"


def test_remove_makes_them_independent(api, org):
    member = MembershipFactory(organization=org, user__email="m@acme-corp.example")
    assert api.delete(f"/api/v1/users/{member.pk}").status_code == 204
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert User.objects.filter(email="m@acme-corp.example").exists()
    assert api.get(f"/api/v1/users/{member.pk}").status_code == 404


def test_another_organizations_users_are_404(api):
    stranger = MembershipFactory(organization=OrganizationFactory(), user=UserFactory(email="s@globex.example"))
    assert api.get(f"/api/v1/users/{stranger.pk}").status_code == 404
    for method in ("patch", "delete"):
        assert getattr(api, method)(f"/api/v1/users/{stranger.pk}", {"role": "owner"}, format="json").status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == "member"
