"""Domains section views, and the user actions that depend on a verified domain (add user,
add back). Thin: bind a form, load within the organization, call one service."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.client import client_address
from console.errors import ConsoleError
from console.forms import AddUserForm
from console.models import email_domain_of
from console.permissions import admin_required, require_recent_auth
from domains import checking, members, selectors, services
from domains.forms import AddDomainForm, DomainSettingsForm, MethodForm
from domains.models import Domain, DomainCheck
from domains.rows import check_rows, domain_rows
from domains.services import VerifyOutcome


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
        {
            "domains": domains,
            "rows": domain_rows(domains),
            "removed_domains": selectors.removed_domains_of(organization=request.organization),
            "max_domains": settings.DOMAIN_MAX_PER_ORGANIZATION,
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def domain_add(request):
    form = AddDomainForm(request.POST or None)
    existing = proposal = None
    if request.method == "POST" and form.is_valid():
        try:
            domain, notes = services.add_domain(
                organization=request.organization, text=form.cleaned_data["domain"], actor=request.user
            )
        except services.DomainAlreadyAdded as error:
            existing = error.domain
            form.add_error("domain", error.message)
        except services.WebAddressProposal as error:
            proposal = {"message": error.message, "proposed": error.proposed, "typed": error.typed}
        except ConsoleError as error:
            form.add_error("domain", error.message)
        else:
            for note in notes:
                messages.info(request, note.render() if hasattr(note, "render") else str(note))
            messages.success(
                request, _("%(domain)s was added. Now prove that you own it.") % {"domain": domain.unicode_name}
            )
            return redirect("domains:verify", pk=domain.pk)
    return render(request, "domains/domain_add.html", {"form": form, "existing": existing, "proposal": proposal})


@admin_required
@require_GET
def domain_verify(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    last_check = selectors.last_check_of(domain=domain)
    context = {
        "domain": domain,
        "last_check": last_check,
        "auto_add_decision": selectors.auto_add_decision_of(domain=domain),
        **_instructions_context(domain),
    }
    return render(request, "domains/domain_verify.html", context)


_VERIFY_MESSAGE_LEVELS = {
    VerifyOutcome.VERIFIED: messages.SUCCESS,
    VerifyOutcome.REVALIDATED: messages.SUCCESS,
    VerifyOutcome.STILL_VERIFIED: messages.SUCCESS,
    VerifyOutcome.HELD_ELSEWHERE: messages.ERROR,
    VerifyOutcome.NOT_YET: messages.WARNING,
    VerifyOutcome.NOT_RECORDED: messages.ERROR,
}


def _return_to(request, domain: Domain, anchor: str = "") -> str:
    """Back to the page the form was on (the domain's page or its Verify page)."""
    name = "domains:detail" if request.POST.get("return_to") == "detail" else "domains:verify"
    return reverse(name, args=[domain.pk]) + anchor


@admin_required
@require_POST
def domain_verify_now(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    method_before = domain.method
    try:
        outcome, check = services.verify_now(domain=domain, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.add_message(request, _VERIFY_MESSAGE_LEVELS[outcome], services.outcome_message(outcome, domain))
        if check is not None and check.outcome == DomainCheck.Outcome.VERIFIED and check.method != method_before:
            messages.info(
                request,
                _("It was verified by the %(method)s, so the daily re-check now uses that method.")
                % {"method": check.get_method_display()},
            )
    # The result is where the eye lands: the check result (or the checks on the domain's page).
    anchor = "#checks" if request.POST.get("return_to") == "detail" else "#check-result"
    return redirect(_return_to(request, domain, anchor))


@admin_required
@require_http_methods(["GET", "POST"])
def domain_method(request, pk):
    """GET: the confirmation page (without JavaScript); POST: change the method (a verified
    domain switches only once the new method verifies)."""
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    form = MethodForm(request.POST or request.GET)
    if request.method == "GET":
        if not form.is_valid():
            return redirect("domains:detail", pk=domain.pk)
        return render(
            request, "domains/domain_method.html", {"domain": domain, "method": form.cleaned_data["method"]}
        )
    if not form.is_valid():
        messages.error(request, _("Choose DNS or HTML file."))
        return redirect("domains:verify", pk=domain.pk)
    was_held = domain.status in Domain.HELD_STATUSES
    try:
        services.choose_method(domain=domain, method=form.cleaned_data["method"], actor=request.user)
    except services.MethodNotVerified as error:
        messages.warning(request, error.message)
        return redirect(reverse("domains:verify", args=[domain.pk]) + "#check-result")
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        if was_held:
            messages.success(
                request,
                _("Switched: %(domain)s is verified by the %(method)s, which the daily re-check now uses.")
                % {"domain": domain.unicode_name, "method": domain.get_method_display()},
            )
    return redirect("domains:verify", pk=domain.pk)


@admin_required
@require_GET
def domain_html_file(request, pk):
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    response = HttpResponse(checking.html_file_content(domain.token), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{settings.DOMAIN_HTML_FILENAME}"'
    return response


@admin_required
@require_GET
def domain_detail(request, pk):
    # A removed domain keeps its page (links in old e-mails lead here): when and why, and whom.
    domain = selectors.domain_for_page(organization=request.organization, pk=pk, include_removed=True)
    if domain.status == Domain.Status.REMOVED:
        context = {
            "domain": domain,
            "users_removed": selectors.users_removed_with(domain=domain),
            "current": selectors.active_domain_named(organization=request.organization, name=domain.name),
        }
        return render(request, "domains/domain_removed.html", context)
    context = {
        "domain": domain,
        "checks": check_rows(selectors.checks_of(domain=domain)),
        "checks_shown": selectors.CHECKS_SHOWN,
        "settings_form": DomainSettingsForm(initial={"auto_add_new_users": domain.auto_add_new_users}),
        "auto_add_decision": selectors.auto_add_decision_of(domain=domain),
        "removed_members": selectors.removed_members_of(domain=domain),
        **_instructions_context(domain),
    }
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
            if form.cleaned_data["auto_add_new_users"]:
                messages.success(request, _("New users who sign up with this domain are now added automatically."))
            else:
                messages.success(request, _("New users who sign up with this domain are not added automatically."))
    page = "domains:verify" if request.POST.get("return_to") == "verify" else "domains:detail"
    return redirect(reverse(page, args=[domain.pk]) + "#auto-add")


@admin_required
@require_http_methods(["GET", "POST"])
@require_recent_auth
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


# --- Users at a verified domain ---------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def user_add(request):
    form = AddUserForm(request.POST or None)
    related_domain = None
    if request.method == "POST" and form.is_valid():
        try:
            membership = members.add_member(
                organization=request.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                client_address=client_address(request),
            )
        except ConsoleError as error:
            email = form.cleaned_data["email"]
            form.add_error("email", error.message)  # (drops the field from cleaned_data)
            # Refused at one of our domains (pending, in re-validation): link to where it is fixed.
            related_domain = selectors.active_domain_named(
                organization=request.organization, name=email_domain_of(email)
            )
        else:
            messages.success(request, _("%(email)s was added.") % {"email": membership.user.email})
            return redirect("console:users")
    return render(request, "console/user_add.html", {"form": form, "related_domain": related_domain})


@admin_required
@require_POST
def domain_add_back(request, pk: int):
    """Add back, in one action, the users removed when an earlier row of this domain expired."""
    domain = selectors.domain_for_page(organization=request.organization, pk=pk)
    try:
        outcome = members.add_back_removed_members(domain=domain, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
        return redirect("domains:detail", pk=domain.pk)
    if outcome.added:
        messages.success(
            request,
            ngettext("%(count)d user was added back.", "%(count)d users were added back.", len(outcome.added))
            % {"count": len(outcome.added)},
        )
    for email, reason in outcome.skipped:
        messages.warning(request, _("%(email)s was not added back: %(reason)s") % {"email": email, "reason": reason})
    if not outcome.added and not outcome.skipped:
        messages.info(request, _("There was no one to add back."))
    return redirect("domains:detail", pk=domain.pk)
