from datetime import date

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.base import ApiView
from api.problems import Problem
from api.views.common import CURSOR, LIMIT, choice_param, paginate, problems, text_param
from console import audit_export, selectors
from console.models import AuditEvent
from console.permissions import get_for_organization

FILTERS = [
    OpenApiParameter("action", str, description="Actions starting with this, e.g. domain. or user.role_changed."),
    OpenApiParameter("actor_kind", str, enum=AuditEvent.ActorKind.values),
    OpenApiParameter("since", OpenApiTypes.DATE, description="From this day (UTC), inclusive."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Up to this day (UTC), inclusive."),
]
EXPORT_FORMATS = ["ndjson", "csv"]


def _date(request, name: str) -> date | None:
    if name not in request.query_params:
        return None
    value = request.query_params.get(name, "")
    try:
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as error:
        message = _("Enter a date as YYYY-MM-DD.")
        raise Problem(400, message, code="invalid_request", errors={name: [message]}) from error


def filtered_events(request, organization):
    # since > until is an empty range, not an error.
    since, until = _date(request, "since"), _date(request, "until")
    return selectors.audit_events_of(
        organization=organization,
        action=text_param(request, "action", max_length=60),
        actor_kind=choice_param(request, "actor_kind", AuditEvent.ActorKind.values),
        date_from=since,
        date_to=until,
    )


class AuditEventsView(ApiView):
    scopes = {"GET": "audit:read"}
    query_parameters = {"GET": {"action", "actor_kind", "since", "until", "cursor", "limit"}}

    @extend_schema(
        operation_id="audit_events_list",
        summary="The audit log, newest first",
        parameters=[*FILTERS, CURSOR, LIMIT],
        responses={200: s.page_of(s.AuditEventSerializer), **problems(400, 404)},
    )
    def get(self, request):
        events = filtered_events(request, self.organization)
        return paginate(self, request, events, s.AuditEventSerializer, ordering="-pk")


class AuditEventView(ApiView):
    scopes = {"GET": "audit:read"}

    @extend_schema(
        operation_id="audit_events_get",
        summary="One audit event",
        responses={200: s.AuditEventSerializer, **problems(404)},
    )
    def get(self, request, pk):
        event = get_for_organization(AuditEvent.objects.select_related("actor_user"), self.organization, pk=pk)
        return Response(s.AuditEventSerializer(event).data)


class AuditExportView(ApiView):
    scopes = {"GET": "audit:read"}
    query_parameters = {"GET": {"action", "actor_kind", "since", "until", "format"}}

    @extend_schema(
        operation_id="audit_events_export",
        summary="Export the audit log (streamed) as NDJSON or CSV",
        description="One event per line, newest first, with the same filters as the list. Memory stays flat "
        "whatever the size: rows are streamed from a database cursor.",
        parameters=[*FILTERS, OpenApiParameter("format", str, enum=EXPORT_FORMATS, description="ndjson (default) or csv.")],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON object per line."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A header line, then one line per event."),
            **problems(400),
        },
    )
    def get(self, request):
        export_format = choice_param(request, "format", EXPORT_FORMATS) or "ndjson"
        events = filtered_events(request, self.organization)
        lines = audit_export.lines(events, export_format, chunk_size=settings.API_EXPORT_CHUNK_SIZE, sentences=False)
        content_type = "text/csv; charset=utf-8" if export_format == "csv" else "application/x-ndjson; charset=utf-8"
        response = StreamingHttpResponse(lines, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="audit-{self.organization.pk}.{export_format}"'
        return response
