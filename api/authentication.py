"""`Authorization: Bearer adc_live_…`: the token acts for its creator (request.user) within its
organization (request.auth.organization). Session cookies never authenticate the API, so a
browser's cookies cannot be used against it (no CSRF exposure)."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from api import tokens


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if parts[0].decode("latin-1").lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("The API token is not valid.")) from error
        try:
            token = tokens.authenticate(secret)
        except tokens.TokenRefused as refusal:
            raise exceptions.AuthenticationFailed(refusal.message) from refusal
        return token.created_by, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
