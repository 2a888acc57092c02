"""Reactions to the domains app: a domain that leaves "verified" suspends its SSO requirement."""

from console import audit
from domains.models import Domain
from sso.models import DomainPolicy

SUSPENDING_EVENTS = {"domain.failing": "lapsed", "domain.deleted": "removed"}


def domain_status_changed_receiver(sender, *, domain_id: int, event: str, **kwargs) -> None:
    """Audit that enforcement (and routing to the IdP) is suspended or resumed with the domain.

    Enforcement itself is read live from the domain's status (sso.models), so this only records it.
    """
    policy = DomainPolicy.objects.filter(domain_id=domain_id, require_sso=True).select_related("domain__organization").first()
    if policy is None:
        return
    domain = policy.domain
    if event in SUSPENDING_EVENTS:
        action, reason = "sso.enforcement_suspended", SUSPENDING_EVENTS[event]
    elif event == "domain.revalidated" and domain.status == Domain.Status.VERIFIED:
        action, reason = "sso.enforcement_resumed", "verified again"
    else:
        return
    audit.record(
        action,
        organization=domain.organization,
        actor_kind="system",
        target=domain,
        detail={"domain": domain.name, "reason": reason},
    )
