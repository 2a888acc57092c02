"""Django admin for operators: grant features, inspect people, accounts and the audit log."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from console import emails
from console.models import Account, AuditEvent, Membership, Organization, OutboundEmail, TaskHeartbeat, User
from console.throttle import ThrottledAdminAuthenticationForm

# Django admin's sign-in goes through the same throttle and messages as the console's.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "email_verified", "is_active", "is_staff", "date_joined"]
    list_filter = ["email_verified", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["email_domain", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "email_domain", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "language", "email_verified"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined_via", "via_domain", "joined_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "features", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "joined_via", "via_domain", "joined_at"]
    list_filter = ["role", "joined_via"]
    search_fields = ["user__email", "organization__name"]
    raw_id_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "organization", "created_at"]
    search_fields = ["name", "owner__email"]
    raw_id_fields = ["owner", "organization"]
    list_select_related = ["owner", "organization"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_kind", "actor_user", "action", "target_repr"]
    list_filter = ["actor_kind", "action"]
    search_fields = ["action", "target_repr", "actor_user__email"]
    list_select_related = ["organization", "actor_user"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return False  # the log is a record; it is not edited

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskHeartbeat)
class TaskHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_run_at", "runs"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """Support's view of every e-mail: queued, sent or failed, with the reason."""

    list_display = ["created_at", "template", "recipient", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "template"]
    search_fields = ["recipient", "message_id", "reference", "provider_message_id"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed e-mails again"))
    def send_again(self, request, queryset):
        records = list(queryset.filter(status=OutboundEmail.Status.FAILED))
        for record in records:
            emails.resend(record)
        self.message_user(request, _("%(count)d e-mails queued again.") % {"count": len(records)})
