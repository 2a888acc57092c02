"""Organization API tokens, and the stored responses that make creates idempotent.

A token is shown once; only its keyed digest is stored (api.tokens explains why a keyed
hash and not a password hasher). A token acts for the person who created it, with that
person's current role, and only while they are an Owner or Administrator of its organization.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import clock
from console.models import Organization


class Scope(models.TextChoices):
    DOMAINS_READ = "domains:read", _("Read domains and their checks")
    DOMAINS_WRITE = "domains:write", _("Add, verify, change and delete domains")
    USERS_READ = "users:read", _("Read users")
    USERS_WRITE = "users:write", _("Add users, change roles, remove users")
    IMPORTS_READ = "imports:read", _("Read import jobs, their rows and reports")
    IMPORTS_WRITE = "imports:write", _("Create reports, notify users, start imports")
    AUDIT_READ = "audit:read", _("Read and export the audit log")


class ApiToken(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(default=list)
    # HMAC-SHA256 of the whole token, hex: looked up by equality (unique index).
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, shown in lists so people can tell tokens apart.
    display_prefix = models.CharField(max_length=24, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.name} ({self.display_prefix}…)"

    def is_expired(self, now) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def scope_labels(self) -> list[str]:
        labels = dict(Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes or []]

    def audit_detail(self) -> dict:
        """How audit rows name the token (AuditEvent.detail["token"])."""
        return {"token": {"id": self.pk, "name": self.name, "prefix": self.display_prefix}}


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one token: the request's fingerprint and, once it succeeded, its
    response, replayed to a retry with the same key and the same body."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: still running
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_once_per_token")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.key} ({self.status_code or 'running'})"
