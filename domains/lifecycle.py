"""The state machine of a domain: what a check result does to it, and when it is next checked.

Guarantees:
- One check result is applied at most once per scheduled due time (DomainCheck's unique
  (domain, due_at)), and a result for a stale claim (the domain's due time moved on) is ignored.
- An inconclusive result never grants and never revokes; only after inconclusive results have
  lasted INCONCLUSIVE_TOLERANCE does a verified domain enter the grace period.
- Every transition writes an AuditEvent; e-mails are sent after commit.

- A domain is verified by either method: a verification by the method that was not chosen
  switches the domain to it (audited as "domain.method_changed"), so re-checks use what works.
- A trial of another method (an admin switching methods) that does not verify is recorded and
  changes nothing else: a verified domain never lapses because a new method is not ready yet.

The rules live in one pure function, `transition`, used by both the single-check path
(`apply_check_result`: Verify clicks, operator commands, single scheduled checks) and the
batch path (`apply_check_results_bulk`: the scheduled sweep, a few queries per batch).
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from console import audit, bulk, clock, events
from console.messages import Message
from console.models import AuditEvent
from domains import notifications, verifiers
from domains.models import Domain, DomainCheck
from domains.rules import (
    FAILING_RECHECK_INTERVAL,
    GRACE_PERIOD,
    INCONCLUSIVE_RETRY,
    INCONCLUSIVE_TOLERANCE,
    PENDING_MAX_INTERVAL,
    PENDING_MIN_INTERVAL,
    PENDING_WINDOW,
    RECHECK_INTERVAL,
)

logger = logging.getLogger("domains.lifecycle")

VERIFIED_EVENT = "domain.verified"
FAILING_EVENT = "domain.failing"
REVALIDATED_EVENT = "domain.revalidated"
REFUSED_EVENT = "domain.verification_refused"  # the token was found, but another organization holds the name
METHOD_CHANGED_EVENT = "domain.method_changed"

# Every field `transition` may change (the batch path writes those a batch's results change).
TRANSITION_FIELDS = (
    "status",
    "method",
    "verified_at",
    "last_checked_at",
    "last_outcome",
    "next_check_at",
    "lease_expires_at",
    "claimed_due_at",
    "inconclusive_since",
    "failing_since",
    "grace_deadline",
    "reminders_sent",
)


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


def result_method(domain: Domain, result: verifiers.CheckResult) -> str:
    """The method a result was obtained by (a plain verifier result: the domain's own)."""
    return getattr(result, "method", "") or domain.method


def transition(domain: Domain, result: verifiers.CheckResult, now: datetime) -> tuple[dict, str | None]:
    """THE rules: what `result`, observed at `now`, does to `domain`.

    Pure: reads the domain, returns (changes, event) and writes nothing. `changes` maps
    field names (a subset of TRANSITION_FIELDS) to new values; `event` is "domain.verified",
    "domain.failing", "domain.revalidated" or None. A verification by the other method
    also changes `method` (see `method_change`).
    """
    status = domain.status
    changes: dict = {
        "last_checked_at": now,
        "last_outcome": result.outcome,
        "lease_expires_at": None,
        "claimed_due_at": None,
    }
    event = None

    if result.outcome == verifiers.Outcome.VERIFIED:
        changes["inconclusive_since"] = None
        if result_method(domain, result) != domain.method:
            changes["method"] = result_method(domain, result)
        if status == Domain.Status.PENDING:
            changes.update(status=Domain.Status.VERIFIED, verified_at=now)
            event = VERIFIED_EVENT
        elif status == Domain.Status.REVALIDATION_REQUIRED:
            changes.update(
                status=Domain.Status.VERIFIED, failing_since=None, grace_deadline=None, reminders_sent=[]
            )
            event = REVALIDATED_EVENT
        changes["next_check_at"] = now + RECHECK_INTERVAL + recheck_jitter()
    elif status == Domain.Status.PENDING:
        # Not there yet: keep trying within the back-off window; never "fails".
        changes["next_check_at"] = next_pending_check(domain, now)
    elif result.outcome == verifiers.Outcome.INCONCLUSIVE:
        # Never grants, never revokes... unless it has lasted INCONCLUSIVE_TOLERANCE.
        if status == Domain.Status.VERIFIED:
            since = domain.inconclusive_since or now
            changes["inconclusive_since"] = since
            if now - since >= INCONCLUSIVE_TOLERANCE:
                event = FAILING_EVENT
        changes["next_check_at"] = now + INCONCLUSIVE_RETRY
    else:  # definitive failure: not found / mismatch
        changes["inconclusive_since"] = None
        if status == Domain.Status.VERIFIED:
            event = FAILING_EVENT
        changes["next_check_at"] = now + FAILING_RECHECK_INTERVAL

    if event == FAILING_EVENT:
        changes.update(
            status=Domain.Status.REVALIDATION_REQUIRED,
            failing_since=now,
            grace_deadline=now + GRACE_PERIOD,
            reminders_sent=[],
            next_check_at=now + FAILING_RECHECK_INTERVAL,
        )
    return changes, event


def _apply_changes(domain: Domain, changes: dict) -> None:
    for field, value in changes.items():
        setattr(domain, field, value)


def _actor_kind(trigger: str) -> str:
    return {
        DomainCheck.Trigger.USER: AuditEvent.ActorKind.USER,
        DomainCheck.Trigger.SCHEDULE: AuditEvent.ActorKind.SCHEDULE,
        DomainCheck.Trigger.OPERATOR: AuditEvent.ActorKind.OPERATOR,
    }[trigger]


def _notify(event: str, domain: Domain, check: DomainCheck | None) -> None:
    # In the transaction of the change: the e-mail records commit (or roll back) with it.
    notifications.domain_states_changed([(domain, event, check)])


_ANNOUNCED = {
    VERIFIED_EVENT: events.DOMAIN_VERIFIED,
    FAILING_EVENT: events.DOMAIN_CHECK_FAILED,
    REVALIDATED_EVENT: events.DOMAIN_REVALIDATED,
}


def _announcement(event: str, domain: Domain, check: DomainCheck) -> dict:
    """What the organization's tools are told about a transition."""
    diagnostics = [Message.from_json(item) for item in check.diagnostics or []]
    data = {
        "domain": events.domain_data(domain),
        "check": {
            "id": check.pk,
            "method": check.method,
            "outcome": check.outcome,
            "detail": check.detail,
            "diagnostics": [item.english() for item in diagnostics if item is not None],
        },
    }
    if event == FAILING_EVENT:
        data.update(failing_since=events.iso(domain.failing_since), grace_deadline=events.iso(domain.grace_deadline))
    return data


def _announce(transitions: list[tuple[str, Domain, DomainCheck]]) -> None:
    """The transitions as events (inside the transaction), one announcement per event type."""
    for event, announced in _ANNOUNCED.items():
        occurrences = [(d.organization_id, _announcement(e, d, c)) for e, d, c in transitions if e == event]
        events.announce(announced, occurrences)


def _new_check(domain, result, *, now, trigger, actor, due_at) -> DomainCheck:
    return DomainCheck(
        domain=domain,
        checked_at=now,
        method=result_method(domain, result),
        outcome=result.outcome,
        detail=result.detail.english(),
        detail_message=result.detail.as_json(),
        diagnostics=[m.as_json() for m in result.diagnostics],
        duration_ms=result.duration_ms,
        trigger=trigger,
        triggered_by=actor,
        due_at=due_at,
    )


def _event_detail(domain: Domain, result, check: DomainCheck) -> dict:
    return {
        "outcome": result.outcome,
        "detail": check.detail,
        "grace_deadline": domain.grace_deadline.isoformat() if domain.grace_deadline else None,
    }


def _write(domain: Domain, changes: dict, previous_status: str) -> None:
    """One conditional write through Domain's state writer (the row is locked by the caller)."""
    fields = {name: value for name, value in changes.items() if name != "status"}
    written = Domain.objects.filter(pk=domain.pk, status=previous_status).write_state(
        to=changes.get("status", previous_status), **fields
    )
    if not written:
        raise RuntimeError(f"domain {domain.pk} left {previous_status} while locked")


def _save_verification(domain: Domain, changes: dict, *, now, result, actor, kind) -> bool:
    """Write a pending→verified transition. The database decides between two organizations
    verifying the same name (domain_held_by_one_organization); returns False if we lost."""
    try:
        with transaction.atomic():
            _write(domain, changes, Domain.Status.PENDING)
        _apply_changes(domain, changes)
        return True
    except IntegrityError:
        lost = {
            "last_checked_at": now,
            "last_outcome": result.outcome,
            "lease_expires_at": None,
            "claimed_due_at": None,
            "next_check_at": None,
        }
        _write(domain, lost, Domain.Status.PENDING)
        _apply_changes(domain, lost)
        audit.record(
            REFUSED_EVENT,
            organization=domain.organization,
            actor=actor,
            actor_kind=kind,
            target=domain,
            detail={"reason": "verified by another organization"},
        )
        return False


def _log(domain: Domain, trigger: str, outcome: str) -> None:
    logger.info(
        "domain check domain=%s organization=%s trigger=%s outcome=%s status=%s",
        domain.name,
        domain.organization_id,
        trigger,
        outcome,
        domain.status,
    )


def _method_change_detail(previous: str, changes: dict) -> dict | None:
    """The audit detail of a method switched by a verification, or None."""
    if "method" not in changes or changes["method"] == previous:
        return None
    return {"from": previous, "to": changes["method"], "reason": "verified by this method"}


@dataclass(frozen=True)
class Applied:
    """A check recorded: the row, and the transition it caused ("domain.verified", …, or None)."""

    check: DomainCheck
    event: str | None


def apply_check_result(
    *,
    domain_id: int,
    result: verifiers.CheckResult,
    trigger: str,
    actor=None,
    due_at: datetime | None = None,
    trial: bool = False,
) -> Applied | None:
    """Record a check and move the domain's state. None when the result was not applied
    (domain removed, stale claim, or this due time already checked).

    `trial`: the check of a method the admin wants to switch to; unless it verifies, it is
    only recorded (the domain's state, schedule and last outcome stay as they are)."""
    now = clock.now()
    kind = _actor_kind(trigger)
    with transaction.atomic():
        domain = Domain.objects.select_for_update().filter(pk=domain_id).first()
        if domain is None or domain.status == Domain.Status.REMOVED:
            return None
        if due_at is not None and domain.next_check_at != due_at:
            return None  # a newer check already moved the schedule on
        try:
            with transaction.atomic():
                check = _new_check(domain, result, now=now, trigger=trigger, actor=actor, due_at=due_at)
                check.save()
        except IntegrityError:
            return None  # this due time was already checked
        if trial and result.outcome != verifiers.Outcome.VERIFIED:
            _log(domain, trigger, result.outcome)
            return Applied(check, None)

        previous_method = domain.method
        changes, event = transition(domain, result, now)
        if event == VERIFIED_EVENT:
            if not _save_verification(domain, changes, now=now, result=result, actor=actor, kind=kind):
                return Applied(check, REFUSED_EVENT)
        else:
            _write(domain, changes, domain.status)
            _apply_changes(domain, changes)

        method_change = _method_change_detail(previous_method, changes)
        if method_change:
            audit.record(
                METHOD_CHANGED_EVENT,
                organization=domain.organization,
                actor=actor,
                actor_kind=kind,
                target=domain,
                detail=method_change,
            )
        if event:
            audit.record(
                event,
                organization=domain.organization,
                actor=actor,
                actor_kind=kind,
                target=domain,
                detail=_event_detail(domain, result, check),
            )
            _announce([(event, domain, check)])
            _notify(event, domain, check)
        _log(domain, trigger, result.outcome)
        return Applied(check, event)


@dataclass(frozen=True)
class BulkOutcome:
    applied: int = 0
    skipped: int = 0  # removed, stale claim or already checked
    events: tuple[tuple[int, str], ...] = ()  # (domain_id, event)


def apply_check_results_bulk(
    items: list[tuple[int, datetime, verifiers.CheckResult]],
    *,
    trigger: str = DomainCheck.Trigger.SCHEDULE,
) -> BulkOutcome:
    """The batch path of `apply_check_result` for scheduled checks: the same `transition`,
    the same once-per-due-time guarantee, but a handful of queries per batch instead of
    several per domain: lock the rows (1), insert the checks (1), update the domains (1),
    insert the audit events (1, only when something changed state).

    `items` are (domain_id, due_at, result). If the checks cannot be inserted in bulk (a
    concurrent worker checked one of these due times), falls back to one-by-one.
    """
    if not items:
        return BulkOutcome()
    now = clock.now()
    kind = _actor_kind(trigger)
    try:
        with transaction.atomic():
            return _apply_bulk(items, now=now, trigger=trigger, kind=kind)
    except IntegrityError:
        applied = skipped = 0
        events = []
        for domain_id, due_at, result in items:
            applied_one = apply_check_result(domain_id=domain_id, result=result, trigger=trigger, due_at=due_at)
            if applied_one is None:
                skipped += 1
            else:
                applied += 1
                if applied_one.event:
                    events.append((domain_id, applied_one.event))
        return BulkOutcome(applied=applied, skipped=skipped, events=tuple(events))


def _audit_row(domain: Domain, action: str, detail: dict, now: datetime, kind: str) -> AuditEvent:
    """An audit event of the batch path, written with the others in one statement."""
    return AuditEvent(
        organization_id=domain.organization_id,
        created_at=now,
        actor_kind=kind,
        action=action,
        target_type=domain._meta.model_name,
        target_id=str(domain.pk),
        target_repr=str(domain)[:300],
        detail=detail,
    )


def _apply_bulk(items, *, now, trigger, kind) -> BulkOutcome:
    ids = [domain_id for domain_id, _, _ in items]
    domains = {d.pk: d for d in Domain.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    applicable = []
    for domain_id, due_at, result in items:
        domain = domains.get(domain_id)
        if domain is None or domain.status == Domain.Status.REMOVED or domain.next_check_at != due_at:
            continue
        applicable.append((domain, due_at, result))
    checks = bulk.insert_objects(
        DomainCheck, [_new_check(d, r, now=now, trigger=trigger, actor=None, due_at=due) for d, due, r in applicable]
    )
    plain, previous, verifications, audits, events = [], [], [], [], []
    method_changes = []  # (domain, detail)
    changed = set()  # the fields some row's transition sets: the others need no writing
    for (domain, _due, result), check in zip(applicable, checks, strict=True):
        previous_method = domain.method
        changes, event = transition(domain, result, now)
        if event == VERIFIED_EVENT:
            verifications.append((domain, changes, result, check, previous_method))
            continue
        previous.append(domain.status)
        _apply_changes(domain, changes)
        changed.update(changes)
        plain.append(domain)
        if detail := _method_change_detail(previous_method, changes):
            method_changes.append((domain, detail))
        if event:
            audits.append((event, domain, result, check))
    if plain:
        fields = [name for name in TRANSITION_FIELDS if name in changed]
        Domain.objects.write_states(plain, previous=previous, fields=fields)
    for domain, changes, result, check, previous_method in verifications:  # rare in a sweep; each needs its own savepoint
        if _save_verification(domain, changes, now=now, result=result, actor=None, kind=kind):
            audits.append((VERIFIED_EVENT, domain, result, check))
            if detail := _method_change_detail(previous_method, changes):
                method_changes.append((domain, detail))

    # Method switches and transitions in one statement.
    rows = [_audit_row(domain, METHOD_CHANGED_EVENT, detail, now, kind) for domain, detail in method_changes]
    rows += [
        _audit_row(domain, event, _event_detail(domain, result, check), now, kind)
        for event, domain, result, check in audits
    ]
    if rows:
        AuditEvent.objects.bulk_create(rows)
    if audits:
        _announce([(event, domain, check) for event, domain, _result, check in audits])
        notifications.domain_states_changed([(domain, event, check) for event, domain, _result, check in audits])
        for event, domain, _result, _check in audits:
            events.append((domain.pk, event))
    # One line per check (domain, organization, outcome), as on the single path.
    if logger.isEnabledFor(logging.INFO):
        for domain, _due, result in applicable:
            _log(domain, trigger, result.outcome)
    logger.info(
        "domain checks applied trigger=%s applied=%d skipped=%d transitions=%d",
        trigger, len(applicable), len(items) - len(applicable), len(events),
    )
    return BulkOutcome(applied=len(applicable), skipped=len(items) - len(applicable), events=tuple(events))
