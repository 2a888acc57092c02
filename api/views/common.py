"""Response helpers and the documented responses every operation shares."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.response import Response

from api.pagination import Cursor
from api.problems import MEDIA_TYPE, Problem
from api.serializers import ProblemSerializer


def problem(description: str):
    return OpenApiResponse(response=ProblemSerializer, description=description)


def problems(*statuses: int) -> dict:
    """Documented problem responses: the auth and rate-limit ones every operation has, plus `statuses`."""
    texts = {
        400: "The request is malformed (query, body, cursor or Idempotency-Key).",
        401: "No token, or the token is not valid, expired or revoked.",
        403: "The token lacks the scope, or the rule needs a role the token's person lacks.",
        404: "Not found in the token's organization.",
        405: "Method not allowed.",
        409: "The resource's state refuses the action (the detail says why).",
        412: "If-Match does not match the current ETag.",
        415: "The body is not application/json.",
        422: "A value is not acceptable (the detail says why), or an Idempotency-Key was reused for another body.",
        429: "Too many requests: see Retry-After.",
    }
    wanted = {401, 403, 429, *statuses}
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
    description="A unique key per create (1–255 visible ASCII characters): a retry with the same key and body "
    "gets the first response again instead of creating twice.",
)
LIMIT = OpenApiParameter("limit", int, description="Page size (default 100, at most 1000).")
CURSOR = OpenApiParameter("cursor", str, description="The cursor from a previous page's next or previous link.")


def with_etag(data, etag: str, *, status: int = 200, location: str | None = None) -> Response:
    response = Response(data, status=status)
    response["ETag"] = etag
    if location:
        response["Location"] = location
    return response


def paginate(view, request, queryset, serializer_class, *, ordering="pk", context=None):
    paginator = Cursor()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def choice_param(request, name: str, choices) -> str:
    """A query parameter that must be one of `choices` (or absent/empty)."""
    value = request.query_params.get(name, "")
    if value and value not in choices:
        raise Problem(
            400,
            _("%(name)s must be one of: %(choices)s.") % {"name": name, "choices": ", ".join(choices)},
            code="invalid_request",
            errors={name: [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}]},
        )
    return value


def validated(serializer_class, request, *, partial=False):
    if not isinstance(request.data, dict):
        raise Problem(400, _("Send a JSON object."), code="invalid_request")
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
