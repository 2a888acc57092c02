from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.base import ApiView
from api.conditional import etag_of, require_match
from api.idempotency import idempotent
from api.problems import Problem
from api.views.common import (
    CURSOR,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LIMIT,
    choice_param,
    paginate,
    problems,
    validated,
    with_etag,
)
from domains import checking, selectors, services
from domains.models import Domain

CHECKS_IN_DETAIL = 10
LISTED_STATUSES = [status for status in Domain.Status.values if status != Domain.Status.REMOVED]


def domain_etag(domain: Domain) -> str:
    """The version of what a client may change or act on: state, method, settings, last check."""
    return etag_of(
        "domain",
        domain.pk,
        domain.status,
        domain.method,
        domain.auto_add_new_users,
        domain.verified_at,
        domain.last_checked_at,
        domain.grace_deadline,
    )


def domain_body(domain: Domain, serializer_class=s.DomainDetailSerializer, **extra) -> dict:
    checks = selectors.checks_of(domain=domain, limit=CHECKS_IN_DETAIL)
    data = serializer_class(domain, context={"checks": checks}).data
    data.update(extra)
    return data


class DomainsView(ApiView):
    scopes = {"GET": "domains:read", "POST": "domains:write"}
    query_parameters = {"GET": {"status", "cursor", "limit"}}

    @extend_schema(
        operation_id="domains_list",
        summary="List the organization's domains",
        parameters=[OpenApiParameter("status", str, enum=LISTED_STATUSES), CURSOR, LIMIT],
        responses={200: s.page_of(s.DomainSerializer), **problems(400, 404)},
    )
    def get(self, request):
        status = choice_param(request, "status", LISTED_STATUSES)
        domains = selectors.domains_of(organization=self.organization)
        if status:
            domains = domains.filter(status=status)
        return paginate(self, request, domains, s.DomainSerializer, ordering="name")

    @extend_schema(
        operation_id="domains_add",
        summary="Add a domain (pending verification)",
        description="The same normalisation, limits and messages as the console's Add Domain form.",
        request=s.DomainAddSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.DomainCreatedSerializer, **problems(400, 409, 415, 422)},
    )
    @idempotent
    def post(self, request):
        data = validated(s.DomainAddSerializer, request)
        try:
            domain, notes = services.add_domain(organization=self.organization, text=data["domain"], actor=request.user)
        except services.DomainAlreadyAdded as error:
            raise Problem(
                409,
                str(error.message),
                code=error.code,
                domain_id=error.domain.pk,
                headers={"Location": reverse("api:domain", args=[error.domain.pk])},
            ) from error
        body = domain_body(domain, s.DomainCreatedSerializer, notes=[note.render() for note in notes])
        return with_etag(body, domain_etag(domain), status=201, location=reverse("api:domain", args=[domain.pk]))


class DomainView(ApiView):
    scopes = {"GET": "domains:read", "PATCH": "domains:write", "DELETE": "domains:write"}

    def load(self, pk, *, lock=False) -> Domain:
        if lock:
            domain = (
                Domain.objects.active()
                .select_for_update(of=("self",))
                .select_related("organization")
                .filter(organization=self.organization, pk=pk)
                .first()
            )
            if domain is None:
                raise Http404
            return domain
        return selectors.domain_for_page(organization=self.organization, pk=pk)

    @extend_schema(
        operation_id="domains_get",
        summary="A domain: status, how to verify it, deadlines and the latest checks",
        responses={200: s.DomainDetailSerializer, **problems(404)},
    )
    def get(self, request, pk):
        domain = self.load(pk)
        return with_etag(domain_body(domain), domain_etag(domain))

    @extend_schema(
        operation_id="domains_change",
        summary="Change the verification method and/or the auto-add setting",
        request=s.DomainChangeSerializer,
        parameters=[IF_MATCH],
        responses={200: s.DomainDetailSerializer, **problems(400, 404, 409, 412, 415, 422)},
    )
    def patch(self, request, pk):
        data = validated(s.DomainChangeSerializer, request)
        domain = self.load(pk)
        require_match(request, domain_etag(domain))
        # Outside any transaction: switching a verified domain checks it by the new method
        # first (no row lock held over the network), and a refused switch keeps its check.
        if "method" in data:
            services.choose_method(domain=domain, method=data["method"], actor=request.user)
        if "auto_add_new_users" in data:
            services.update_settings(domain=domain, auto_add_new_users=data["auto_add_new_users"], actor=request.user)
        domain.refresh_from_db()
        return with_etag(domain_body(domain), domain_etag(domain))

    @extend_schema(
        operation_id="domains_delete",
        summary="Delete the domain from the organization",
        description="Managed users at the domain stay; no new users can be added at it. Kept as a record.",
        parameters=[IF_MATCH],
        responses={204: None, **problems(404, 409, 412)},
    )
    def delete(self, request, pk):
        with transaction.atomic():
            domain = self.load(pk, lock=True)
            require_match(request, domain_etag(domain))
            services.delete_domain(domain=domain, actor=request.user)
        return Response(status=204)


class DomainVerifyView(ApiView):
    scopes = {"POST": "domains:write"}

    @extend_schema(
        operation_id="domains_verify",
        summary="Check the domain now",
        description="Runs the DNS or HTTPS check at once (a few seconds at most) and applies its result. "
        "Rate-limited per domain and per organization like the console's Verify button (429 with Retry-After). "
        "A pending domain keeps being checked in the background for 72 hours after the last verify.",
        request=None,
        responses={200: s.VerifyResultSerializer, **problems(404, 409)},
    )
    def post(self, request, pk):
        domain = selectors.domain_for_page(organization=self.organization, pk=pk)
        outcome, check = services.verify_now(domain=domain, actor=request.user)
        body = {
            "outcome": outcome.value,
            "message": services.outcome_message(outcome, domain),
            "check": s.CheckSerializer(check).data if check is not None else None,
            "domain": domain_body(domain),
        }
        return with_etag(body, domain_etag(domain))


class DomainHtmlFileView(ApiView):
    scopes = {"GET": "domains:read"}

    @extend_schema(
        operation_id="domains_html_file",
        summary="The HTML file to upload to the site root (HTML-file method)",
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The verification file."),
            **problems(404),
        },
    )
    def get(self, request, pk):
        domain = selectors.domain_for_page(organization=self.organization, pk=pk)
        response = HttpResponse(checking.html_file_content(domain.token), content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{settings.DOMAIN_HTML_FILENAME}"'
        return response
