from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions


class HasScope(permissions.BasePermission):
    """The view's `scopes` maps each HTTP method to the scope it needs (HEAD and OPTIONS as GET)."""

    def has_permission(self, request, view):
        token = request.auth
        if token is None:
            raise exceptions.NotAuthenticated(_("Send an API token: Authorization: Bearer <token>."))
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = view.scopes.get(method)
        if not needed:
            return True  # no scope needed, or a method the view refuses itself (405)
        if not token.has_scope(needed):
            raise exceptions.PermissionDenied(
                _("This API token does not have the %(scope)s scope.") % {"scope": needed}
            )
        return True
