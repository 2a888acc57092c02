"""The end of the 30-day grace period: domain deleted with a reason, users at exactly that
domain removed (accounts kept), the last Owner kept, e-mails, idempotence, and adding back."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from console.models import Account, AuditEvent, Membership
from console.tests.factories import AccountFactory, MembershipFactory, OrganizationFactory
from domains import expiry, members
from domains.admission import admission
from domains.models import Domain, RemovedMember
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clock):
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    domain = DomainFactory(organization=org, name="acme.test", failing=True)
    alice = MembershipFactory(organization=org, user__email="alice@acme.test", user__language="ja")
    admin = MembershipFactory(organization=org, user__email="root@acme.test", role=Membership.Role.ADMINISTRATOR)
    sub = MembershipFactory(organization=org, user__email="carol@eu.acme.test")  # a subdomain: not removed
    other = MembershipFactory(organization=org, user__email="dave@other.test")
    account = AccountFactory(owner=alice.user, organization=org, name="Alice's workspace")
    return {"org": org, "domain": domain, "alice": alice, "admin": admin, "sub": sub, "other": other, "account": account}


def test_not_expired_at_29_days_expired_at_30(clock, world, django_capture_on_commit_callbacks):
    domain = world["domain"]
    clock.set_now(domain.grace_deadline - timedelta(seconds=1))
    assert expiry.expire_lapsed_domains() == []
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED

    clock.set_now(domain.grace_deadline)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = expiry.expire_lapsed_domains()
    assert len(outcomes) == 1
    assert sorted(outcomes[0].removed) == ["alice@acme.test", "root@acme.test"]
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REMOVED
    assert domain.removed_at == clock.now()
    assert domain.removal_reason == f"Not re-validated within 30 days (failing since {domain.failing_since.date():%Y-%m-%d})"
    assert domain.next_check_at is None


def test_users_become_independent_keeping_accounts(clock, world, django_capture_on_commit_callbacks):
    clock.set_now(world["domain"].grace_deadline)
    with django_capture_on_commit_callbacks(execute=True):
        expiry.expire_lapsed_domains()
    alice = world["alice"].user
    assert not Membership.objects.filter(user=alice).exists()
    account = Account.objects.get(pk=world["account"].pk)
    assert account.owner_id == alice.pk and account.organization_id is None
    # Exactly the domain: a subdomain's user and other domains' users stay.
    assert Membership.objects.filter(pk__in=[world["sub"].pk, world["other"].pk]).count() == 2
    rows = {r.user.email: r.role for r in RemovedMember.objects.select_related("user")}
    assert rows == {"alice@acme.test": "member", "root@acme.test": "administrator"}
    actions = list(AuditEvent.objects.values_list("action", "actor_kind"))
    assert actions.count(("user.removed", "schedule")) == 2
    assert ("domain.deleted", "schedule") in actions


def test_emails_to_removed_users_in_their_language_and_to_remaining_admins(clock, world, django_capture_on_commit_callbacks):
    clock.set_now(world["domain"].grace_deadline)
    with django_capture_on_commit_callbacks(execute=True):
        expiry.expire_lapsed_domains()
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"alice@acme.test", "root@acme.test", "boss@owners.test"}
    removed = by_recipient["root@acme.test"]
    assert "acme.test" in removed.body and "keep your user and the accounts you own" in removed.body
    assert removed.alternatives[0][1] == "text/html"
    deleted = by_recipient["boss@owners.test"]
    assert "alice@acme.test" in deleted.body and "root@acme.test" in deleted.body


def test_running_expiry_twice_is_harmless(clock, world):
    clock.set_now(world["domain"].grace_deadline + timedelta(hours=1))
    assert len(expiry.expire_lapsed_domains()) == 1
    assert expiry.expire_lapsed_domains() == []
    assert expiry.expire_domain(domain_id=world["domain"].pk) is None
    assert AuditEvent.objects.filter(action="domain.deleted").count() == 1
    assert RemovedMember.objects.count() == 2


def test_revalidated_domain_is_not_expired(clock, world):
    Domain.objects.filter(pk=world["domain"].pk).update(status=Domain.Status.VERIFIED, grace_deadline=None)
    clock.set_now(clock.now() + timedelta(days=31))
    assert expiry.expire_lapsed_domains() == []
    assert Membership.objects.filter(user__email_domain="acme.test").count() == 2


def test_the_organization_keeps_an_owner(clock):
    org = OrganizationFactory(name="Acme", owner="first@solo.test")
    MembershipFactory(organization=org, user__email="second@solo.test", role=Membership.Role.OWNER)
    MembershipFactory(organization=org, user__email="staff@solo.test")
    domain = DomainFactory(organization=org, name="solo.test", failing=True)
    clock.set_now(domain.grace_deadline)
    [outcome] = expiry.expire_lapsed_domains()
    owners = list(Membership.objects.filter(organization=org, role=Membership.Role.OWNER).values_list("user__email", flat=True))
    assert len(owners) == 1
    assert len(outcome.removed) == 2 and len(outcome.skipped) == 1
    assert outcome.skipped[0][0] == owners[0]
    skipped = AuditEvent.objects.get(action="user.removal_skipped")
    assert "Owner" in skipped.detail["reason"]


def test_dry_listing_predicate_matches_expiry(clock, world):
    clock.set_now(world["domain"].grace_deadline)
    assert list(expiry.lapsed_domains()) == [world["domain"]]
    assert [m.user.email for m in expiry.members_at_domain(world["domain"])] == ["alice@acme.test", "root@acme.test"]


def _expire_and_reverify(clock, world):
    clock.set_now(world["domain"].grace_deadline)
    expiry.expire_lapsed_domains()
    clock.advance(timedelta(days=2))
    return DomainFactory(organization=world["org"], name="acme.test")


def test_add_back_restores_roles_and_accounts(clock, world):
    again = _expire_and_reverify(clock, world)
    outcome = members.add_back_removed_members(domain=again, actor=None)
    assert sorted(outcome.added) == ["alice@acme.test", "root@acme.test"]
    alice = Membership.objects.get(user=world["alice"].user)
    assert alice.organization_id == world["org"].pk and alice.role == "member" and alice.joined_via == "added_back"
    assert Membership.objects.get(user=world["admin"].user).role == "administrator"
    assert Account.objects.get(pk=world["account"].pk).organization_id == world["org"].pk
    assert RemovedMember.objects.filter(added_back_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="user.added_back").count() == 2
    # Idempotent: nobody left to add.
    again_outcome = members.add_back_removed_members(domain=again, actor=None)
    assert again_outcome.added == [] and again_outcome.skipped == []


def test_add_back_skips_users_who_joined_another_organization(clock, world):
    again = _expire_and_reverify(clock, world)
    elsewhere = OrganizationFactory(name="Elsewhere", owner="x@elsewhere.test")
    Membership.objects.create(user=world["alice"].user, organization=elsewhere)
    outcome = members.add_back_removed_members(domain=again, actor=None)
    assert outcome.added == ["root@acme.test"]
    assert outcome.skipped[0][0] == "alice@acme.test"
    assert "another organization" in outcome.skipped[0][1]
    assert RemovedMember.objects.get(user=world["alice"].user).added_back_at is None


def test_add_back_refused_until_verified_again(clock, world):
    from console.errors import ConsoleError

    clock.set_now(world["domain"].grace_deadline)
    expiry.expire_lapsed_domains()
    pending = DomainFactory(organization=world["org"], name="acme.test", pending=True)
    with pytest.raises(ConsoleError):
        members.add_back_removed_members(domain=pending, actor=None)
    assert Membership.objects.filter(user__email_domain="acme.test").count() == 0


def test_add_back_view_is_post_only_csrf_protected_and_scoped(clock, world, client):
    again = _expire_and_reverify(clock, world)
    boss = Membership.objects.get(user__email="boss@owners.test").user
    client.force_login(boss)
    detail = client.get(reverse("domains:detail", args=[again.pk]))
    assert detail.status_code == 200
    assert b"Add them back" in detail.content and b"alice@acme.test" in detail.content
    url = reverse("domains:add_back", args=[again.pk])
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.filter(user__email_domain="acme.test").count() == 2
    # Another organization's admin gets a 404.
    stranger_org = OrganizationFactory(name="Other", owner="admin@stranger.test")
    client.force_login(Membership.objects.get(organization=stranger_org).user)
    assert client.post(url).status_code == 404


def test_add_back_view_refuses_without_csrf_token(clock, world):
    from django.test import Client

    again = _expire_and_reverify(clock, world)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(Membership.objects.get(user__email="boss@owners.test").user)
    assert csrf_client.post(reverse("domains:add_back", args=[again.pk])).status_code == 403
    assert Membership.objects.filter(user__email_domain="acme.test").count() == 0


def test_no_new_users_while_revalidation_is_required(clock, world):
    decision = admission(world["org"], "new@acme.test")
    assert not decision.allowed and decision.code == "domain_revalidation_required"
    from console.errors import ConsoleError
    from domains.members import add_member

    with pytest.raises(ConsoleError) as refused:
        add_member(organization=world["org"], email="new@acme.test", role="member", actor=None)
    assert refused.value.code == "domain_revalidation_required"
    assert not Membership.objects.filter(user__email="new@acme.test").exists()
