"""Views for the lifecycle actions on a domain (thin: load within the organization, call one
service, redirect with a message)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from console.errors import ConsoleError
from console.permissions import admin_required, get_for_organization
from domains.expiry import add_back_removed_members
from domains.models import Domain


@require_POST
@admin_required
def domain_add_back(request, pk: int):
    """Add back, in one action, the users removed when an earlier row of this domain expired."""
    domain = get_for_organization(Domain.objects.active(), request.organization, pk=pk)
    try:
        outcome = add_back_removed_members(domain=domain, actor=request.user)
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
