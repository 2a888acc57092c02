"""Adding, re-roling and removing managed users (console/services.py)."""

import pytest
from django.core import mail

from console import services
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, User
from console.tests.factories import AccountFactory, MembershipFactory, UserFactory, verified_domain

pytestmark = pytest.mark.django_db


def test_add_member_refuses_an_address_at_a_domain_the_organization_has_not_verified(organization, owner):
    with pytest.raises(ConsoleError) as error:
        services.add_member(organization=organization, email="new@unverified.test", role="member", actor=owner)
    assert error.value.code == "domain_not_verified"
    assert "unverified.test" in error.value.message
    assert not User.objects.filter(email="new@unverified.test").exists()


@pytest.mark.parametrize(
    ("status", "code"), [("pending", "domain_pending"), ("revalidation_required", "domain_revalidation_required")]
)
def test_add_member_refuses_pending_and_lapsed_domains(organization, owner, status, code):
    verified_domain(organization, "example.com", status=status)
    with pytest.raises(ConsoleError) as error:
        services.add_member(organization=organization, email="new@example.com", role="member", actor=owner)
    assert error.value.code == code


def test_add_member_invites_an_unknown_address_with_a_set_password_link(
    organization, owner, django_capture_on_commit_callbacks
):
    verified_domain(organization, "example.com")
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.add_member(
            organization=organization, email="New.Person@EXAMPLE.com", role="administrator", actor=owner
        )
    user = membership.user
    assert user.email == "New.Person@example.com"
    assert not user.has_usable_password() and not user.email_verified
    assert (membership.role, membership.joined_via, membership.via_domain) == (
        "administrator",
        "invited",
        "example.com",
    )
    assert AuditEvent.objects.filter(action="user.invited", organization=organization, actor_user=owner).exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["New.Person@example.com"]
    assert "/set-password/" in mail.outbox[0].body


def test_add_member_makes_an_independent_user_managed_with_their_accounts(
    organization, owner, django_capture_on_commit_callbacks
):
    verified_domain(organization, "example.com")
    user = UserFactory(email="indie@example.com")
    accounts = AccountFactory.create_batch(2, owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_member(organization=organization, email="indie@example.com", role="member", actor=owner)
    assert Membership.objects.get(user=user).organization == organization
    assert set(Account.objects.filter(organization=organization, owner=user)) == set(accounts)
    assert mail.outbox[0].to == ["indie@example.com"]


def test_add_member_refuses_a_user_managed_by_another_organization(organization, owner):
    verified_domain(organization, "example.com")
    elsewhere = MembershipFactory(user__email="taken@example.com")
    with pytest.raises(ConsoleError) as error:
        services.add_member(organization=organization, email="taken@example.com", role="member", actor=owner)
    assert error.value.code == "managed_elsewhere"
    assert Membership.objects.get(user=elsewhere.user).organization == elsewhere.organization


def test_add_member_refuses_existing_member_deactivated_and_unverified_users(organization, owner):
    verified_domain(organization, "example.com")
    UserFactory(email="off@example.com", is_active=False)
    UserFactory(email="unverified@example.com", email_verified=False)
    codes = {}
    for email in ("owner@example.com", "off@example.com", "unverified@example.com"):
        with pytest.raises(ConsoleError) as error:
            services.add_member(organization=organization, email=email, role="member", actor=owner)
        codes[email] = error.value.code
    assert codes == {
        "owner@example.com": "already_member",
        "off@example.com": "deactivated",
        "unverified@example.com": "email_not_verified",
    }


def test_only_an_owner_may_grant_the_owner_role(organization):
    verified_domain(organization, "example.com")
    MembershipFactory(organization=organization, role=Membership.Role.OWNER)
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    with pytest.raises(ConsoleError) as error:
        services.add_member(organization=organization, email="boss@example.com", role="owner", actor=administrator)
    assert error.value.code == "owner_only"


def test_change_role_records_the_change(organization, owner):
    member = MembershipFactory(organization=organization)
    services.change_role(membership=member, role="administrator", actor=owner)
    member.refresh_from_db()
    assert member.role == "administrator"
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.detail == {"from": "member", "to": "administrator"}


def test_demoting_the_last_owner_is_refused(organization, owner):
    with pytest.raises(ConsoleError) as error:
        services.change_role(membership=owner.membership, role="administrator", actor=owner)
    assert error.value.code == "last_owner"
    owner.membership.refresh_from_db()
    assert owner.membership.role == "owner"


def test_an_owner_may_step_down_when_another_owner_remains(organization, owner):
    MembershipFactory(organization=organization, role=Membership.Role.OWNER)
    services.change_role(membership=owner.membership, role="member", actor=owner)
    assert Membership.objects.get(user=owner).role == "member"


def test_removing_the_last_owner_is_refused(organization, owner):
    with pytest.raises(ConsoleError) as error:
        services.remove_member(membership=owner.membership, actor=owner)
    assert error.value.code == "last_owner"
    assert Membership.objects.filter(user=owner).exists()


def test_remove_member_makes_an_independent_user_and_deletes_nothing_else(
    organization, owner, django_capture_on_commit_callbacks
):
    member = MembershipFactory(organization=organization, user__email="leaver@example.com")
    accounts = AccountFactory.create_batch(2, owner=member.user, organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        user = services.remove_member(membership=member, actor=owner, reason="testing")
    assert not Membership.objects.filter(user=user).exists()
    assert User.objects.filter(pk=user.pk, is_active=True).exists()
    assert list(Account.objects.filter(pk__in=[a.pk for a in accounts], organization=None).order_by("pk")) == sorted(
        accounts, key=lambda a: a.pk
    )
    event = AuditEvent.objects.get(action="user.removed")
    assert event.detail["accounts_released"] == 2 and event.detail["reason"] == "testing"
    assert mail.outbox[0].to == ["leaver@example.com"]


def test_an_administrator_cannot_remove_an_owner(organization, owner):
    MembershipFactory(organization=organization, role=Membership.Role.OWNER)
    administrator = MembershipFactory(organization=organization, role=Membership.Role.ADMINISTRATOR).user
    with pytest.raises(ConsoleError) as error:
        services.remove_member(membership=owner.membership, actor=administrator)
    assert error.value.code == "owner_only"


def test_create_organization_makes_the_owner(db):
    organization, owner, created = services.create_organization(
        name="Acme", owner_email="boss@acme.test", password="a-good-password-123"
    )
    assert created and owner.check_password("a-good-password-123")
    assert owner.membership.organization == organization and owner.membership.role == "owner"
    with pytest.raises(ConsoleError):
        services.create_organization(name="Other", owner_email="boss@acme.test")
