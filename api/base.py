"""What every API view shares: token authentication, scopes, the per-token rate limit with its
headers, problem responses, and audit rows that name the token as the actor."""

from django.conf import settings
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView

from api.authentication import TokenAuthentication
from api.permissions import HasScope
from api.problems import Problem
from console import audit, ratelimit
from console.models import AuditEvent


class LenientNegotiation(DefaultContentNegotiation):
    """JSON whatever the client accepts (e.g. */*, application/problem+json): no 406s."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


def rate_limit_policy() -> str:
    return f'"per-token";q={settings.API_RATE_PER_TOKEN};w={settings.API_RATE_WINDOW_SECONDS}'


class ApiView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [HasScope]
    content_negotiation_class = LenientNegotiation
    scopes: dict[str, str] = {}
    # The query parameters each method reads; any other is refused (a typo is not ignored).
    query_parameters: dict[str, set[str]] = {}

    @property
    def organization(self):
        return self.request.auth.organization

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, scopes
        self.check_query(request)
        state = ratelimit.hit(
            f"api:token:{request.auth.pk}",
            limit=settings.API_RATE_PER_TOKEN,
            window_seconds=settings.API_RATE_WINDOW_SECONDS,
        )
        self._rate_state = state
        if not state.allowed:
            raise Problem(
                429,
                _("Too many requests with this token. Try again in %(seconds)d seconds.")
                % {"seconds": state.retry_after_seconds},
                code="rate_limited",
                headers={"Retry-After": str(state.retry_after_seconds)},
            )
        # Every audit row a service writes for this request's user names the token.
        self._acting = audit.acting_through(actor_kind=AuditEvent.ActorKind.TOKEN, detail=request.auth.audit_detail())
        self._acting.__enter__()

    def check_query(self, request):
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            return  # refused as a method (405) by the dispatcher
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        known = self.query_parameters.get(method, set())
        unknown = [name for name in request.query_params if name not in known]
        if unknown:
            message = _("Unknown query parameter.")
            raise Problem(
                400,
                _("Unknown query parameter: %(names)s.") % {"names": ", ".join(unknown)[:200]},
                code="invalid_request",
                errors={name[:100]: [message] for name in unknown[:20]},
            )

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            acting = getattr(self, "_acting", None)
            if acting is not None:
                self._acting = None
                acting.__exit__(None, None, None)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(self, "_rate_state", None)
        if state is not None:
            response["RateLimit-Policy"] = rate_limit_policy()
            response["RateLimit"] = f'"per-token";r={state.remaining or 0};t={state.reset_seconds or 0}'
        response.setdefault("Cache-Control", "no-store")
        patch_vary_headers(response, ("Accept-Language", "Authorization"))
        return response
