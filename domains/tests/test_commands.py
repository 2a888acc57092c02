"""Operator commands: check_domains, expire_domains (--dry-run), domain_status."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from domains.models import Domain, DomainCheck
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_expire_domains_dry_run_changes_nothing_then_applies(clock):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    domain = DomainFactory(organization=org, name="old.test", failing=True)
    MembershipFactory(organization=org, user__email="ann@old.test")
    clock.set_now(domain.grace_deadline)
    listing = run("expire_domains", "--dry-run")
    assert "would delete old.test" in listing and "would remove ann@old.test" in listing
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REVALIDATION_REQUIRED
    applied = run("expire_domains")
    assert "deleted old.test" in applied and "removed ann@old.test" in applied
    assert not Membership.objects.filter(user__email="ann@old.test").exists()
    assert AuditEvent.objects.get(action="domain.deleted").actor_kind == AuditEvent.ActorKind.OPERATOR
    assert "0 domain(s) expired." in run("expire_domains")


def test_domain_status_prints_state_and_history(clock):
    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    domain = DomainFactory(organization=org, name="shown.test", failing=True)
    clock.set_now(domain.grace_deadline)
    run("expire_domains")
    text = run("domain_status", "Shown.Test.")
    assert "status          removed" in text
    assert "Not re-validated within 30 days" in text
    assert "domain.deleted" in text


def test_check_domains_with_nothing_due(clock):
    DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="later.test", next_check_at=clock.now() + timedelta(hours=1))
    assert "0 due domain(s) checked." in run("check_domains")
    assert DomainCheck.objects.count() == 0


def test_reminders_and_expiry_can_be_previewed_at_another_moment(clock, mailoutbox):
    from console import clock as console_clock

    org = OrganizationFactory(name="Acme", owner="owner@owners.test")
    domain = DomainFactory(organization=org, name="later.test", failing=True)
    seven_days_before = (domain.grace_deadline - timedelta(days=7)).isoformat()
    assert "1 reminder(s) sent." in run("send_reminders", "--now", seven_days_before)
    domain.refresh_from_db()
    assert 7 in domain.reminders_sent
    assert console_clock.now() == clock.now()  # the clock is back where it was
    listing = run("expire_domains", "--dry-run", "--now", (domain.grace_deadline + timedelta(hours=1)).isoformat())
    assert "would delete later.test" in listing


def test_now_needs_a_zone(clock):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="with a zone"):
        run("send_reminders", "--now", "2026-12-20T09:00")
