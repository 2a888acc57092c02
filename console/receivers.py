"""The security audit trail of signing in and out, from Django's auth signals, so every entry
point that uses django.contrib.auth is recorded the same way (with address and user agent)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from console import audit
from console.client import client_address, user_agent
from console.models import AuditEvent, Membership, User, normalise_email
from console.permissions import mark_recently_authenticated


def _organization_of(user):
    if user is None:
        return None
    membership = Membership.objects.filter(user=user).select_related("organization").first()
    return membership.organization if membership is not None else None


def _where(request) -> dict:
    return {"address": client_address(request), "user_agent": user_agent(request)}


@receiver(user_logged_in, dispatch_uid="console.audit_signed_in")
def record_signed_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_recently_authenticated(request)  # signing in is proving who one is
    audit.record("user.signed_in", organization=_organization_of(user), actor=user, target=user, detail=_where(request))


@receiver(user_logged_out, dispatch_uid="console.audit_signed_out")
def record_signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(
            "user.signed_out", organization=_organization_of(user), actor=user, target=user, detail=_where(request)
        )


@receiver(user_login_failed, dispatch_uid="console.audit_signin_failed")
def record_signin_failed(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "signin_throttled", None) is not None:
        return  # recorded once as user.signin_locked by the throttle
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    user = User.objects.filter(email__iexact=normalise_email(email)).first() if email else None
    audit.record(
        "user.signin_failed",
        organization=_organization_of(user),
        actor_kind=AuditEvent.ActorKind.SYSTEM,
        target=user,
        detail={"email": email, **_where(request)},
    )
