"""Errors as RFC 9457 problem details (application/problem+json), in the request's language.

A refusal from a service (ConsoleError) keeps the console's own words in `detail` and its
code in `code`; the HTTP status says what kind of refusal it was.
"""

import json
from http import HTTPStatus

from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from console.errors import ConsoleError

MEDIA_TYPE = "application/problem+json"

# ConsoleError codes that mean "the request's values are not acceptable" (otherwise: 409, the
# resource's state refuses it).
UNPROCESSABLE_CODES = {
    "invalid",
    "invalid_name",
    "invalid_method",
    "invalid_role",
    "invalid_email",
    "invalid_scope",
    "invalid_expiry",
    "none_selected",
    # What domains.normalize refuses in a domain name (the Add Domain form's messages).
    "empty",
    "space",
    "empty_label",
    "hyphen",
    "invalid_character",
    "invalid_idn",
    "invalid_url",
    "ip_address",
    "label_too_long",
    "too_long",
    "single_label",
    "special_use",
    "public_suffix",
    "underscore",
    "wildcard",
    "email_provider",
    "disposable_provider",
}
STATUS_BY_CODE = {
    "rate_limited": 429,
    "throttled": 429,
    "owner_only": 403,
    "feature_missing": 403,
    "not_admin": 403,
}


class Problem(Exception):
    """An API-level refusal (not a service's): status, words, code, extra members and headers."""

    def __init__(self, status: int, detail: str, *, code: str = "", headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, detail: str = "", *, code: str = "", headers: dict | None = None, **extra):
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = str(detail)
    if code:
        body["code"] = code
    body.update(extra)
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Content-Language"] = _current_language()
    return response


def _current_language() -> str:
    return translation.get_language() or "en"


def status_for(error: ConsoleError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    if error.code in UNPROCESSABLE_CODES:
        return 422
    return 409


def from_console_error(error: ConsoleError):
    status = status_for(error)
    headers = {}
    if status == 429 and error.retry_after_seconds:
        headers["Retry-After"] = str(int(error.retry_after_seconds))
    return problem_response(status, str(error.message), code=error.code, headers=headers)


def _flatten(detail, prefix=""):
    """DRF's nested validation errors as {"field.sub": ["message", ...]}."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and detail and not all(isinstance(item, str) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(item) for item in items]}


def exception_handler(error, context):
    """REST framework's EXCEPTION_HANDLER: every refusal becomes a problem response."""
    if isinstance(error, Problem):
        return problem_response(error.status, error.detail, code=error.code, headers=error.headers, **error.extra)
    if isinstance(error, ConsoleError):
        return from_console_error(error)
    if isinstance(error, Http404):
        return not_found_response()
    if isinstance(error, exceptions.ValidationError):
        errors = _flatten(error.detail)
        first = next(iter(errors.values()))[0] if errors else _("The request is not valid.")
        return problem_response(error.status_code, first, code="invalid_request", errors=errors)
    if isinstance(error, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return problem_response(
            401,
            str(error.detail),
            code="not_authenticated",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(error, exceptions.Throttled):
        return problem_response(429, str(error.detail), code="rate_limited", headers={"Retry-After": str(error.wait or 1)})
    if isinstance(error, exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(view.allowed_methods) if view is not None else ""
        return problem_response(
            405, _("This method is not allowed here."), code="method_not_allowed", headers={"Allow": allowed}
        )
    if isinstance(error, exceptions.ParseError):
        return problem_response(400, _("The request body is not valid JSON."), code="invalid_json")
    if isinstance(error, exceptions.UnsupportedMediaType):
        return problem_response(415, _("Send the request body as application/json."), code="unsupported_media_type")
    if isinstance(error, exceptions.PermissionDenied):
        return problem_response(403, str(error.detail), code="forbidden")
    if isinstance(error, exceptions.APIException):
        return problem_response(error.status_code, str(error.detail), code=str(getattr(error, "default_code", "")))
    return None  # a bug: Django's 500 handling


def not_found_response():
    return problem_response(404, _("Not found."), code="not_found")


@csrf_exempt  # no cookies authenticate the API: an unknown path is a 404 for every method
def not_found(request, *args, **kwargs):
    return not_found_response()
