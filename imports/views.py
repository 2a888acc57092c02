"""Bulk User Import pages. Thin: load within the organization (404 otherwise), call a service."""

from django.contrib import messages
from django.http import JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.client import client_address, user_agent
from console.errors import ConsoleError
from console.permissions import admin_required, get_for_organization
from console.views import render_user_list
from domains.models import Domain
from imports import reports, selectors, services
from imports.forms import SelectionForm, StartImportForm
from imports.models import ImportJob
from imports.rows import report_rows


def _domain(request, domain_id):
    return get_for_organization(Domain.objects.select_related("organization"), request.organization, pk=domain_id)


def _job(request, job_id):
    return get_for_organization(
        ImportJob.objects.select_related("domain", "organization", "created_by", "import_requested_by", "parent"),
        request.organization,
        pk=job_id,
    )


@admin_required
@require_GET
def domain_imports(request, domain_id):
    domain = _domain(request, domain_id)
    context = {"domain": domain, "jobs": selectors.jobs_for_domain(domain)}
    context.update(selectors.import_section_context(domain))
    return render(request, "imports/domain_imports.html", context)


@admin_required
@require_POST
def request_access(request, domain_id):
    domain = _domain(request, domain_id)
    try:
        services.request_access(organization=request.organization, actor=request.user, domain=domain)
        messages.success(request, _("Access requested. We will let you know when Bulk User Import is enabled."))
    except ConsoleError as error:
        messages.error(request, error.message)
    return redirect("imports:domain", domain.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def report_create(request, domain_id):
    """GET: the no-JavaScript confirmation page; POST: queue the report."""
    domain = _domain(request, domain_id)
    if request.method == "GET":
        return render(request, "imports/report_confirm.html", {"domain": domain})
    try:
        job = services.create_report_job(domain=domain, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
        return redirect("imports:domain", domain.pk)
    messages.success(request, _("The report is being generated. This page updates when it is ready."))
    return redirect("imports:job", job.pk)


@admin_required
@require_GET
def job_detail(request, job_id):
    job = _job(request, job_id)
    only = request.GET.get("only", "")
    if only not in ("", "eligible", "not_eligible", "not_imported", "imported"):
        only = ""
    selectable = job.status == ImportJob.Status.REPORT_READY
    rows_page = selectors.job_rows_page(job, page_number=request.GET.get("page"), only=only) if job.report_available else None
    rows = report_rows(rows_page, selectable=selectable, processed=bool(job.rows_processed)) if rows_page else []
    context = {
        "job": job,
        "domain": job.domain,
        "only": only,
        "rows_page": rows_page,
        "report_rows": rows,
        "not_imported": selectors.not_imported_summary(job) if job.status == ImportJob.Status.COMPLETED else [],
        "left_out": selectors.left_out_of_import(job),
        "report_reasons": selectors.report_reason_summary(job) if job.report_available else [],
        "jobs": selectors.jobs_for_domain(job.domain),
        "has_feature": job.organization.has_feature(services.FEATURE),
        "selectable": selectable,
        "notices": selectors.notice_delivery(job),
    }
    if selectable:
        context["notice_en"] = services.render_notice(job, "en")
        context["notice_ja"] = services.render_notice(job, "ja")
    return render(request, "imports/job_detail.html", context)


@admin_required
@require_GET
def job_users(request, job_id):
    """The Users page, narrowed to the users this import brought in."""
    job = _job(request, job_id)
    return render_user_list(request, user_ids=selectors.imported_user_ids(job), extra_context={"import_job": job})


@admin_required
@require_GET
def job_progress(request, job_id):
    job = _job(request, job_id)
    return render(request, "imports/_job_progress.html", {"job": job})


@admin_required
@require_GET
def job_csv(request, job_id):
    job = _job(request, job_id)
    if not job.report_available:
        messages.error(request, _("The report is not ready yet."))
        return redirect("imports:job", job.pk)
    services.record_csv_download(
        job=job, actor=request.user, where={"address": client_address(request), "user_agent": user_agent(request)}
    )
    response = StreamingHttpResponse(reports.csv_chunks(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{reports.csv_filename(job)}"'
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def job_notify(request, job_id):
    job = _job(request, job_id)
    if request.method == "GET":
        context = {
            "job": job,
            "domain": job.domain,
            "recipients": max(0, job.rows_eligible - job.rows_notified),
            "notice": services.render_notice(job, translation.get_language() or "en"),
        }
        return render(request, "imports/notify_confirm.html", context)
    try:
        count = services.notify_eligible(job=job, actor=request.user)
        messages.success(
            request,
            ngettext(
                "The notice is being sent to %(count)s eligible user.",
                "The notice is being sent to %(count)s eligible users.",
                count,
            )
            % {"count": count},
        )
    except ConsoleError as error:
        messages.error(request, error.message)
    return redirect("imports:job", job.pk)


def _wants_json(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@admin_required
@require_POST
def job_select(request, job_id):
    """Save ticks: every change from the page's script (answered in JSON with the new count),
    or the whole page from the plain form when JavaScript is off."""
    job = _job(request, job_id)
    form = SelectionForm(request.POST)
    if not form.is_valid():
        error = _("The selection could not be read. Try again.")
        if _wants_json(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
    else:
        try:
            count = services.save_selection(
                job=job, page_row_ids=form.cleaned_data["page_rows"], selected_row_ids=form.cleaned_data["row"]
            )
        except ConsoleError as error:
            if _wants_json(request):
                return JsonResponse({"error": error.message}, status=409)
            messages.error(request, error.message)
        else:
            if _wants_json(request):
                return JsonResponse({"selected": count})
            messages.success(
                request,
                ngettext("Selection saved: %(count)s user selected.", "Selection saved: %(count)s users selected.", count)
                % {"count": count},
            )
    # Back to the same page of the report: keep only its own parameters, re-encoded (the
    # posted text is not trusted into a header: a CR/LF in it was a 500).
    posted = QueryDict(request.POST.get("return_query", ""))
    kept = {name: posted[name] for name in ("page", "only") if posted.get(name)}
    response = redirect("imports:job", job.pk)
    if kept:
        response["Location"] += "?" + urlencode(kept)
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def job_start(request, job_id):
    """GET: the no-JavaScript confirmation page; POST: queue the import."""
    job = _job(request, job_id)
    if request.method == "GET":
        return render(request, "imports/start_confirm.html", {"job": job, "domain": job.domain})
    form = StartImportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to import all eligible users or only the selected ones."))
        return redirect("imports:job", job.pk)
    selected_only = form.cleaned_data["mode"] == "selected"
    page_rows = form.cleaned_data["page_rows"]
    try:
        services.start_import(
            job=job,
            actor=request.user,
            selected_only=selected_only,
            # The ticks of the page the import was started from, saved with the start.
            page_row_ids=page_rows if selected_only and page_rows else None,
            selected_row_ids=form.cleaned_data["row"] if selected_only and page_rows else None,
        )
        messages.success(request, _("The import has started."))
    except ConsoleError as error:
        messages.error(request, error.message)
    return redirect("imports:job", job.pk)


@admin_required
@require_POST
def job_check_new(request, job_id):
    job = _job(request, job_id)
    try:
        new_job = services.check_for_new_users(job=job, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
        return redirect("imports:job", job.pk)
    messages.success(request, _("Checking for new users. This page updates when the report is ready."))
    return redirect("imports:job", new_job.pk)

