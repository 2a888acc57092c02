"""Reads for the Domains section. Every function is bounded in queries (pinned in tests)."""

from dataclasses import dataclass

from django.db.models import F, QuerySet

from console.messages import Message
from console.models import AuditEvent
from console.permissions import get_for_organization
from domains.models import Domain, DomainCheck, RemovedMember

CHECKS_SHOWN = 50


def domains_of(*, organization) -> QuerySet[Domain]:
    """The organization's domains (not removed), by name: one query, no per-row lookups
    (last check time and outcome are kept on the Domain row)."""
    return Domain.objects.active().filter(organization=organization).order_by("name")


def domain_for_page(*, organization, pk: int, include_removed: bool = False) -> Domain:
    """One non-removed domain of the organization (or, with include_removed, any), or 404."""
    domains = Domain.objects.all() if include_removed else Domain.objects.active()
    domain = get_for_organization(domains, organization, pk=pk)
    domain.organization = organization  # the row loaded with the user: no join, no second copy
    return domain


def removed_domains_of(*, organization, limit: int = 20) -> list[Domain]:
    """Recently removed domains not listed again, newest first (one query)."""
    active_names = Domain.objects.active().filter(organization=organization).values("name")
    return list(
        Domain.objects.filter(organization=organization, status=Domain.Status.REMOVED)
        .exclude(name__in=active_names)
        .order_by("-removed_at", "-pk")[:limit]
    )


def active_domain_named(*, organization, name: str) -> Domain | None:
    return Domain.objects.active().filter(organization=organization, name=name).first()


def users_removed_with(*, domain: Domain) -> list[RemovedMember]:
    """The users removed when this row expired (same organization, name and moment)."""
    if domain.removed_at is None:
        return []
    return list(
        RemovedMember.objects.filter(
            organization_id=domain.organization_id, domain_name=domain.name, removed_at=domain.removed_at
        )
        .select_related("user")
        .order_by("user__email")
    )


def checks_of(*, domain: Domain, limit: int = CHECKS_SHOWN) -> list[DomainCheck]:
    """The latest checks of the domain, newest first, each with `triggered_by_email` (one query)."""
    # The address alone, not the user rows: a quarter less work building the query and its objects.
    return list(
        domain.checks.annotate(triggered_by_email=F("triggered_by__email")).order_by("-checked_at", "-pk")[:limit]
    )


def last_check_of(*, domain: Domain) -> DomainCheck | None:
    return domain.checks.select_related("triggered_by").order_by("-checked_at", "-pk").first()


def removed_members_of(*, domain: Domain, limit: int = 500) -> list[dict]:
    """Users removed when an earlier row of this name expired in this organization, not yet
    added back and not managed here again by another way meanwhile: their e-mail address, role
    and when they were removed (one query; values, not model rows: it runs on every domain page)."""
    return list(
        RemovedMember.objects.filter(
            organization_id=domain.organization_id, domain_name=domain.name, added_back_at__isnull=True
        )
        .exclude(user__membership__organization_id=domain.organization_id)
        .values("role", "removed_at", email=F("user__email"))
        .order_by("email")[:limit]
    )


def lapsing_domains_of(*, organization) -> list[Domain]:
    """Domains in re-validation, soonest deadline first: their users are removed when it runs
    out and no new user at them can be added meanwhile."""
    return list(Domain.objects.in_grace().filter(organization=organization).order_by("grace_deadline"))


def verified_domains_of(*, organization) -> list[Domain]:
    return list(Domain.objects.filter(organization=organization, status=Domain.Status.VERIFIED).order_by("name"))


@dataclass(frozen=True)
class SettingDecision:
    """Who last changed automatic adding, when, and to what (from the audit log)."""

    enabled: bool
    by: str  # e-mail address, or "" for the system / an operator
    at: object


def auto_add_decision_of(*, domain: Domain) -> SettingDecision | None:
    """The last recorded change of "automatically add new users", or None if nobody decided
    yet (one query)."""
    # Three values, not two model instances: this runs on every domain page.
    event = (
        AuditEvent.objects.filter(
            action="domain.settings_changed", target_type="domain", target_id=str(domain.pk)
        )
        .order_by("-created_at", "-pk")
        .values("detail", "created_at", "actor_user__email")
        .first()
    )
    if event is None or "auto_add_new_users" not in (event["detail"] or {}):
        return None
    return SettingDecision(
        enabled=bool(event["detail"]["auto_add_new_users"]),
        by=event["actor_user__email"] or "",
        at=event["created_at"],
    )


def domains_count_of(*, organization) -> int:
    return Domain.objects.active().filter(organization=organization).count()


@dataclass(frozen=True)
class RenderedCheck:
    """A stored check's detail and diagnostics in the reader's language."""

    detail: str
    diagnostics: tuple[str, ...]


def render_stored_message(data, fallback: str = "") -> str:
    message = Message.from_json(data) if isinstance(data, dict) else None
    if message is None:
        return fallback
    try:
        return message.render()
    except (KeyError, TypeError, ValueError):  # a translation with mismatched placeholders
        return message.english()


def rendered_check(check: DomainCheck) -> RenderedCheck:
    return RenderedCheck(
        detail=render_stored_message(check.detail_message, check.detail),
        diagnostics=tuple(text for text in (render_stored_message(item) for item in (check.diagnostics or [])) if text),
    )
