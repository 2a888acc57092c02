"""The organization's two-factor policy: on for Owners and Administrators of new organizations,
enforced at the next request after sign-in (enrolment first, nothing else), changed by Owners."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from console import services as console_services
from console.models import AuditEvent, Membership, Organization
from console.tests.factories import PASSWORD, MembershipFactory
from mfa.tests.conftest import code_now, enrol_totp, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_organization(clock):
    organization, owner, _created = console_services.create_organization(
        name="Initech", owner_email="boss@initech.test", password=PASSWORD
    )
    return organization, owner


def test_a_new_organization_requires_two_factor_of_its_owners_and_administrators(new_organization):
    organization, _owner = new_organization
    assert organization.two_factor_required_for_admins
    assert not organization.two_factor_required_for_all


def test_an_owner_who_must_enrol_is_taken_to_enrolment_and_nowhere_else(new_organization):
    _organization, owner = new_organization
    client = Client()
    assert sign_in(client, owner.email).status_code == 302
    for url in (reverse("console:home"), reverse("domains:list"), reverse("api_tokens:list"), reverse("mfa:policy")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("mfa:security"), url
    page = client.get(reverse("mfa:security")).content.decode()
    assert "Your organization requires two-factor authentication" in page
    enrol_totp(client)  # reachable: the sign-in just now is a recent authentication
    assert client.get(reverse("console:home")).status_code == 200


def test_members_are_not_required_unless_the_policy_says_all(new_organization):
    organization, _owner = new_organization
    member = MembershipFactory(organization=organization, role=Membership.Role.MEMBER).user
    client = Client()
    sign_in(client, member.email)
    assert client.get(reverse("console:home")).status_code == 403  # the plain "not an admin" page
    Organization.objects.filter(pk=organization.pk).update(two_factor_required_for_all=True)
    response = client.get(reverse("console:home"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa:security")


def test_removing_the_only_factor_under_the_policy_sends_back_to_enrolment(new_organization, clock):
    _organization, owner = new_organization
    client = Client()
    sign_in(client, owner.email)
    secret = enrol_totp(client)
    assert client.post(reverse("mfa:totp_remove")).status_code == 302
    response = client.get(reverse("console:users"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa:security")
    assert secret  # (the old secret no longer matters)


def test_an_owner_changes_the_policy_and_it_is_audited(new_organization):
    organization, owner = new_organization
    client = Client()
    sign_in(client, owner.email)
    enrol_totp(client)
    response = client.post(reverse("mfa:policy"), {"required_for_all": "on"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.two_factor_required_for_all and not organization.two_factor_required_for_admins
    event = AuditEvent.objects.get(action="organization.two_factor_policy_changed")
    assert event.detail["to"] == {"admins": False, "all": True} and event.actor_user == owner


def test_an_administrator_sees_the_policy_but_cannot_change_it(clock, organization):
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    client = Client()
    client.force_login(administrator)
    page = client.get(reverse("mfa:policy")).content.decode()
    assert "Only an Owner can change the policy." in page
    client.post(reverse("mfa:policy"), {"required_for_admins": "on", "required_for_all": "on"})
    organization.refresh_from_db()
    assert not organization.two_factor_required_for_admins and not organization.two_factor_required_for_all
    assert not AuditEvent.objects.filter(action="organization.two_factor_policy_changed").exists()


def test_changing_the_policy_needs_a_recent_authentication(clock, admin_client, organization, settings):
    clock.advance(timedelta(seconds=settings.RECENT_AUTH_SECONDS + 1))
    response = admin_client.post(reverse("mfa:policy"), {"required_for_admins": "on"}, HTTP_REFERER="http://testserver/security/policy/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa:reauthenticate"))
    organization.refresh_from_db()
    assert not organization.two_factor_required_for_admins


def test_the_users_page_shows_who_has_enrolled(clock, admin_client, organization, owner, django_assert_max_num_queries):
    for _index in range(5):
        MembershipFactory(organization=organization)
    enrol_totp(admin_client)
    with django_assert_max_num_queries(12):
        body = admin_client.get(reverse("console:users")).content.decode()
    assert body.count('<span class="badge verified">On</span>') == 1
    assert body.count("Not set up") == 5


def test_the_demo_organization_keeps_the_policy_off(transactional_db):
    call_command("load_demo_data", verbosity=0)
    assert Organization.objects.exists()
    assert not Organization.objects.filter(two_factor_required_for_admins=True).exists()
    client = Client()
    assert sign_in(client, "owner@example.com", "demo-password-123").status_code == 302
    assert client.get(reverse("console:home")).status_code == 200


def test_the_challenge_comes_before_enrolment_rules(new_organization, clock):
    """An enrolled Owner of a policy organization passes the challenge, then everything opens."""
    _organization, owner = new_organization
    client = Client()
    sign_in(client, owner.email)
    secret = enrol_totp(client)
    clock.advance(timedelta(seconds=60))
    second = Client()
    sign_in(second, owner.email)
    assert second.get(reverse("mfa:security"))["Location"].startswith(reverse("mfa:challenge"))
    assert second.post(reverse("mfa:challenge"), {"code": code_now(secret)}).status_code == 302
    assert second.get(reverse("console:home")).status_code == 200
