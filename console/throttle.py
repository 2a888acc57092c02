"""Sign-in throttling: failed attempts are counted per account and per client address.

The refusal reads the same whether or not the account exists, so it reveals nothing.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import ratelimit
from console.models import normalise_email


def _keys(request, email: str) -> list[tuple[str, int, int]]:
    account = hashlib.sha256(normalise_email(email).lower().encode()).hexdigest()[:32]
    address = (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"
    window = settings.SIGNIN_WINDOW_SECONDS
    return [
        (f"signin:account:{account}", settings.SIGNIN_FAILURES_PER_ACCOUNT, window),
        (f"signin:address:{address}", settings.SIGNIN_FAILURES_PER_ADDRESS, window),
    ]


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing early once an account or address has failed too often."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That e-mail address and password do not match. Check both and try again."),
    }

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        keys = _keys(self.request, email)
        for key, limit, window in keys:
            state = ratelimit.peek(key, limit=limit, window_seconds=window)
            if not state.allowed:
                minutes = state.retry_after_minutes
                raise ValidationError(
                    ngettext(
                        "Too many sign-in attempts. Try again in %(minutes)d minute.",
                        "Too many sign-in attempts. Try again in %(minutes)d minutes.",
                        minutes,
                    )
                    % {"minutes": minutes},
                    code="throttled",
                )
        try:
            return super().clean()
        except ValidationError:
            for key, limit, window in keys:
                ratelimit.hit(key, limit=limit, window_seconds=window)
            raise
