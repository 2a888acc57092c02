"""`Authorization: Bearer adc_live_…`: the token acts for its creator (request.user) within its
organization (request.auth.organization). Session cookies never authenticate the API, so a
browser's cookies cannot be used against it (no CSRF exposure)."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from api import tokens


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = str(header).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        secret = parts[1]
        if not secret.isascii():
            raise exceptions.AuthenticationFailed(_("The API token is not valid."))
        try:
            token = tokens.authenticate(secret)
        except tokens.TokenRefused as refusal:
            raise exceptions.AuthenticationFailed(refusal.message) from refusal
        return token.created_by, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
