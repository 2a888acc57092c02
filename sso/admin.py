from django.contrib import admin

from sso.backends import AdminSignInForm
from sso.models import DomainPolicy, IdentityProvider

# Django admin's sign-in says why a password was refused under SSO enforcement, too.
admin.site.login_form = AdminSignInForm


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    list_display = ("organization", "protocol", "issuer", "client_id", "jit_provisioning", "break_glass_owner", "updated_at")
    readonly_fields = [field.name for field in IdentityProvider._meta.fields]
    exclude = ("client_secret_encrypted",)

    def has_add_permission(self, request):
        return False


@admin.register(DomainPolicy)
class DomainPolicyAdmin(admin.ModelAdmin):
    list_display = ("domain", "require_sso", "changed_at", "changed_by")
    readonly_fields = [field.name for field in DomainPolicy._meta.fields]

    def has_add_permission(self, request):
        return False
