"""Who may enter the Admin Center, and loading objects only within one's organization."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render


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
