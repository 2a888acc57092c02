"""Admin Center › Webhooks: endpoints (add, change, delete), their secret (shown once, rotated),
their recent deliveries (redeliver) and a test event. Owners and Administrators only; another
organization's endpoints and deliveries are 404."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import clock
from console.errors import ConsoleError
from console.messages import Message
from console.permissions import admin_required, get_for_organization, require_recent_auth
from webhooks import services
from webhooks.forms import EVENT_LABELS, EndpointForm
from webhooks.models import Delivery, Endpoint


def _secret_page(request, endpoint, secret, *, rotated: bool):
    # The secret exists only in this response: never cached.
    response = render(request, "webhooks/secret_shown.html", {"endpoint": endpoint, "secret": secret, "rotated": rotated})
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_GET
def endpoint_list(request):
    endpoints = list(services.endpoints_of(organization=request.organization))
    return render(request, "webhooks/endpoint_list.html", {"endpoints": endpoints})


@admin_required
@require_recent_auth
@require_http_methods(["GET", "POST"])
def endpoint_create(request):
    form = EndpointForm(request.POST or None, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.create_endpoint(organization=request.organization, actor=request.user, **form.cleaned_data)
        except ConsoleError as error:
            form.add_error("url" if error.code in ("invalid_url", "address_refused") else None, error.message)
        else:
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": None})


@admin_required
@require_GET
def endpoint_detail(request, pk):
    endpoint = get_for_organization(Endpoint.objects.all(), request.organization, pk=pk)
    deliveries = services.recent_deliveries(endpoint=endpoint)
    for delivery in deliveries:
        delivery.error_text = Message.from_json(delivery.last_error).render() if delivery.last_error else ""
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "event_labels": [EVENT_LABELS.get(code, code) for code in endpoint.event_types],
        "secrets": list(services.secret_rows_in_use(endpoint.pk, clock.now())),
    }
    return render(request, "webhooks/endpoint_detail.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, pk):
    endpoint = get_for_organization(Endpoint.objects.all(), request.organization, pk=pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(endpoint=endpoint, actor=request.user, **form.cleaned_data)
        except ConsoleError as error:
            form.add_error("url" if error.code in ("invalid_url", "address_refused") else None, error.message)
        else:
            messages.success(request, _("The endpoint was saved."))
            return redirect("webhooks:detail", endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": endpoint})


@admin_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request, pk):
    endpoint = get_for_organization(Endpoint.objects.all(), request.organization, pk=pk)
    if request.method == "POST":
        services.delete_endpoint(endpoint=endpoint, actor=request.user)
        messages.success(request, _("The endpoint %(url)s was deleted. Nothing more is sent to it.") % {"url": endpoint.url})
        return redirect("webhooks:list")
    return render(request, "webhooks/endpoint_delete.html", {"endpoint": endpoint})


@admin_required
@require_recent_auth
@require_http_methods(["GET", "POST"])
def endpoint_rotate(request, pk):
    endpoint = get_for_organization(Endpoint.objects.all(), request.organization, pk=pk)
    if request.method == "POST":
        secret = services.rotate_secret(endpoint=endpoint, actor=request.user)
        return _secret_page(request, endpoint, secret, rotated=True)
    return render(request, "webhooks/endpoint_rotate.html", {"endpoint": endpoint})


@admin_required
@require_POST
def endpoint_test(request, pk):
    endpoint = get_for_organization(Endpoint.objects.all(), request.organization, pk=pk)
    try:
        services.send_test_event(endpoint=endpoint, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("A test event was queued. Its delivery appears below in a few seconds."))
    return redirect("webhooks:detail", endpoint.pk)


@admin_required
@require_POST
def delivery_redeliver(request, pk):
    delivery = get_object_or_404(
        Delivery.objects.select_related("endpoint__organization", "event"), pk=pk, endpoint__organization=request.organization
    )
    try:
        services.redeliver(delivery=delivery, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The event will be delivered again in a few seconds."))
    return redirect("webhooks:detail", delivery.endpoint_id)
