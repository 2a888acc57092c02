from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from console.models import AuditEvent
from imports import services
from imports.models import AccessRequest, BulkImportAccess, ImportJob


def _grant(modeladmin, request, organizations):
    granted = sum(
        services.grant_feature(organization=org, actor=request.user, actor_kind=AuditEvent.ActorKind.OPERATOR)
        for org in organizations
    )
    modeladmin.message_user(request, _("Bulk User Import granted to %(n)s organizations.") % {"n": granted}, messages.SUCCESS)


def _revoke(modeladmin, request, organizations):
    revoked = sum(
        services.revoke_feature(organization=org, actor=request.user, actor_kind=AuditEvent.ActorKind.OPERATOR)
        for org in organizations
    )
    modeladmin.message_user(request, _("Bulk User Import revoked from %(n)s organizations.") % {"n": revoked}, messages.SUCCESS)


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    list_display = ["organization", "feature", "requested_by", "requested_at", "domain_name", "status", "resolved_at"]
    list_filter = ["status", "feature"]
    search_fields = ["organization__name", "requested_by__email", "domain_name"]
    readonly_fields = ["organization", "feature", "requested_by", "requested_at", "domain_name", "status", "resolved_at"]
    actions = ["grant_access", "revoke_access"]

    @admin.action(description=_("Grant Bulk User Import to the requesting organizations"))
    def grant_access(self, request, queryset):
        _grant(self, request, {r.organization for r in queryset.select_related("organization")})

    @admin.action(description=_("Revoke Bulk User Import from these organizations"))
    def revoke_access(self, request, queryset):
        _revoke(self, request, {r.organization for r in queryset.select_related("organization")})


@admin.register(BulkImportAccess)
class BulkImportAccessAdmin(admin.ModelAdmin):
    list_display = ["name", "pk", "has_bulk_import", "created_at"]
    search_fields = ["name"]
    fields = ["name", "features"]
    readonly_fields = ["name", "features"]
    actions = ["grant_access", "revoke_access"]

    @admin.display(boolean=True, description=_("Bulk User Import"))
    def has_bulk_import(self, obj):
        return obj.has_feature(services.FEATURE)

    @admin.action(description=_("Grant Bulk User Import"))
    def grant_access(self, request, queryset):
        _grant(self, request, list(queryset))

    @admin.action(description=_("Revoke Bulk User Import"))
    def revoke_access(self, request, queryset):
        _revoke(self, request, list(queryset))

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("name", "pk")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "organization", "domain_name", "kind", "status", "rows_total", "rows_imported", "rows_not_imported", "created_at", "heartbeat_at"]
    list_filter = ["status", "kind"]
    search_fields = ["organization__name", "domain_name"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False
