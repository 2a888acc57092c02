"""Who may enter the Admin Center, loading objects only within one's organization, and the
recent-authentication rule for sensitive actions."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from console import clock


def admin_required(view):
    """Owners and Administrators only. Sets request.membership and request.organization.

    A signed-in member (or a user with no organization) sees a plain page saying so (403).
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # Loaded with the user by the authentication backend (no query of its own).
        membership = getattr(request.user, "membership", None)
        if membership is None or not membership.is_admin:
            return render(request, "console/not_admin.html", {"membership": membership}, status=403)
        request.membership = membership
        request.organization = membership.organization
        return view(request, *args, **kwargs)

    return wrapper


def get_for_organization(queryset, organization, **lookup):
    """404 unless the object belongs to `organization` (never reveals other organizations' ids)."""
    return get_object_or_404(queryset, organization=organization, **lookup)


# --- Recent authentication ----------------------------------------------------------------
# The moment the session last proved who it is (sign-in, or the re-authentication page).
RECENT_AUTH_SESSION_KEY = "recent_auth_at"


def mark_recently_authenticated(request) -> None:
    """Record that the user proved who they are just now (a password or a second factor)."""
    request.session[RECENT_AUTH_SESSION_KEY] = clock.now().timestamp()


def recently_authenticated(request) -> bool:
    proved_at = request.session.get(RECENT_AUTH_SESSION_KEY)
    if not isinstance(proved_at, int | float):
        return False
    age = clock.now().timestamp() - proved_at
    return 0 <= age <= settings.RECENT_AUTH_SECONDS


def _return_to(request) -> str:
    """Where to go once re-authenticated: the page itself for a GET; for a POST the page the
    form was on (the action is repeated there by the user, never replayed for them)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("console:home")


def require_recent_auth(view):
    """Sensitive actions (adding a factor, API tokens, roles, deleting a domain, webhook
    endpoints): the user must have proved who they are within RECENT_AUTH_SECONDS, else they
    are sent to the re-authentication page and brought back. Put it inside the permission
    decorator, so only people allowed to act are asked."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not recently_authenticated(request):
            messages.info(request, _("For your security, confirm it is you before you continue."))
            return redirect(f"{reverse(settings.REAUTHENTICATE_URL)}?{urlencode({'next': _return_to(request)})}")
        return view(request, *args, **kwargs)

    return wrapper
