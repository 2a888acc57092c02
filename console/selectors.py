"""Reads for the Admin Center's lists. Each returns a queryset with a bounded number of
queries per page (related rows joined or counted in the same query)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from console.models import Account, AuditEvent, Membership, Organization


def members_of(
    *,
    organization: Organization,
    search: str = "",
    role: str = "",
    user_ids: QuerySet | None = None,
) -> QuerySet[Membership]:
    """Managed users of the organization with how many of its accounts each owns
    (`user_ids`: only these users, e.g. the ones an import brought in)."""
    queryset = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(accounts_count=Count("user__accounts", filter=Q(user__accounts__organization=organization)))
        .order_by("user__email")
    )
    if search:
        queryset = queryset.filter(Q(user__email__icontains=search) | Q(user__full_name__icontains=search))
    if role:
        queryset = queryset.filter(role=role)
    if user_ids is not None:
        queryset = queryset.filter(user_id__in=user_ids)
    return queryset


def owners_count_of(*, organization: Organization) -> int:
    """How many Owners the organization has (the last one cannot be removed or demoted)."""
    return Membership.objects.filter(organization=organization, role=Membership.Role.OWNER).count()


def summary_counts(*, organization: Organization) -> dict[str, int]:
    """How many managed users and accounts the organization has."""
    return {
        "members_count": Membership.objects.filter(organization=organization).count(),
        "accounts_count": Account.objects.filter(organization=organization).count(),
    }


def accounts_of(*, organization: Organization, search: str = "", owner=None) -> QuerySet[Account]:
    queryset = Account.objects.filter(organization=organization).select_related("owner").order_by("name", "pk")
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(owner__email__icontains=search))
    return queryset


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def audit_events_of(
    *,
    organization: Organization,
    action: str = "",
    actor_kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """The organization's audit events, newest first; date_to is inclusive."""
    queryset = AuditEvent.objects.filter(organization=organization).select_related("actor_user")
    if action:
        queryset = queryset.filter(action__startswith=action)
    if actor_kind:
        queryset = queryset.filter(actor_kind=actor_kind)
    if date_from:
        queryset = queryset.filter(created_at__gte=_start_of_day(date_from))
    if date_to and date_to < date.max:  # the day after 9999-12-31 does not exist: no upper bound
        queryset = queryset.filter(created_at__lt=_start_of_day(date_to + timedelta(days=1)))
    return queryset


# Routine events that would crowd out the changes an admin looks for on the overview.
ROUTINE_ACTIONS = ("user.signed_in", "user.signed_out")


def recent_activity_of(*, organization: Organization, limit: int = 5) -> list[AuditEvent]:
    """The latest changes for the overview (sign-ins and sign-outs stay in the audit log)."""
    return list(audit_events_of(organization=organization).exclude(action__in=ROUTINE_ACTIONS)[:limit])


def audit_actions_of(*, organization: Organization) -> list[str]:
    return list(
        AuditEvent.objects.filter(organization=organization)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
