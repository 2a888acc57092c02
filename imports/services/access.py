"""Bulk User Import is gated per organization: admins request it, operators grant or revoke it."""

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from console import audit, clock, emails
from console.errors import ConsoleError
from console.models import AuditEvent, Organization
from domains.models import Domain
from imports.models import AccessRequest

FEATURE = Organization.Feature.BULK_USER_IMPORT


def require_feature(organization: Organization) -> None:
    if not organization.has_feature(FEATURE):
        raise ConsoleError(
            _("Bulk User Import is not enabled for this organization. Request access first."),
            code="feature_missing",
        )


def request_access(*, organization: Organization, actor, domain: Domain | None = None, note: str = "") -> AccessRequest:
    """Record an administrator's request for the feature (one open request at a time)."""
    if organization.has_feature(FEATURE):
        raise ConsoleError(_("Bulk User Import is already enabled for this organization."), code="already_enabled")
    with transaction.atomic():
        existing = AccessRequest.objects.filter(
            organization=organization, feature=FEATURE, status=AccessRequest.Status.OPEN
        ).first()
        if existing is not None:
            return existing
        access_request = AccessRequest.objects.create(
            organization=organization,
            feature=FEATURE,
            requested_by=actor,
            requested_at=clock.now(),
            domain_name=domain.name if domain is not None else "",
            note=note,
        )
        audit.record(
            "imports.access_requested",
            organization=organization,
            actor=actor,
            target=access_request,
            detail={"feature": FEATURE, "domain": access_request.domain_name},
        )
    return access_request


def grant_feature(*, organization: Organization, actor=None, actor_kind: str | None = None) -> bool:
    """Enable Bulk User Import; closes open requests. Returns False if it was already enabled."""
    return _set_feature(organization=organization, enabled=True, actor=actor, actor_kind=actor_kind)


def _tell_requesters(organization: Organization, requests: list[AccessRequest]) -> None:
    """E-mail each admin who asked (and is still an admin here), as the page promised, after commit."""
    told = set()
    for access_request in requests:
        user = access_request.requested_by
        membership = getattr(user, "membership", None) if user is not None else None
        if user is None or user.pk in told or membership is None or membership.organization_id != organization.pk:
            continue
        if not membership.is_admin:
            continue
        told.add(user.pk)
        domain = (
            Domain.objects.active().filter(organization=organization, name=access_request.domain_name).first()
            if access_request.domain_name
            else None
        )
        path = reverse("imports:domain", args=[domain.pk]) if domain is not None else reverse("domains:list")
        emails.queue_to_user(
            "imports_access_granted",
            user=user,
            params={"organization": organization.name, "domain_url": emails.absolute_url(path)},
        )


def revoke_feature(*, organization: Organization, actor=None, actor_kind: str | None = None) -> bool:
    """Disable Bulk User Import. Running jobs finish; no new report or import can start."""
    return _set_feature(organization=organization, enabled=False, actor=actor, actor_kind=actor_kind)


def _set_feature(*, organization: Organization, enabled: bool, actor, actor_kind: str | None) -> bool:
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        if organization.has_feature(FEATURE) == enabled:
            return False
        others = [f for f in organization.features or [] if f != FEATURE]
        organization.features = [*others, FEATURE] if enabled else others
        organization.save(update_fields=["features"])
        if enabled:
            open_requests = AccessRequest.objects.filter(
                organization=organization, feature=FEATURE, status=AccessRequest.Status.OPEN
            )
            _tell_requesters(organization, list(open_requests.select_related("requested_by__membership")))
            open_requests.update(status=AccessRequest.Status.GRANTED, resolved_at=clock.now())
        audit.record(
            "imports.feature_granted" if enabled else "imports.feature_revoked",
            organization=organization,
            actor=actor,
            actor_kind=actor_kind or (AuditEvent.ActorKind.OPERATOR if actor is None else None),
            target=organization,
            detail={"feature": FEATURE},
        )
    return True
