"""The end of the grace period.

expire_domain: in ONE transaction per domain, a conditional update (re-validation required and
grace deadline passed → removed, through Domain's state writer) so a double run is harmless;
then every managed user of the organization whose e-mail is exactly at that domain is removed
(console.services.remove_member: Membership deleted, the accounts they own leave the
organization, nothing deleted), told by e-mail, and remembered in a RemovedMember row so an
admin can add them back (domains.members) once the domain is verified again. The organization
is never left without an Owner: that Owner is skipped and the reason audited.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When

from console import audit, clock, events
from console.errors import ConsoleError
from console.models import AuditEvent, Membership
from console.services import remove_member
from domains import notifications
from domains.models import Domain, RemovedMember
from domains.rules import GRACE_PERIOD

logger = logging.getLogger("domains.expiry")


@dataclass
class ExpiryOutcome:
    domain_id: int
    domain_name: str
    organization_id: int
    removed: list[str] = field(default_factory=list)  # e-mail addresses
    removed_ids: list[int] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, reason)


def lapsed_domains(now: datetime | None = None):
    """Domains whose grace period is over, oldest deadline first (what the sweep expires)."""
    return Domain.objects.lapsed(now or clock.now()).order_by("grace_deadline", "pk")


def members_at_domain(domain: Domain):
    """Managed users of the domain's organization with an e-mail exactly at the domain
    (not its subdomains), members first and Owners last so an Owner is kept when needed."""
    return (
        Membership.objects.filter(organization_id=domain.organization_id, user__email_domain=domain.name)
        .select_related("user")
        .annotate(
            owner_last=Case(When(role=Membership.Role.OWNER, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        .order_by("owner_last", "user__email")
    )


def removal_reason(domain: Domain) -> str:
    # Stored as a record in English (like DomainCheck.detail); e-mails say it in the reader's language.
    since = domain.failing_since.date().isoformat() if domain.failing_since else "?"
    return f"Not re-validated within {GRACE_PERIOD.days} days (failing since {since})"


def _remove_members(domain: Domain, outcome: ExpiryOutcome, *, reason: str, now, actor, actor_kind) -> list[int]:
    """Remove the domain's managed users through console.services.remove_member (which keeps the
    organization's last Owner, so that one is skipped with its reason); returns who was skipped."""
    organization = domain.organization
    skipped_ids = []
    for membership in members_at_domain(domain):
        user, role = membership.user, membership.role
        try:
            with transaction.atomic():
                remove_member(membership=membership, actor=actor, actor_kind=actor_kind, reason=reason, notify=False)
        except ConsoleError as error:
            outcome.skipped.append((user.email, str(error)))
            skipped_ids.append(user.pk)
            audit.record(
                "user.removal_skipped",
                organization=organization,
                actor=actor,
                actor_kind=actor_kind,
                target=user,
                detail={"domain": domain.name, "reason": str(error)},
            )
            continue
        RemovedMember.objects.create(
            organization=organization, user=user, domain_name=domain.name, role=role, removed_at=now
        )
        outcome.removed.append(user.email)
        outcome.removed_ids.append(user.pk)
        notifications.send_user_removed(user_id=user.pk, organization_name=organization.name, domain_name=domain.name)
    return skipped_ids


def expire_domain(*, domain_id: int, actor=None, actor_kind: str = AuditEvent.ActorKind.SCHEDULE) -> ExpiryOutcome | None:
    """Apply expiry to one lapsed domain. None when it is not (or no longer) lapsed."""
    now = clock.now()
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("organization").filter(pk=domain_id).first()
        if domain is None:
            return None
        reason = removal_reason(domain)
        updated = Domain.objects.lapsed(now).filter(pk=domain_id).write_state(
            to=Domain.Status.REMOVED,
            removed_at=now,
            removal_reason=reason,
            next_check_at=None,
            lease_expires_at=None,
            claimed_due_at=None,
        )
        if not updated:
            return None  # re-validated in time, or already expired by another run
        outcome = ExpiryOutcome(domain.pk, domain.name, domain.organization_id)
        skipped_ids = _remove_members(domain, outcome, reason=reason, now=now, actor=actor, actor_kind=actor_kind)
        audit.record(
            "domain.deleted",
            organization=domain.organization,
            actor=actor,
            actor_kind=actor_kind,
            target=domain,
            detail={
                "reason": reason,
                "failing_since": domain.failing_since.isoformat() if domain.failing_since else None,
                "grace_deadline": domain.grace_deadline.isoformat() if domain.grace_deadline else None,
                "users_removed": outcome.removed,
                "users_skipped": [{"email": e, "reason": r} for e, r in outcome.skipped],
            },
        )
        domain.status = Domain.Status.REMOVED
        events.emit(
            events.DOMAIN_EXPIRED,
            organization_id=domain.organization_id,
            data={
                "domain": events.domain_data(domain),
                "reason": reason,
                "failing_since": events.iso(domain.failing_since),
                "grace_deadline": events.iso(domain.grace_deadline),
                "users_removed": [
                    {"id": pk, "email": email} for pk, email in zip(outcome.removed_ids, outcome.removed, strict=True)
                ],
                "users_kept": [{"email": email, "reason": why} for email, why in outcome.skipped],
            },
        )
        removed_ids = list(outcome.removed_ids)
        notifications.send_domain_deleted(domain_id=domain_id, removed_user_ids=removed_ids, skipped_user_ids=skipped_ids)
    logger.info("domain expired domain=%s organization=%s removed=%d skipped=%d",
                outcome.domain_name, outcome.organization_id, len(outcome.removed), len(outcome.skipped))
    return outcome


def expire_lapsed_domains(*, actor=None, actor_kind: str = AuditEvent.ActorKind.SCHEDULE) -> list[ExpiryOutcome]:
    """Expire every lapsed domain, one transaction each (a failure in one never blocks others)."""
    outcomes = []
    for domain_id in list(lapsed_domains().values_list("pk", flat=True)):
        outcome = expire_domain(domain_id=domain_id, actor=actor, actor_kind=actor_kind)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
