"""Audit rows are written inside the service that changes state, with the actor."""

import logging

from django.db import models

from console import clock
from console.models import AuditEvent

logger = logging.getLogger("console.audit")


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
    event = AuditEvent.objects.create(
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
    # One log line per state change, with organization and target, for log search.
    logger.info(
        "state change action=%s organization=%s target=%s:%s actor=%s:%s detail=%s",
        action,
        organization.pk if organization is not None else "-",
        event.target_type or "-",
        event.target_repr or "-",
        actor_kind,
        actor.pk if actor is not None else "-",
        event.detail,
    )
    return event
