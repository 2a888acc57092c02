"""Audit rows are written inside the service that changes state, with the actor."""

from django.db import models

from console import clock
from console.models import AuditEvent


def record(
    action: str,
    *,
    organization=None,
    actor=None,
    actor_kind: str | None = None,
    target: models.Model | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Write one AuditEvent. `actor` is a User (kind "user") or None with an explicit actor_kind."""
    if actor_kind is None:
        actor_kind = AuditEvent.ActorKind.USER if actor is not None else AuditEvent.ActorKind.SYSTEM
    return AuditEvent.objects.create(
        organization=organization,
        created_at=clock.now(),
        actor_kind=actor_kind,
        actor_user=actor,
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        detail=detail or {},
    )
