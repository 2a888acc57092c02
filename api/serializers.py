"""What the API reads and writes. Output fields are read-only views of the models; input
serializers only bound and type the values — the services decide (and word) every rule."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import Scope
from console.models import AuditEvent, Membership
from domains.forms import AddDomainForm
from domains.models import Domain, DomainCheck
from domains.selectors import rendered_check
from imports.models import ImportJob, ImportRow, Reason

_DOMAIN_FIELD = AddDomainForm.base_fields["domain"]

# --- Problems -----------------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="about:blank: the status says what kind of problem it is.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False, help_text="What went wrong, in the request's language.")
    code = serializers.CharField(required=False, help_text="A stable machine-readable code, e.g. held_elsewhere.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid request fields and their messages.",
    )


# --- Domains ------------------------------------------------------------------------------------


class CheckSerializer(serializers.ModelSerializer):
    outcome_display = serializers.CharField(source="get_outcome_display")
    detail = serializers.SerializerMethodField(help_text="What the check found, in the request's language.")
    diagnostics = serializers.SerializerMethodField(help_text="What to change, in the request's language.")

    class Meta:
        model = DomainCheck
        fields = ["id", "checked_at", "method", "outcome", "outcome_display", "detail", "diagnostics", "trigger", "duration_ms"]

    def get_detail(self, check) -> str:
        return rendered_check(check).detail

    def get_diagnostics(self, check) -> list[str]:
        return list(rendered_check(check).diagnostics)


class VerificationSerializer(serializers.Serializer):
    txt_host = serializers.CharField(help_text="The DNS name that holds the TXT record.")
    txt_type = serializers.CharField()
    txt_value = serializers.CharField(help_text="The TXT record's value.")
    html_file_url = serializers.CharField(help_text="The exact HTTPS URL the HTML-file check fetches.")
    html_file_download = serializers.CharField(help_text="API path of the HTML file to upload.")


class DomainSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    method_display = serializers.CharField(source="get_method_display")
    days_left = serializers.SerializerMethodField(help_text="Whole days left to re-validate, when re-validation is required.")
    verification = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = [
            "id",
            "name",
            "unicode_name",
            "status",
            "status_display",
            "method",
            "method_display",
            "auto_add_new_users",
            "verification",
            "created_at",
            "verified_at",
            "last_checked_at",
            "last_outcome",
            "next_check_at",
            "failing_since",
            "grace_deadline",
            "days_left",
        ]

    def get_days_left(self, domain) -> int | None:
        return domain.days_left()

    @extend_schema_field(VerificationSerializer)
    def get_verification(self, domain) -> dict:
        return {
            "txt_host": domain.txt_host,
            "txt_type": "TXT",
            "txt_value": domain.txt_value,
            "html_file_url": domain.https_url,
            "html_file_download": reverse("api:domain_html_file", args=[domain.pk]),
        }


class DomainDetailSerializer(DomainSerializer):
    last_checks = serializers.SerializerMethodField(help_text="The latest checks, newest first.")

    class Meta(DomainSerializer.Meta):
        fields = [*DomainSerializer.Meta.fields, "last_checks"]

    @extend_schema_field(CheckSerializer(many=True))
    def get_last_checks(self, domain) -> list:
        return CheckSerializer(self.context.get("checks", []), many=True).data


class DomainCreatedSerializer(DomainDetailSerializer):
    notes = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="How the input was normalised, in words."
    )

    class Meta(DomainDetailSerializer.Meta):
        fields = [*DomainDetailSerializer.Meta.fields, "notes"]


class DomainAddSerializer(serializers.Serializer):
    domain = serializers.CharField(
        max_length=_DOMAIN_FIELD.max_length,
        trim_whitespace=False,
        allow_blank=True,
        help_text=_DOMAIN_FIELD.help_text,
        error_messages={"required": _DOMAIN_FIELD.error_messages["required"]},
    )


class DomainChangeSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Domain.Method.choices, required=False)
    auto_add_new_users = serializers.BooleanField(required=False)


class VerifyResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["verified", "revalidated", "still_verified", "held_elsewhere", "not_yet", "not_recorded"]
    )
    message = serializers.CharField(help_text="What the check achieved, in the request's language.")
    check = CheckSerializer(allow_null=True)
    domain = DomainDetailSerializer()


# --- Users --------------------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    email_verified = serializers.BooleanField(source="user.email_verified")
    role_display = serializers.CharField(source="get_role_display")
    joined_via_display = serializers.CharField(source="get_joined_via_display")
    accounts_count = serializers.IntegerField(required=False, help_text="Accounts of this organization the user owns.")

    class Meta:
        model = Membership
        fields = [
            "id",
            "user_id",
            "email",
            "full_name",
            "email_verified",
            "role",
            "role_display",
            "joined_via",
            "joined_via_display",
            "via_domain",
            "joined_at",
            "accounts_count",
        ]


class MemberAddSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class MemberChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


# --- Imports ------------------------------------------------------------------------------------


class CountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    eligible = serializers.IntegerField()
    selected = serializers.IntegerField()
    notified = serializers.IntegerField()
    processed = serializers.IntegerField()
    imported = serializers.IntegerField()
    not_imported = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    domain_id = serializers.IntegerField(read_only=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    status_display = serializers.CharField(source="get_status_display")
    created_by = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "domain_id",
            "domain_name",
            "kind",
            "parent_id",
            "status",
            "status_display",
            "selected_only",
            "counts",
            "progress_percent",
            "created_at",
            "created_by",
            "report_ready_at",
            "import_requested_at",
            "started_at",
            "finished_at",
            "error",
        ]

    def get_created_by(self, job) -> str | None:
        return job.created_by.email if job.created_by_id and job.created_by else None

    @extend_schema_field(CountsSerializer)
    def get_counts(self, job) -> dict:
        return {
            "total": job.rows_total,
            "eligible": job.rows_eligible,
            "selected": job.rows_selected,
            "notified": job.rows_notified,
            "processed": job.rows_processed,
            "imported": job.rows_imported,
            "not_imported": job.rows_not_imported,
        }


class ImportRowSerializer(serializers.ModelSerializer):
    reason_display = serializers.SerializerMethodField()
    result_reason_display = serializers.SerializerMethodField()

    class Meta:
        model = ImportRow
        fields = [
            "id",
            "user_id",
            "email",
            "accounts_count",
            "signed_up_at",
            "email_verified",
            "eligible",
            "reason",
            "reason_display",
            "new_since_parent",
            "selected",
            "notified_at",
            "result",
            "result_reason",
            "result_reason_display",
            "processed_at",
        ]

    def get_reason_display(self, row) -> str:
        return str(dict(Reason.choices).get(row.reason, row.reason))

    def get_result_reason_display(self, row) -> str:
        return str(dict(Reason.choices).get(row.result_reason, row.result_reason))


class ImportJobCreateSerializer(serializers.Serializer):
    domain = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The id of a verified domain.")


class ImportStartSerializer(serializers.Serializer):
    row_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=100_000,
        help_text="Import only these eligible rows; without it, every eligible row.",
    )


class NotifiedSerializer(serializers.Serializer):
    notified = serializers.IntegerField(help_text="How many eligible users the notice is being sent to.")
    job = ImportJobSerializer()


# --- Audit --------------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    actor_email = serializers.SerializerMethodField()
    detail = serializers.JSONField()

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "action", "actor_kind", "actor_email", "target_type", "target_id", "target_repr", "detail"]

    def get_actor_email(self, event) -> str | None:
        return event.actor_user.email if event.actor_user_id and event.actor_user else None


# --- Me -----------------------------------------------------------------------------------------


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    token_id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    prefix = serializers.CharField(source="display_prefix")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    organization = OrganizationRefSerializer()
    acts_for = serializers.EmailField(source="created_by.email", help_text="The person the token acts for.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)




# --- Pages --------------------------------------------------------------------------------------

_PAGES: dict[type, type] = {}


def page_of(child: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of one cursor page of `child` items (the body api.pagination.Cursor returns)."""
    if child not in _PAGES:
        name = child.__name__.removesuffix("Serializer") + "PageSerializer"
        _PAGES[child] = type(
            name,
            (serializers.Serializer,),
            {
                "__module__": __name__,
                "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
                "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null on the first."),
                "results": child(many=True),
            },
        )
    return _PAGES[child]
