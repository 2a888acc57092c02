"""The state machine of a domain: what a check result does to it, and when it is next checked.

Guarantees:
- One check result is applied at most once per scheduled due time (DomainCheck's unique
  (domain, due_at)), and a result for a stale claim (the domain's due time moved on) is ignored.
- An inconclusive result never grants and never revokes; only after inconclusive results have
  lasted INCONCLUSIVE_TOLERANCE does a verified domain enter the grace period.
- Every transition writes an AuditEvent; e-mails are sent after commit.
"""

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from console import audit, clock
from console.models import AuditEvent
from domains import verifiers
from domains.models import Domain, DomainCheck

logger = logging.getLogger("domains.lifecycle")

RECHECK_INTERVAL = timedelta(hours=24)
GRACE_PERIOD = timedelta(days=30)
INCONCLUSIVE_TOLERANCE = timedelta(hours=72)
INCONCLUSIVE_RETRY = timedelta(hours=1)
FAILING_RECHECK_INTERVAL = timedelta(hours=6)
PENDING_WINDOW = timedelta(hours=72)
PENDING_MIN_INTERVAL = timedelta(minutes=1)
PENDING_MAX_INTERVAL = timedelta(hours=1)


def recheck_jitter() -> timedelta:
    """Spread re-checks so domains verified together are not all due in the same second."""
    return timedelta(seconds=random.uniform(0, settings.DOMAIN_RECHECK_JITTER_SECONDS))


def next_pending_check(domain: Domain, now: datetime) -> datetime | None:
    """Back-off for a pending domain: often right after the admin's click, then less often,
    and not at all once PENDING_WINDOW has passed since the last click."""
    started = domain.last_verify_click_at or domain.created_at
    elapsed = now - started
    if elapsed >= PENDING_WINDOW:
        return None
    interval = min(max(elapsed / 4, PENDING_MIN_INTERVAL), PENDING_MAX_INTERVAL)
    return min(now + interval, started + PENDING_WINDOW)


def _actor_kind(trigger: str) -> str:
    return {
        DomainCheck.Trigger.USER: AuditEvent.ActorKind.USER,
        DomainCheck.Trigger.SCHEDULE: AuditEvent.ActorKind.SCHEDULE,
        DomainCheck.Trigger.OPERATOR: AuditEvent.ActorKind.OPERATOR,
    }[trigger]


def _after_commit(event: str, domain: Domain, check: DomainCheck | None) -> None:
    from domains import notifications

    domain_id, check_id = domain.pk, check.pk if check else None
    transaction.on_commit(lambda: notifications.domain_state_changed(domain_id=domain_id, event=event, check_id=check_id))


def apply_check_result(
    *,
    domain_id: int,
    result: verifiers.CheckResult,
    trigger: str,
    actor=None,
    due_at: datetime | None = None,
) -> DomainCheck | None:
    """Record a check and move the domain's state. Returns the DomainCheck, or None when the
    result was not applied (domain removed, stale claim, or this due time already checked)."""
    now = clock.now()
    with transaction.atomic():
        domain = Domain.objects.select_for_update().filter(pk=domain_id).first()
        if domain is None or domain.status == Domain.Status.REMOVED:
            return None
        if due_at is not None and domain.next_check_at != due_at:
            return None  # a newer check already moved the schedule on
        try:
            with transaction.atomic():
                check = DomainCheck.objects.create(
                    domain=domain,
                    checked_at=now,
                    method=domain.method,
                    outcome=result.outcome,
                    detail=result.detail.english(),
                    detail_message=result.detail.as_json(),
                    diagnostics=[m.as_json() for m in result.diagnostics],
                    duration_ms=result.duration_ms,
                    trigger=trigger,
                    triggered_by=actor,
                    due_at=due_at,
                )
        except IntegrityError:
            return None  # this due time was already checked

        kind = _actor_kind(trigger)
        event = None
        domain.last_checked_at = now
        domain.last_outcome = result.outcome
        domain.lease_expires_at = None
        domain.claimed_due_at = None
        status = domain.status

        if result.outcome == verifiers.VERIFIED:
            domain.inconclusive_since = None
            if status == Domain.Status.PENDING:
                domain.status = Domain.Status.VERIFIED
                domain.verified_at = now
                event = "domain.verified"
            elif status == Domain.Status.REVALIDATION_REQUIRED:
                domain.status = Domain.Status.VERIFIED
                domain.failing_since = None
                domain.grace_deadline = None
                domain.reminders_sent = []
                event = "domain.revalidated"
            domain.next_check_at = now + RECHECK_INTERVAL + recheck_jitter()
        elif status == Domain.Status.PENDING:
            domain.next_check_at = next_pending_check(domain, now)
        elif result.outcome == verifiers.INCONCLUSIVE:
            if status == Domain.Status.VERIFIED:
                domain.inconclusive_since = domain.inconclusive_since or now
                if now - domain.inconclusive_since >= INCONCLUSIVE_TOLERANCE:
                    event = "domain.failing"
            domain.next_check_at = now + INCONCLUSIVE_RETRY
        else:  # definitive failure
            domain.inconclusive_since = None
            if status == Domain.Status.VERIFIED:
                event = "domain.failing"
            domain.next_check_at = now + FAILING_RECHECK_INTERVAL

        if event == "domain.failing":
            domain.status = Domain.Status.REVALIDATION_REQUIRED
            domain.failing_since = now
            domain.grace_deadline = now + GRACE_PERIOD
            domain.reminders_sent = []
            domain.next_check_at = now + FAILING_RECHECK_INTERVAL

        if event == "domain.verified":
            try:
                with transaction.atomic():
                    domain.save()
            except IntegrityError:
                # Another organization verified this name first; the database decided.
                domain.refresh_from_db()
                domain.last_checked_at = now
                domain.last_outcome = result.outcome
                domain.lease_expires_at = None
                domain.claimed_due_at = None
                domain.next_check_at = None
                domain.save()
                audit.record(
                    "domain.verification_refused",
                    organization=domain.organization,
                    actor=actor,
                    actor_kind=kind,
                    target=domain,
                    detail={"reason": "verified by another organization"},
                )
                return check
        else:
            domain.save()

        if event:
            audit.record(
                event,
                organization=domain.organization,
                actor=actor,
                actor_kind=kind,
                target=domain,
                detail={
                    "outcome": result.outcome,
                    "detail": check.detail,
                    "grace_deadline": domain.grace_deadline.isoformat() if domain.grace_deadline else None,
                },
            )
            _after_commit(event, domain, check)
        logger.info(
            "domain check domain=%s organization=%s trigger=%s outcome=%s status=%s",
            domain.name,
            domain.organization_id,
            trigger,
            result.outcome,
            domain.status,
        )
        return check
