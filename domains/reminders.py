"""Reminder e-mails while a domain needs re-validation, at the days left in
rules.reminder_days() (30, 7 and 1 by default). Domain.reminders_sent records the thresholds
already sent, so running the sweep again (or two sweeps at once) never sends one twice. When a
sweep was missed, only the most urgent due reminder goes out (Domain.reminder_due) and the
larger thresholds are marked sent with it.
"""

from datetime import datetime

from django.db import transaction

from console import audit, clock, events
from console.models import AuditEvent
from domains import notifications, rules
from domains.models import Domain


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Send every due reminder; returns how many domains got one."""
    now = now or clock.now()
    sent = 0
    # Decided on a light read first, so an hourly sweep locks only the domains with one due.
    candidates = Domain.objects.reminder_candidates(now).only("pk", "status", "grace_deadline", "reminders_sent")
    for domain_id in [d.pk for d in candidates if d.reminder_due(now) is not None]:
        with transaction.atomic():
            domain = Domain.objects.select_for_update().select_related("organization").filter(pk=domain_id).first()
            threshold = domain.reminder_due(now) if domain is not None else None
            if threshold is None:
                continue
            marked = set(domain.reminders_sent or []) | {d for d in rules.reminder_days() if d >= threshold}
            Domain.objects.filter(pk=domain.pk).write_state(reminders_sent=sorted(marked, reverse=True))
            audit.record(
                "domain.reminder_sent",
                organization=domain.organization,
                actor_kind=AuditEvent.ActorKind.SCHEDULE,
                target=domain,
                detail={"days_left": threshold, "grace_deadline": domain.grace_deadline.isoformat()},
            )
            events.emit(
                events.DOMAIN_REMINDER,
                organization_id=domain.organization_id,
                data={
                    "domain": events.domain_data(domain),
                    "days_left": threshold,
                    "grace_deadline": events.iso(domain.grace_deadline),
                },
            )
            notifications.send_reminder(domain_id=domain.pk, days_left=threshold)
            sent += 1
    return sent
