"""Admin Center › API tokens: create (the secret is shown once), list, revoke."""

from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from api import tokens
from api.forms import TokenForm
from api.models import ApiToken, Scope
from console import clock
from console.errors import ConsoleError
from console.permissions import admin_required, get_for_organization, require_recent_auth


def _end_of_day(day) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


@admin_required
@require_GET
def token_list(request):
    context = {"tokens": list(tokens.tokens_of(organization=request.organization)), "now": clock.now()}
    return render(request, "api/token_list.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
@require_recent_auth
def token_create(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        try:
            token, secret = tokens.create_token(
                organization=request.organization,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
                expires_at=_end_of_day(expires_on) if expires_on else None,
                actor=request.user,
            )
        except ConsoleError as error:
            form.add_error(None, error.message)
        else:
            # The secret exists only in this response: never cached, never stored.
            response = render(request, "api/token_created.html", {"token": token, "secret": secret})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "api/token_create.html", {"form": form, "scopes": Scope.choices})


@admin_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, pk):
    token = get_for_organization(ApiToken.objects.select_related("created_by"), request.organization, pk=pk)
    if request.method == "POST":
        try:
            tokens.revoke_token(token=token, actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The token “%(name)s” was revoked. It no longer works.") % {"name": token.name})
        return redirect("api_tokens:list")
    return render(request, "api/token_revoke.html", {"token": token})
