"""Reactions to the lifecycle events: a domain that leaves "verified" suspends its SSO requirement."""

from console import audit, events
from domains.models import Domain
from sso.models import DomainPolicy

SUSPENDING_EVENTS = {
    events.DOMAIN_CHECK_FAILED: "lapsed",
    events.DOMAIN_EXPIRED: "removed",
    events.DOMAIN_DELETED: "removed",
}


def event_occurred_receiver(sender, *, event_type: str, occurrences: list, **kwargs) -> None:
    """Audit that enforcement (and routing to the IdP) is suspended or resumed with the domain,
    in the transaction of the domain's change (console.events).

    Enforcement itself is read live from the domain's status (sso.models), so this only records it.
    """
    if event_type in SUSPENDING_EVENTS:
        action, reason = "sso.enforcement_suspended", SUSPENDING_EVENTS[event_type]
    elif event_type == events.DOMAIN_REVALIDATED:
        action, reason = "sso.enforcement_resumed", "verified again"
    else:
        return
    domain_ids = [data["domain"]["id"] for _organization_id, data in occurrences]
    policies = DomainPolicy.objects.filter(domain_id__in=domain_ids, require_sso=True).select_related(
        "domain__organization"
    )
    for policy in policies:
        domain = policy.domain
        if action == "sso.enforcement_resumed" and domain.status != Domain.Status.VERIFIED:
            continue
        audit.record(
            action,
            organization=domain.organization,
            actor_kind="system",
            target=domain,
            detail={"domain": domain.name, "reason": reason},
        )
