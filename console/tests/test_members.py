"""Adding, re-roling and removing managed users (console/services.py)."""

import pytest
from django.core import mail

from console import services
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, User
from console.tests.factories import AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db


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
