"""Where a signed-in session stands with the second factor, read from the session and the user
row the authentication backend already loaded (no query of its own)."""

from django.contrib.auth.backends import ModelBackend
from django.utils.module_loading import import_string

# Set when a password sign-in of a user with a second factor still owes it.
PENDING_SESSION_KEY = "mfa_pending"


def signed_in_with_password(backend_path: str) -> bool:
    try:
        return issubclass(import_string(backend_path), ModelBackend)
    except ImportError:
        return False


def second_factor_pending(request) -> bool:
    return bool(request.session.get(PENDING_SESSION_KEY))


def must_enrol(user) -> bool:
    """The user's organization requires a second factor of them and they have none yet."""
    if user.two_factor_enabled:
        return False
    membership = getattr(user, "membership", None)
    return membership is not None and membership.organization.requires_two_factor(membership.role)
