"""SSO required per verified domain: the password path is refused (console and Django admin)
with the reason, the throttle still counts, one Owner keeps a password, and a lapsed or removed
domain suspends the requirement and the routing (audited)."""

import pytest
from django.test import Client

from console.models import AuditEvent, Membership
from console.tests.factories import PASSWORD, MembershipFactory
from domains import expiry, lifecycle
from domains.models import Domain, DomainCheck
from domains.services import delete_domain
from domains.tests.factories import check_result
from sso import services
from sso.tests.conftest import provider_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(organization, domain):
    return MembershipFactory(organization=organization, user__email="alice@example.com").user


@pytest.fixture
def enforced(provider, domain, owner):
    return services.set_domain_requirement(domain=domain, require_sso=True, actor=owner)


def password_sign_in(client, email, password=PASSWORD):
    return client.post("/sign-in/", {"username": email, "password": password})


def test_before_enforcement_the_password_works(provider, alice, client):
    assert password_sign_in(client, "alice@example.com").status_code == 302


def test_the_password_of_a_managed_user_is_refused_with_the_reason(enforced, alice, client):
    response = password_sign_in(client, "alice@example.com")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"requires single sign-on for addresses at example.com" in response.content
    assert b"Continue with single sign-on" in response.content
    refused = AuditEvent.objects.get(action="sso.password_refused")
    assert refused.detail["domain"] == "example.com" and refused.target_id == str(alice.pk)


def test_a_wrong_password_says_nothing_about_sso(enforced, alice, client):
    response = password_sign_in(client, "alice@example.com", "not-the-password")
    assert b"single sign-on for addresses" not in response.content
    assert b"do not match" in response.content


def test_the_throttle_still_counts_under_enforcement(enforced, alice, client, settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 2
    for _attempt in range(2):
        password_sign_in(client, "alice@example.com", "wrong")
    response = password_sign_in(client, "alice@example.com")
    assert b"Too many sign-in attempts" in response.content
    assert not AuditEvent.objects.filter(action="sso.password_refused").exists()


def test_django_admin_refuses_the_password_too(enforced, organization, client):
    staff = MembershipFactory(organization=organization, user__email="ops@example.com", user__is_staff=True).user
    response = client.post("/django-admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"requires single sign-on" in response.content


def test_the_refused_user_signs_in_through_the_provider(enforced, alice, sso_sign_in, client):
    password_sign_in(client, "alice@example.com")
    response, _callback = sso_sign_in("alice@example.com")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_an_empty_password_goes_to_the_provider(enforced, alice, client, oidc_provider):
    response = client.post("/sign-in/", {"username": "alice@example.com", "password": ""})
    assert provider_url(response).startswith(oidc_provider.issuer + "/authorize?")


def test_only_addresses_at_other_domains_keep_their_password(enforced, organization, client):
    MembershipFactory(organization=organization, user__email="contractor@elsewhere.example")
    assert password_sign_in(client, "contractor@elsewhere.example").status_code == 302


def test_the_break_glass_owner_keeps_the_password_and_is_audited(enforced, owner, organization, client):
    second = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="cto@example.com").user
    assert AuditEvent.objects.get(action="sso.break_glass_owner_set").target_id == str(owner.pk)
    assert password_sign_in(client, "owner@example.com").status_code == 302
    assert AuditEvent.objects.filter(action="sso.break_glass_signin", target_id=str(owner.pk)).exists()
    other = Client()
    assert password_sign_in(other, second.email).status_code == 200  # not the break-glass Owner
    assert "_auth_user_id" not in other.session


def test_when_the_break_glass_owner_is_no_longer_an_owner_every_owner_keeps_the_password(
    enforced, owner, organization, client
):
    second = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="cto@example.com").user
    Membership.objects.filter(user=owner).update(role=Membership.Role.ADMINISTRATOR)
    assert password_sign_in(client, second.email).status_code == 302
    assert password_sign_in(Client(), owner.email).status_code == 200  # an Administrator now


def test_an_owner_chooses_another_break_glass_owner(enforced, owner, organization):
    second = MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="cto@example.com").user
    services.set_break_glass_owner(organization=organization, owner=second, actor=owner)
    assert password_sign_in(Client(), second.email).status_code == 302
    assert password_sign_in(Client(), owner.email).status_code == 200


def test_a_lapsing_domain_suspends_enforcement_and_routing(
    enforced, alice, domain, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.apply_check_result(
            domain_id=domain.pk, result=check_result("not_found"), trigger=DomainCheck.Trigger.SCHEDULE
        )
    assert Domain.objects.get(pk=domain.pk).status == Domain.Status.REVALIDATION_REQUIRED
    suspended = AuditEvent.objects.get(action="sso.enforcement_suspended")
    assert suspended.detail == {"domain": "example.com", "reason": "lapsed"}
    assert password_sign_in(client, "alice@example.com").status_code == 302
    routed = Client().post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
    assert routed.status_code == 200
    assert b"no single sign-on for this address" in routed.content

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.apply_check_result(
            domain_id=domain.pk, result=check_result("verified"), trigger=DomainCheck.Trigger.SCHEDULE
        )
    assert AuditEvent.objects.filter(action="sso.enforcement_resumed").exists()
    assert password_sign_in(Client(), "alice@example.com").status_code == 200


def test_an_expired_domain_stops_enforcement(enforced, alice, domain, clock, django_capture_on_commit_callbacks):
    Domain.objects.filter(pk=domain.pk).update(
        status=Domain.Status.REVALIDATION_REQUIRED, failing_since=clock.now(), grace_deadline=clock.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        expiry.expire_domain(domain_id=domain.pk)
    assert AuditEvent.objects.get(action="sso.enforcement_suspended").detail["reason"] == "removed"


def test_a_deleted_domain_stops_enforcement(enforced, owner, alice, domain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delete_domain(domain=domain, actor=owner)
    assert AuditEvent.objects.get(action="sso.enforcement_suspended").detail["reason"] == "removed"
    assert password_sign_in(Client(), "alice@example.com").status_code == 302


def test_sso_cannot_be_required_at_a_domain_that_is_not_verified(provider, organization, owner):
    from domains.tests.factories import DomainFactory

    pending = DomainFactory(organization=organization, name="pending.example", pending=True)
    with pytest.raises(Exception, match="not verified"):
        services.set_domain_requirement(domain=pending, require_sso=True, actor=owner)


def test_removing_the_provider_gives_passwords_back(enforced, alice, organization, owner):
    services.remove_provider(organization=organization, actor=owner)
    assert password_sign_in(Client(), "alice@example.com").status_code == 302
    assert AuditEvent.objects.get(action="sso.removed").detail["sso_no_longer_required_at"] == ["example.com"]
