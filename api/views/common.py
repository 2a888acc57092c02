"""Response helpers and the documented responses every operation shares."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.pagination import Cursor
from api.problems import MEDIA_TYPE, Problem
from api.serializers import ProblemSerializer


def problem(description: str):
    return OpenApiResponse(response=ProblemSerializer, description=description)


def problems(*statuses: int) -> dict:
    """Documented problem responses: the auth and rate-limit ones every operation has, plus `statuses`."""
    texts = {
        400: "The request is malformed (query parameters, body or Idempotency-Key).",
        401: "No token, or the token is not valid, expired or revoked.",
        403: "The token lacks the scope, or the rule needs a role the token's person lacks.",
        404: "Not found in the token's organization (for a list: the cursor is not valid).",
        405: "Method not allowed.",
        409: "The resource's state refuses the action (the detail says why).",
        412: "If-Match does not match the current ETag.",
        415: "The body is not application/json.",
        422: "A value is not acceptable (the detail says why), or an Idempotency-Key was reused for another body.",
        429: "Too many requests: see Retry-After.",
    }
    wanted = {400, 401, 403, 429, *statuses}  # 400: an unknown or malformed query parameter
    return {(status, MEDIA_TYPE): problem(texts[status]) for status in sorted(wanted)}


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read; the write is refused with 412 if the resource changed since.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[!-~]{1,255}$",
    description="A unique key per create (1–255 visible ASCII characters): a retry with the same key and body "
    "gets the first response again instead of creating twice.",
)
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE},
    description=f"Page size (default {settings.API_PAGE_SIZE}, at most {settings.API_MAX_PAGE_SIZE}).",
)
CURSOR = OpenApiParameter("cursor", str, description="The cursor from a previous page's next or previous link.")


def with_etag(data, etag: str, *, status: int = 200, location: str | None = None) -> Response:
    response = Response(data, status=status)
    response["ETag"] = etag
    if location:
        response["Location"] = location
    return response


def _require_limit(request) -> None:
    """`limit`, when given, is a whole number from 1 to API_MAX_PAGE_SIZE (no silent clamping)."""
    values = request.query_params.getlist("limit")
    if not values:
        return
    value = values[-1]
    maximum = settings.API_MAX_PAGE_SIZE
    if len(values) > 1 or not (value.isascii() and value.isdigit() and len(value) <= 6 and 1 <= int(value) <= maximum):
        message = _("Enter a whole number from 1 to %(maximum)d.") % {"maximum": maximum}
        raise Problem(400, message, code="invalid_request", errors={"limit": [message]})


def paginate(view, request, queryset, serializer_class, *, ordering="pk", context=None):
    _require_limit(request)
    paginator = Cursor()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def choice_param(request, name: str, choices) -> str:
    """A query parameter that must be one of `choices`, or absent."""
    if name not in request.query_params:
        return ""
    value = request.query_params.get(name, "")
    if value not in choices:
        raise Problem(
            400,
            _("%(name)s must be one of: %(choices)s.") % {"name": name, "choices": ", ".join(choices)},
            code="invalid_request",
            errors={name: [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}]},
        )
    return value


def validated(serializer_class, request, *, partial=False):
    """The body's values, or 422 naming each field that cannot be used (400: not a JSON object)."""
    if not isinstance(request.data, dict):
        raise Problem(400, _("Send a JSON object."), code="invalid_request")
    serializer = serializer_class(data=request.data, partial=partial)
    if not serializer.is_valid():
        raise UnprocessableBody(serializer.errors)
    for name, value in serializer.validated_data.items():
        if isinstance(value, str) and not _storable(value):
            raise UnprocessableBody({name: [_("Enter text without NUL characters or unpaired surrogates.")]})
    return serializer.validated_data


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class UnprocessableBody(ValidationError):
    """A body that is JSON but whose values cannot be used: 422 (a malformed body is a 400)."""

    status_code = 422


def text_param(request, name: str, *, max_length: int) -> str:
    """Free text from the query string (search, prefix): NUL characters, which the database
    cannot hold, are dropped, like the console's filter forms refuse them."""
    return request.query_params.get(name, "").replace("\x00", "").strip()[:max_length]
