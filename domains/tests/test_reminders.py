"""Reminders at 30, 7 and 1 days left: each once, in the recipient's language, audited."""

from datetime import timedelta

import pytest
from django.core import mail

from console.models import AuditEvent, Membership
from console.tests.factories import MembershipFactory, OrganizationFactory
from domains import reminders
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


def sweep(capture):
    with capture(execute=True):
        return reminders.send_due_reminders()


def test_reminders_at_30_7_and_1_days_left_once_each(clock, django_capture_on_commit_callbacks):
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    MembershipFactory(organization=org, user__email="admin@owners.test", role=Membership.Role.ADMINISTRATOR)
    MembershipFactory(organization=org, user__email="member@owners.test")  # not an admin: no reminder
    domain = DomainFactory(organization=org, name="late.test", failing=True)
    deadline = domain.grace_deadline

    assert sweep(django_capture_on_commit_callbacks) == 1  # 30 days left, at once
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@owners.test", "boss@owners.test"]
    assert "30 days left" in mail.outbox[0].subject
    assert sweep(django_capture_on_commit_callbacks) == 0  # idempotent

    clock.set_now(deadline - timedelta(days=7, seconds=1))
    assert sweep(django_capture_on_commit_callbacks) == 0
    clock.set_now(deadline - timedelta(days=7))
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert "7 days left" in mail.outbox[-1].subject

    clock.set_now(deadline - timedelta(days=1, seconds=1))
    assert sweep(django_capture_on_commit_callbacks) == 0
    clock.set_now(deadline - timedelta(days=1))
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert "1 day left" in mail.outbox[-1].subject
    assert sweep(django_capture_on_commit_callbacks) == 0

    clock.set_now(deadline)
    assert sweep(django_capture_on_commit_callbacks) == 0  # expiry's job now
    domain.refresh_from_db()
    assert domain.reminders_sent == [30, 7, 1]
    assert list(AuditEvent.objects.filter(action="domain.reminder_sent").order_by("pk").values_list("detail__days_left", flat=True)) == [30, 7, 1]
    assert len(mail.outbox) == 6


def test_a_missed_sweep_sends_only_the_most_urgent(clock, django_capture_on_commit_callbacks):
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    domain = DomainFactory(organization=org, name="late.test", failing=True)
    clock.set_now(domain.grace_deadline - timedelta(hours=20))
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 1 and "1 day left" in mail.outbox[0].subject
    domain.refresh_from_db()
    assert domain.reminders_sent == [30, 7, 1]


def test_reminder_says_what_to_fix_in_the_recipients_language(clock, django_capture_on_commit_callbacks):
    org = OrganizationFactory(name="Acme", owner="boss@owners.test")
    domain = DomainFactory(organization=org, name="late.test", failing=True)
    sweep(django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert domain.txt_host in message.body and domain.txt_value in message.body
    html = message.alternatives[0][0]
    assert domain.txt_value in html


def test_verified_domains_get_no_reminders(clock, django_capture_on_commit_callbacks):
    DomainFactory(organization=OrganizationFactory(name="Acme", owner="owner@owners.test"), name="fine.test")
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
