"""Audit rows are written inside the service that changes state, with the actor."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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


# What each action means, in words (the action stays a code in the database and in exports).
ACTION_LABELS = {
    "organization.created": _("Organization created"),
    "domain.added": _("Domain added"),
    "domain.verified": _("Domain verified"),
    "domain.verification_refused": _("Verification refused: another organization verified this domain first"),
    "domain.failing": _("Domain needs re-validation: its record or file was not found"),
    "domain.revalidated": _("Domain verified again"),
    "domain.reminder_sent": _("Re-validation reminder e-mailed"),
    "domain.method_changed": _("Verification method changed"),
    "domain.settings_changed": _("Domain settings changed"),
    "domain.deleted": _("Domain deleted"),
    "user.signed_up": _("User signed up"),
    "user.email_verified": _("E-mail address verified"),
    "user.invited": _("User invited"),
    "user.invitation_resent": _("Invitation sent again"),
    "user.added": _("User added"),
    "user.auto_added": _("User added automatically at sign-up"),
    "user.auto_add_refused": _("Automatic adding refused"),
    "user.added_back": _("User added back"),
    "user.role_changed": _("Role changed"),
    "user.removed": _("User removed"),
    "user.removal_skipped": _("User kept (not removed)"),
    "user.signed_in": _("Signed in"),
    "user.signed_out": _("Signed out"),
    "user.signin_failed": _("Sign-in failed"),
    "user.signin_locked": _("Sign-in paused after repeated failures"),
    "user.password_reset_sent": _("Password reset link sent"),
    "user.password_reset": _("Password set through an e-mailed link"),
    "user.password_changed": _("Password changed"),
    "audit.exported": _("Audit log exported"),
    "imports.report_downloaded": _("Import report downloaded (CSV)"),
    "api_token.created": _("API token created"),
    "api_token.revoked": _("API token revoked"),
    "webhooks.endpoint_added": _("Webhook endpoint added"),
    "webhooks.endpoint_changed": _("Webhook endpoint changed"),
    "webhooks.endpoint_deleted": _("Webhook endpoint deleted"),
    "webhooks.endpoint_disabled": _("Webhook endpoint disabled after failing deliveries"),
    "webhooks.secret_rotated": _("Webhook signing secret rotated"),
    "webhooks.test_sent": _("Webhook test event sent"),
    "webhooks.redelivered": _("Webhook event redelivered"),
    "user.two_factor_passed": _("Second factor accepted"),
    "user.two_factor_failed": _("Second factor refused"),
    "user.two_factor_locked": _("Second-factor codes paused after repeated failures"),
    "mfa.totp_added": _("Authenticator app set up"),
    "mfa.totp_removed": _("Authenticator app removed"),
    "mfa.security_key_added": _("Security key added"),
    "mfa.security_key_removed": _("Security key removed"),
    "mfa.recovery_codes_generated": _("Recovery codes made"),
    "mfa.factors_reset": _("Second factors removed by an operator"),
    "organization.two_factor_policy_changed": _("Two-factor policy changed"),
    "imports.access_requested": _("Bulk User Import requested"),
    "imports.feature_granted": _("Bulk User Import enabled"),
    "imports.feature_revoked": _("Bulk User Import disabled"),
    "imports.report_requested": _("Import report requested"),
    "imports.report_ready": _("Import report ready"),
    "imports.notify_requested": _("Notice e-mail requested"),
    "imports.users_notified": _("Users notified of the import"),
    "imports.import_started": _("Import started"),
    "imports.import_resumed": _("Import resumed"),
    "imports.import_completed": _("Import completed"),
}


def purge_expired(*, batch_size: int = 10000) -> int:
    """Delete the audit events older than AUDIT_RETENTION_DAYS, in batches (0: keep for ever)."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = clock.now() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(AuditEvent.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]


def describe(action: str) -> str:
    """The action in words, in the active language; an unknown action still reads as words."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    return gettext("Other event (%(code)s)") % {"code": action}
