from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.base import ApiView
from api.idempotency import idempotent
from api.problems import Problem
from api.views.common import CURSOR, IDEMPOTENCY_KEY, LIMIT, choice_param, paginate, problems, validated
from console.client import client_address, user_agent
from console.permissions import get_for_organization
from domains.models import Domain
from imports import reports, services
from imports.models import ImportJob, ImportRow

ROW_FILTERS = ["eligible", "not_eligible", "imported", "not_imported"]


def load_job(organization, pk) -> ImportJob:
    return get_for_organization(
        ImportJob.objects.select_related("domain", "organization", "created_by"), organization, pk=pk
    )


def job_created(job: ImportJob) -> Response:
    job = ImportJob.objects.select_related("created_by").get(pk=job.pk)
    response = Response(s.ImportJobSerializer(job).data, status=201)
    response["Location"] = reverse("api:import_job", args=[job.pk])
    return response


def _int_param(request, name: str) -> int:
    value = request.query_params.get(name, "")
    try:
        number = int(value) if value.isascii() and len(value) <= 20 else None
    except ValueError:
        number = None
    if number is None or not -(2**63) <= number < 2**63:
        message = _("Enter a whole number.")
        raise Problem(400, message, code="invalid_request", errors={name: [message]})
    return number


class ImportJobsView(ApiView):
    scopes = {"GET": "imports:read", "POST": "imports:write"}
    query_parameters = {"GET": {"domain", "status", "cursor", "limit"}}

    @extend_schema(
        operation_id="import_jobs_list",
        summary="List import jobs, newest first",
        parameters=[
            OpenApiParameter(
                "domain",
                {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1},
                description="Only this domain's jobs.",
            ),
            OpenApiParameter("status", str, enum=ImportJob.Status.values),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.page_of(s.ImportJobSerializer), **problems(400, 404)},
    )
    def get(self, request):
        status = choice_param(request, "status", ImportJob.Status.values)
        jobs = ImportJob.objects.filter(organization=self.organization).select_related("created_by")
        if "domain" in request.query_params:
            jobs = jobs.filter(domain_id=_int_param(request, "domain"))
        if status:
            jobs = jobs.filter(status=status)
        return paginate(self, request, jobs, s.ImportJobSerializer, ordering="-pk")

    @extend_schema(
        operation_id="import_jobs_create",
        summary="Generate a report of the users of a verified domain who could be imported",
        description="Bulk User Import must be enabled for the organization. The report is built in the background: "
        "poll the job until its status is report_ready.",
        request=s.ImportJobCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.ImportJobSerializer, **problems(400, 409, 415, 422)},
    )
    @idempotent
    def post(self, request):
        data = validated(s.ImportJobCreateSerializer, request)
        domain = (
            Domain.objects.active().select_related("organization").filter(organization=self.organization, pk=data["domain"]).first()
        )
        if domain is None:
            message = _("There is no such domain in this organization.")
            raise Problem(422, message, code="invalid_domain", errors={"domain": [message]})
        job = services.create_report_job(domain=domain, actor=request.user)
        return job_created(job)


class ImportJobView(ApiView):
    scopes = {"GET": "imports:read"}

    @extend_schema(
        operation_id="import_jobs_get",
        summary="An import job: status, counts and progress",
        responses={200: s.ImportJobSerializer, **problems(404)},
    )
    def get(self, request, pk):
        return Response(s.ImportJobSerializer(load_job(self.organization, pk)).data)


class ImportRowsView(ApiView):
    scopes = {"GET": "imports:read"}
    query_parameters = {"GET": {"filter", "cursor", "limit"}}

    @extend_schema(
        operation_id="import_jobs_rows",
        summary="The report's rows: each user, whether eligible and why not, and the import result",
        parameters=[OpenApiParameter("filter", str, enum=ROW_FILTERS), CURSOR, LIMIT],
        responses={200: s.page_of(s.ImportRowSerializer), **problems(400, 404, 409)},
    )
    def get(self, request, pk):
        only = choice_param(request, "filter", ROW_FILTERS)
        job = load_job(self.organization, pk)
        if not job.report_available:
            raise Problem(409, _("The report is not ready yet."), code="not_ready")
        rows = ImportRow.objects.filter(job=job)
        if only == "eligible":
            rows = rows.filter(eligible=True)
        elif only == "not_eligible":
            rows = rows.filter(eligible=False)
        elif only == "imported":
            rows = rows.filter(result=ImportRow.Result.IMPORTED)
        elif only == "not_imported":
            rows = rows.filter(result=ImportRow.Result.NOT_IMPORTED)
        return paginate(self, request, rows, s.ImportRowSerializer, ordering="pk")


class ImportCsvView(ApiView):
    scopes = {"GET": "imports:read"}

    @extend_schema(
        operation_id="import_jobs_csv",
        summary="The report as CSV (streamed; UTF-8 with a byte-order mark for spreadsheets)",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One line per row, header first."),
            **problems(404, 409),
        },
    )
    def get(self, request, pk):
        job = load_job(self.organization, pk)
        if not job.report_available:
            raise Problem(409, _("The report is not ready yet."), code="not_ready")
        services.record_csv_download(
            job=job, actor=request.user, where={"address": client_address(request), "user_agent": user_agent(request)}
        )
        response = StreamingHttpResponse(reports.csv_chunks(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{reports.csv_filename(job)}"'
        return response


class ImportNotifyView(ApiView):
    scopes = {"POST": "imports:write"}

    @extend_schema(
        operation_id="import_jobs_notify",
        summary="E-mail the notice to the report's eligible users (each in their language)",
        request=None,
        responses={202: s.NotifiedSerializer, **problems(404, 409)},
    )
    def post(self, request, pk):
        job = load_job(self.organization, pk)
        count = services.notify_eligible(job=job, actor=request.user)
        return Response({"notified": count, "job": s.ImportJobSerializer(load_job(self.organization, pk)).data}, status=202)


class ImportStartView(ApiView):
    scopes = {"POST": "imports:write"}

    @extend_schema(
        operation_id="import_jobs_start",
        summary="Start the import: every eligible user, or only the given rows",
        description="Each row is checked again when it is imported. Poll the job until its status is completed.",
        request=s.ImportStartSerializer,
        responses={202: s.ImportJobSerializer, **problems(400, 404, 409, 415, 422)},
    )
    def post(self, request, pk):
        data = validated(s.ImportStartSerializer, request)
        job = load_job(self.organization, pk)
        job = services.start_import(job=job, actor=request.user, selected_row_ids=data.get("row_ids"))
        return Response(s.ImportJobSerializer(load_job(self.organization, job.pk)).data, status=202)


class ImportCheckNewView(ApiView):
    scopes = {"POST": "imports:write"}

    @extend_schema(
        operation_id="import_jobs_check_new_users",
        summary="Check for new users: a new report of users who joined since or were not imported",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.ImportJobSerializer, **problems(400, 404, 409)},
    )
    @idempotent
    def post(self, request, pk):
        job = load_job(self.organization, pk)
        return job_created(services.check_for_new_users(job=job, actor=request.user))


