"""Read-only views of endpoints and deliveries for operators (secrets are never shown)."""

from django.contrib import admin

from webhooks.models import Delivery, Endpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ("url", "organization", "enabled", "failing_since", "disabled_at", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("organization",)
    search_fields = ("url", "organization__name")
    exclude = ("created_by",)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ("event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("event", "endpoint")
    search_fields = ("event__public_id", "endpoint__url")
    raw_id_fields = ("event", "endpoint")
