"""Reminder e-mails while a domain needs re-validation: at 30, 7 and 1 days left
(settings.DOMAIN_REMINDER_DAYS). Domain.reminders_sent records the thresholds already sent,
so running the sweep again (or two sweeps at once) never sends one twice. When a sweep was
missed, only the most urgent due reminder goes out and the larger thresholds are marked sent.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from console import audit, clock
from console.models import AuditEvent
from domains import notifications
from domains.models import Domain


def due_threshold(domain: Domain, now: datetime) -> int | None:
    """The reminder (days left) due now for this domain, or None."""
    if domain.status != Domain.Status.REVALIDATION_REQUIRED or not domain.grace_deadline:
        return None
    left = domain.grace_deadline - now
    if left <= timedelta(0):
        return None  # expiry, not a reminder
    sent = set(domain.reminders_sent or [])
    due = [days for days in settings.DOMAIN_REMINDER_DAYS if left <= timedelta(days=days) and days not in sent]
    return min(due) if due else None


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Send every due reminder; returns how many domains got one."""
    now = now or clock.now()
    sent = 0
    candidates = Domain.objects.filter(status=Domain.Status.REVALIDATION_REQUIRED, grace_deadline__gt=now)
    for domain_id in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            domain = Domain.objects.select_for_update().select_related("organization").filter(pk=domain_id).first()
            if domain is None:
                continue
            threshold = due_threshold(domain, now)
            if threshold is None:
                continue
            marked = set(domain.reminders_sent or []) | {d for d in settings.DOMAIN_REMINDER_DAYS if d >= threshold}
            domain.reminders_sent = sorted(marked, reverse=True)
            domain.save(update_fields=["reminders_sent"])
            audit.record(
                "domain.reminder_sent",
                organization=domain.organization,
                actor_kind=AuditEvent.ActorKind.SCHEDULE,
                target=domain,
                detail={"days_left": threshold, "grace_deadline": domain.grace_deadline.isoformat()},
            )
            transaction.on_commit(
                lambda domain_id=domain.pk, days=threshold: notifications.send_reminder(domain_id=domain_id, days_left=days)
            )
            sent += 1
    return sent
