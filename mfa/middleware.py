"""The gate after the password: a session that still owes its second factor reaches only the
challenge and sign-out; a user whose organization requires a second factor they have not set up
reaches only the pages that set one up. Everything else redirects there (JSON paths get 403)."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from mfa.gate import must_enrol, second_factor_pending

# Reachable while the second factor is owed (by URL name).
_CHALLENGE_VIEWS = {"mfa:challenge", "mfa:challenge_key_options", "console:logout", "set_language"}
# Reachable while a required factor is not set up yet.
_ENROL_VIEWS = _CHALLENGE_VIEWS | {
    "mfa:security",
    "mfa:totp_add",
    "mfa:key_add",
    "mfa:key_options",
    "mfa:recovery_codes",
    "mfa:reauthenticate",
    "mfa:reauthenticate_key_options",
}


def _view_name(request) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")) or not request.user.is_authenticated:
            return self.get_response(request)
        if second_factor_pending(request):
            if _view_name(request) not in _CHALLENGE_VIEWS:
                return self._send_to("mfa:challenge", request)
        elif must_enrol(request.user) and _view_name(request) not in _ENROL_VIEWS:
            return self._send_to("mfa:security", request)
        return self.get_response(request)

    @staticmethod
    def _send_to(view_name: str, request):
        if request.path_info.startswith("/api/") or request.headers.get("accept", "").startswith("application/json"):
            return JsonResponse({"detail": "second factor required"}, status=403)
        url = reverse(view_name)
        if request.method == "GET" and view_name == "mfa:challenge":
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        return redirect(url)
