"""A password sign-in of a user who has a second factor is only half a sign-in: the session is
marked so the middleware lets it reach nothing but the second-factor page."""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from mfa.gate import PENDING_SESSION_KEY, signed_in_with_password


@receiver(user_logged_in, dispatch_uid="mfa.mark_second_factor_pending")
def mark_second_factor_pending(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    if user.two_factor_enabled and signed_in_with_password(request.session.get(BACKEND_SESSION_KEY, "")):
        request.session[PENDING_SESSION_KEY] = True
    else:
        request.session.pop(PENDING_SESSION_KEY, None)
