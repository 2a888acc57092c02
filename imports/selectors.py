"""Reads for the Bulk User Import pages (and the domain-details include)."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from console.models import Organization, OutboundEmail
from domains.models import Domain
from imports.models import AccessRequest, ImportJob, ImportRow, Reason
from imports.services.notices import notice_reference

FEATURE = Organization.Feature.BULK_USER_IMPORT


def jobs_for_domain(domain: Domain, *, limit: int = 50):
    return list(
        ImportJob.objects.filter(domain=domain)
        .select_related("created_by", "import_requested_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def open_access_request(organization: Organization) -> AccessRequest | None:
    return (
        AccessRequest.objects.filter(organization=organization, feature=FEATURE, status=AccessRequest.Status.OPEN)
        .order_by("-requested_at")
        .first()
    )


def import_section_context(domain: Domain) -> dict:
    """Context for templates/imports/domain_import_section.html on the domain-details page.

    Returns {"import_section": {...}}: `state` is one of
    "available" (link shown), "no_feature" (explain + Request access), "requested",
    "pending" / "failing" / "removed" (link not shown, with `reason`).
    """
    organization = domain.organization
    section = {
        "domain": domain,
        "state": "available",
        "reason": "",
        "has_feature": organization.has_feature(FEATURE),
        "page_url": reverse("imports:domain", args=[domain.pk]),
        "request_access_url": reverse("imports:request_access", args=[domain.pk]),
        "access_request": None,
    }
    if domain.status == Domain.Status.PENDING:
        section["state"] = "pending"
        section["reason"] = _(
            "Users can be imported once this domain is verified. Finish verifying it first."
        )
    elif domain.status == Domain.Status.REVALIDATION_REQUIRED:
        section["state"] = "failing"
        section["reason"] = _(
            "This domain needs re-validation: its verification record or file is missing. "
            "Users cannot be imported until it is verified again."
        )
    elif domain.status == Domain.Status.REMOVED:
        section["state"] = "removed"
        section["reason"] = _("This domain has been removed from the organization.")
    elif not section["has_feature"]:
        access_request = open_access_request(organization)
        section["access_request"] = access_request
        section["state"] = "requested" if access_request else "no_feature"
    return {"import_section": section}


def job_rows_page(job: ImportJob, *, page_number, only: str = ""):
    """One page of the report's rows (`only`: "eligible", "not_eligible", "not_imported", "")."""
    rows = ImportRow.objects.filter(job=job).order_by("pk")
    if only == "eligible":
        rows = rows.filter(eligible=True)
    elif only == "not_eligible":
        rows = rows.filter(eligible=False)
    elif only == "not_imported":
        rows = rows.filter(result=ImportRow.Result.NOT_IMPORTED)
    elif only == "imported":
        rows = rows.filter(result=ImportRow.Result.IMPORTED)
    paginator = Paginator(rows, settings.IMPORT_ROWS_PER_PAGE)
    return paginator.get_page(page_number)


def not_imported_summary(job: ImportJob) -> list[dict]:
    """[{"reason": code, "label": words, "count": n}] for the summary, largest first: the users
    this import tried and could not import (not those left out: see left_out_of_import)."""
    labels = dict(Reason.choices)
    counts = (
        ImportRow.objects.filter(job=job, result=ImportRow.Result.NOT_IMPORTED, eligible=True)
        .exclude(result_reason=Reason.NOT_SELECTED)
        .values("result_reason")
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    return [
        {"reason": c["result_reason"], "label": labels.get(c["result_reason"], c["result_reason"]), "count": c["count"]}
        for c in counts
    ]


def left_out_of_import(job: ImportJob) -> dict:
    """Users of the report the import was never about: not selected, not eligible (no query)."""
    not_selected = job.rows_eligible - job.rows_selected if job.selected_only else 0
    return {
        "not_selected": max(0, not_selected),
        "not_eligible": max(0, job.rows_total - job.rows_eligible),
        "failed": max(0, job.rows_not_imported - max(0, not_selected) - max(0, job.rows_total - job.rows_eligible)),
    }


def report_reason_summary(job: ImportJob) -> list[dict]:
    labels = dict(Reason.choices)
    counts = (
        ImportRow.objects.filter(job=job, eligible=False)
        .values("reason")
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    return [{"reason": c["reason"], "label": labels.get(c["reason"], c["reason"]), "count": c["count"]} for c in counts]


def imported_user_ids(job: ImportJob):
    """The users one import job brought in (a subquery for the Users page)."""
    return ImportRow.objects.filter(job=job, result=ImportRow.Result.IMPORTED).values("user_id")


def notice_delivery(job: ImportJob, *, failed_limit: int = 50) -> dict | None:
    """What became of the job's notice e-mails (from their records): how many were sent, are
    still waiting (queued or being retried) and failed, with the failed ones and the reason."""
    records = OutboundEmail.objects.filter(reference=notice_reference(job.pk))
    counts = dict(records.values_list("status").annotate(n=Count("id")).order_by())
    if not counts:
        return None
    Status = OutboundEmail.Status
    return {
        "sent": counts.get(Status.SENT, 0),
        "waiting": counts.get(Status.QUEUED, 0) + counts.get(Status.SENDING, 0),
        "failed": counts.get(Status.FAILED, 0),
        "failed_notices": list(
            records.filter(status=Status.FAILED)
            .order_by("recipient", "pk")
            .values("recipient", "last_error", "failed_at", "attempts")[:failed_limit]
        ),
    }
