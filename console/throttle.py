"""Sign-in throttling, for every way a password is checked (the console's sign-in, Django
admin's, and any later entry point that calls django.contrib.auth.authenticate).

Attempts are counted atomically BEFORE the password is hashed and checked, per (account,
client address) and per client address, so at most the configured number of passwords are ever
evaluated for an account from one address in a window, however many requests arrive at once.
A correct password gives its attempt back. Limiting by (account, address) rather than by
account alone means a stranger failing from elsewhere never locks the real user out.
django-axes was evaluated: it checks the lock before the password and counts the failure after
it, so parallel attempts all get evaluated (reported upstream and closed as "won't fix").
"""

import hashlib

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import audit, ratelimit
from console.client import client_address, user_agent
from console.models import User, normalise_email


def signin_limits(email: str, address: str) -> list[ratelimit.Limit]:
    account = hashlib.sha256(normalise_email(email).lower().encode()).hexdigest()[:32]
    window = settings.SIGNIN_WINDOW_SECONDS
    return [
        (f"signin:account-address:{account}:{address}", settings.SIGNIN_FAILURES_PER_ACCOUNT, window),
        (f"signin:address:{address}", settings.SIGNIN_FAILURES_PER_ADDRESS, window),
    ]


def _record_lock(request, email: str, address: str, state: ratelimit.RateLimit) -> None:
    # Once per account, address and window: a locked-out flood must not flood the audit log too.
    marker = f"signin-locked:{hashlib.sha256(f'{email.lower()}|{address}'.encode()).hexdigest()[:32]}"
    if not cache.add(marker, 1, timeout=state.retry_after_seconds):
        return
    user = User.objects.filter(email__iexact=normalise_email(email)).select_related("membership").first()
    membership = getattr(user, "membership", None) if user is not None else None
    audit.record(
        "user.signin_locked",
        organization=membership.organization if membership is not None else None,
        actor_kind="system",
        target=user,
        detail={"email": email[:254], "address": address, "user_agent": user_agent(request)},
    )


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the sign-in throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        limits = signin_limits(username, address)
        state = ratelimit.acquire(limits)
        if not state.allowed:
            request.signin_throttled = state
            _record_lock(request, username, address, state)
            raise PermissionDenied  # authenticate() stops here: no password is evaluated
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            ratelimit.release(limits)
        return user

    def get_user(self, user_id):
        """The signed-in user of each request, with their membership and organization in the
        same query (every Admin Center page needs them)."""
        user = (
            User._default_manager.select_related("membership__organization").filter(pk=user_id).first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None


def throttled_message(state: ratelimit.RateLimit) -> str:
    minutes = state.retry_after_minutes
    return ngettext(
        "Too many sign-in attempts. Try again in %(minutes)d minute.",
        "Too many sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class ThrottleMessageMixin:
    """Say "try again in N minutes" instead of "wrong password" when the throttle refused."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            state = getattr(self.request, "signin_throttled", None)
            if state is not None:
                raise ValidationError(throttled_message(state), code="throttled") from None
            raise


class ThrottledAuthenticationForm(ThrottleMessageMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That e-mail address and password do not match. Check both and try again."),
    }


class ThrottledAdminAuthenticationForm(ThrottleMessageMixin, AdminAuthenticationForm):
    pass
