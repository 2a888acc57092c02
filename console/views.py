"""Admin Center views: thin — bind a form, load through a permission check, call one service."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from console import audit, audit_export, registration, selectors, services
from console.client import client_address, user_agent
from console.errors import ConsoleError
from console.forms import (
    AccountFilterForm,
    AuditFilterForm,
    ChangeRoleForm,
    PasswordResetRequestForm,
    SignUpForm,
    UserFilterForm,
)
from console.models import AuditEvent, Membership
from console.permissions import admin_required, get_for_organization, require_recent_auth
from console.rows import member_rows

PAGE_SIZE = 50


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Admin Center -------------------------------------------------------------------------


@admin_required
def home(request):
    context = {
        **selectors.summary_counts(organization=request.organization),
        "recent_events": selectors.recent_activity_of(organization=request.organization),
    }
    return render(request, "console/home.html", context)


@admin_required
def user_list(request):
    return render_user_list(request)


def render_user_list(request, *, user_ids=None, extra_context=None):
    """The Users page; `user_ids` narrows it (the apps above link to a subset, e.g. an import's)."""
    form = UserFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    memberships = selectors.members_of(
        organization=request.organization,
        search=(filters.get("q") or "").strip(),
        role=filters.get("role") or "",
        user_ids=user_ids,
    )
    page = _page(request, memberships)
    owners_count = selectors.owners_count_of(organization=request.organization)
    context = {
        "filter_form": form,
        "page_obj": page,
        # The role form's hidden token is rendered once for every row's form ({% csrf_token %} per
        # row renders the same input each time).
        "rows": member_rows(page.object_list, owners_count=owners_count, csrf_input=csrf_input(request)),
        "query": _query_without_page(request),
        "owners_count": owners_count,
        **(extra_context or {}),
    }
    return render(request, "console/user_list.html", context)


@admin_required
@require_POST
@require_recent_auth
def user_change_role(request, pk):
    membership = get_for_organization(Membership.objects.select_related("user"), request.organization, pk=pk)
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("console:users")
    try:
        services.change_role(membership=membership, role=form.cleaned_data["role"], actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": Membership.Role(form.cleaned_data["role"]).label},
        )
    return redirect("console:users")


@admin_required
@require_http_methods(["GET", "POST"])
def user_resend_invitation(request, pk):
    membership = get_for_organization(Membership.objects.select_related("user"), request.organization, pk=pk)
    if request.method == "POST":
        try:
            services.resend_invitation(membership=membership, actor=request.user, client_address=client_address(request))
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The invitation was sent again to %(email)s.") % {"email": membership.user.email})
        return redirect("console:users")
    return render(request, "console/user_resend_invitation.html", {"membership": membership})


@admin_required
@require_http_methods(["GET", "POST"])
def user_remove(request, pk):
    membership = get_for_organization(Membership.objects.select_related("user"), request.organization, pk=pk)
    if request.method == "POST":
        try:
            services.remove_member(membership=membership, actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("%(email)s was removed and is an independent user again.") % {"email": membership.user.email}
            )
            if membership.user_id == request.user.pk:
                return redirect("console:home")
        return redirect("console:users")
    accounts = selectors.accounts_of(organization=request.organization, owner=membership.user)
    return render(request, "console/user_remove.html", {"membership": membership, "accounts": accounts})


@admin_required
def account_list(request):
    form = AccountFilterForm(request.GET or None)
    search = (form.cleaned_data.get("q") or "").strip() if form.is_valid() else ""
    accounts = selectors.accounts_of(organization=request.organization, search=search)
    context = {"filter_form": form, "page_obj": _page(request, accounts), "query": _query_without_page(request)}
    return render(request, "console/account_list.html", context)


@admin_required
def audit_list(request):
    actions = selectors.audit_actions_of(organization=request.organization)
    form = AuditFilterForm(request.GET or None, actions=actions)
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.audit_events_of(
        organization=request.organization,
        action=filters.get("action") or "",
        actor_kind=filters.get("actor_kind") or "",
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    export_format = request.GET.get("format", "")
    # Filters that do not validate export nothing: the page shows what to fix.
    if export_format in audit_export.FORMATS and form.is_valid():
        return _audit_export(request, events, export_format, filters)
    query = _query_without_page(request)
    context = {"filter_form": form, "page_obj": _page(request, events), "query": query}
    return render(request, "console/audit_list.html", context)


def _audit_export(request, events, export_format: str, filters: dict):
    """The filtered list as a streamed file; the export itself is audited."""
    audit.record(
        "audit.exported",
        organization=request.organization,
        actor=request.user,
        detail={"format": export_format, "filters": {k: str(v) for k, v in filters.items() if v}, **_where(request)},
    )
    lines = audit_export.lines(
        events,
        export_format,
        chunk_size=settings.AUDIT_EXPORT_CHUNK_SIZE,
        sentences=True,
        language=translation.get_language(),
    )
    content_type = "text/csv; charset=utf-8" if export_format == "csv" else "application/x-ndjson; charset=utf-8"
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-log.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response


@admin_required
def audit_detail(request, pk):
    event = get_for_organization(AuditEvent.objects.select_related("actor_user"), request.organization, pk=pk)
    return render(request, "console/audit_detail.html", {"event": event})


# --- Public: sign-up, e-mail verification, set password -----------------------------------


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("console:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration.sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
                language=translation.get_language() or "en",
                client_address=client_address(request),
            )
        except ConsoleError as error:
            form.add_error("email", error.message)
        else:
            # The same page whether or not the address already had a user.
            return redirect("console:sign_up_done")
    return render(request, "registration/sign_up.html", {"form": form})


def sign_up_done(request):
    return render(request, "registration/sign_up_done.html", {"days": registration.EMAIL_VERIFICATION_MAX_AGE.days})


@require_http_methods(["GET", "POST"])
def verify_email(request, token):
    """GET shows a button (link scanners must not verify on someone's behalf); POST verifies."""
    try:
        if request.method == "POST":
            user = registration.verify_email(token=token, where=_where(request))
        else:
            user = registration.user_for_verification_token(token)
    except ConsoleError as error:
        return render(request, "registration/verify_email.html", {"error": error.message}, status=400)
    if request.method == "POST":
        membership = Membership.objects.select_related("organization").filter(user=user).first()
        return render(request, "registration/verify_email_done.html", {"verified_user": user, "membership": membership})
    return render(request, "registration/verify_email.html", {"verified_user": user, "token": token})


@require_POST
def resend_verification(request):
    if not request.user.is_authenticated:
        return redirect("console:login")
    if not request.user.email_verified:
        try:
            registration.send_verification_email(user=request.user, client_address=client_address(request))
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("We sent you a new verification link."))
    return redirect("console:home")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Invitation and password-reset links: setting a password through a link sent to the
    address also proves the address is the user's."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("console:set_password_done")

    def form_valid(self, form):
        verified_now = not form.user.email_verified
        if verified_now:
            form.user.email_verified = True
        response = super().form_valid(form)
        registration.password_set(user=form.user, reset=True, where=_where(self.request), email_verified_now=verified_now)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """A signed-in user changes their password (the current one is asked for); audited."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("console:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        registration.password_set(user=form.user, reset=False, where=_where(self.request))
        return response


def _where(request) -> dict:
    return {"address": client_address(request), "user_agent": user_agent(request)}


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """The same answer whether or not the address has a user (the link is sent by a worker)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration.request_password_reset(email=form.cleaned_data["email"], client_address=client_address(request))
        except ConsoleError as error:
            form.add_error("email", error.message)
        else:
            return redirect("console:password_reset_done")
    return render(request, "registration/password_reset.html", {"form": form})


@require_POST
def set_language(request):
    """Django's language switch, also remembered on the user so e-mails use their language."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        services.remember_language(user=request.user, language=language)
    return response
