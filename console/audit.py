"""Audit rows are written inside the service that changes state, with the actor."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

from console import clock
from console.models import AuditEvent

logger = logging.getLogger("console.audit")

# Set while a caller acts for a user through a delegate (an API token): (actor_kind, detail).
_delegate: ContextVar[tuple[str, dict] | None] = ContextVar("audit_delegate", default=None)


@contextmanager
def acting_through(*, actor_kind: str, detail: dict) -> Iterator[None]:
    """Attribute the user-actor rows written inside the block to a delegate acting for that user.

    The services keep taking the user as `actor` (their permission rules read that user's
    role); each row they write with a user actor gets `actor_kind` instead of "user" and
    `detail` merged in, e.g. the token's id and name. Rows with another kind are unchanged.
    """
    reset = _delegate.set((actor_kind, dict(detail)))
    try:
        yield
    finally:
        _delegate.reset(reset)


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
    delegate = _delegate.get()
    if delegate is not None and actor_kind == AuditEvent.ActorKind.USER:
        actor_kind, delegate_detail = delegate
        detail = {**(detail or {}), **delegate_detail}
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
