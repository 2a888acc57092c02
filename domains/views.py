"""Domains section views: thin — bind a form, load within the organization, call one service."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.errors import ConsoleError
from console.permissions import admin_required
from domains import checking, selectors, services
from domains.forms import AddDomainForm, DomainSettingsForm, MethodForm
from domains.models import Domain, DomainCheck


def _instructions_context(domain: Domain) -> dict:
    return {
        "txt_label": settings.DOMAIN_TXT_LABEL,
        "txt_ttl": settings.DOMAIN_TXT_SUGGESTED_TTL,
        "html_filename": settings.DOMAIN_HTML_FILENAME,
        "methods": Domain.Method,
    }


@admin_required
@require_GET
def domain_list(request):
    domains = list(selectors.domains_of(organization=request.organization))
    return render(
        request,
        "domains/domain_list.html",
        {"domains": domains, "max_domains": settings.DOMAIN_MAX_PER_ORGANIZATION},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def domain_add(request):
    form = AddDomainForm(request.POST or None)
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            domain, notes = services.add_domain(
                organization=request.organization, text=form.cleaned_data["domain"], actor=request.user
            )
        except services.DomainAlreadyAdded as error:
            existing = error.domain
            form.add_error("domain", error.message)
        except ConsoleError as error:
            form.add_error("domain", error.message)
        else:
            for note in notes:
                messages.info(request, note.render() if hasattr(note, "render") else str(note))
            messages.success(
                request, _("%(domain)s was added. Now prove that you own it.") % {"domain": domain.unicode_name}
            )
            return redirect("domains:verify", pk=domain.pk)
    return render(request, "domains/domain_add.html", {"form": form, "existing": existing})


@admin_required
@require_GET
def domain_verify(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    last_check = selectors.last_check_of(domain=domain)
    context = {
        "domain": domain,
        "last_check": last_check,
        **_instructions_context(domain),
    }
    return render(request, "domains/domain_verify.html", context)


@admin_required
@require_POST
def domain_verify_now(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    was = domain.status
    try:
        check = services.verify_now(domain=domain, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
        return redirect("domains:verify", pk=domain.pk)
    if check is None:
        messages.error(request, _("The check could not be recorded. Please try again."))
    elif domain.status == Domain.Status.VERIFIED and was != Domain.Status.VERIFIED:
        if was == Domain.Status.REVALIDATION_REQUIRED:
            messages.success(request, _("%(domain)s is verified again.") % {"domain": domain.unicode_name})
        else:
            messages.success(request, _("%(domain)s is verified.") % {"domain": domain.unicode_name})
    elif domain.status == Domain.Status.VERIFIED:
        messages.success(request, _("%(domain)s is still verified.") % {"domain": domain.unicode_name})
    elif check.outcome == DomainCheck.Outcome.VERIFIED:
        # The token was found but the state did not change: another organization won.
        messages.error(request, services.held_elsewhere_message())
    else:
        messages.warning(request, _("Not verified yet. See what we found below."))
    return redirect("domains:verify", pk=domain.pk)


@admin_required
@require_POST
def domain_method(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    form = MethodForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose DNS or HTML file."))
    else:
        try:
            services.choose_method(domain=domain, method=form.cleaned_data["method"], actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
    return redirect("domains:verify", pk=domain.pk)


@admin_required
@require_GET
def domain_html_file(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    response = HttpResponse(checking.html_file_content(domain.token), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{settings.DOMAIN_HTML_FILENAME}"'
    return response


def _import_section(domain, user):
    try:
        from imports.selectors import import_section_context
    except ImportError:
        return None
    return import_section_context(domain, user)


@admin_required
@require_GET
def domain_detail(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    context = {
        "domain": domain,
        "checks": selectors.checks_of(domain=domain),
        "checks_shown": selectors.CHECKS_SHOWN,
        "settings_form": DomainSettingsForm(initial={"auto_add_new_users": domain.auto_add_new_users}),
        **_instructions_context(domain),
    }
    # imports' context is {"import_section": {...}}; the include is shown only when present.
    context = {**(_import_section(domain, request.user) or {}), **context}
    return render(request, "domains/domain_detail.html", context)


@admin_required
@require_POST
def domain_settings(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    form = DomainSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_settings(
                domain=domain, auto_add_new_users=form.cleaned_data["auto_add_new_users"], actor=request.user
            )
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Domain settings saved."))
    return redirect("domains:detail", pk=domain.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def domain_delete(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    if request.method == "POST":
        try:
            services.delete_domain(domain=domain, actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(domain)s was deleted.") % {"domain": domain.unicode_name})
        return redirect("domains:list")
    return render(request, "domains/domain_delete.html", {"domain": domain})
