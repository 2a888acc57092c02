"""API tokens in Django admin, for operators: read-only (tokens are made and revoked through
api.tokens, which audit), with a revoke action."""

from django.contrib import admin, messages

from api import tokens
from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "display_prefix", "organization", "created_by", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "display_prefix", "organization__name", "created_by__email"]
    list_select_related = ["organization", "created_by"]
    readonly_fields = [field.name for field in ApiToken._meta.fields if field.name != "digest"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # the secret must be shown once to the person who creates it: console or create_api_token

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, so the audit log's references keep their meaning

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.select_related("organization"):
            tokens.revoke_token(token=token, actor=None)
        messages.success(request, f"{queryset.count()} token(s) revoked.")
