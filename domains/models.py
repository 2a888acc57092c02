"""Domains an organization claims, and every check made of them.

State machine (what a check does is domains.lifecycle.transition; every write of the state goes
through DomainQuerySet.write_state, a conditional UPDATE allowed only from Domain.ALLOWED_FROM):

    pending ──verified──▶ verified ──definitive failure──▶ revalidation_required
       ▲                      ▲                                   │
       │                      └──────────── success ──────────────┘
    (added)                                                       │ 30 days
                                                                  ▼
    any ── deleted by admin / expiry ──────────────────────────▶ removed (kept as a record)
"""

import math
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console import clock
from console.models import Organization
from console.states import StateQuerySet
from domains import rules
from domains.verifiers import Outcome


def new_token() -> str:
    """128 random bits as 32 hex digits."""
    return secrets.token_hex(16)


class DomainQuerySet(StateQuerySet):
    def active(self):
        return self.exclude(status=Domain.Status.REMOVED)

    def held(self):
        """Domains whose organization currently holds the verification (incl. grace period)."""
        return self.filter(status__in=Domain.HELD_STATUSES)

    def in_grace(self):
        """Needing re-validation, the countdown to removal running (Domain.in_grace)."""
        return self.filter(status=Domain.Status.REVALIDATION_REQUIRED)

    def due(self, now: datetime):
        """Due for a check and not held by a live claim (Domain.is_due)."""
        return self.filter(
            Q(status__in=Domain.CHECKED_STATUSES, next_check_at__lte=now)
            & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        )

    def lapsed(self, now: datetime):
        """Grace period over: the expiry sweep removes them (Domain.is_lapsed)."""
        return self.in_grace().filter(grace_deadline__lte=now)

    def reminder_candidates(self, now: datetime):
        """In grace and not lapsed: each may have a reminder due (Domain.reminder_due)."""
        return self.in_grace().filter(grace_deadline__gt=now)


class Domain(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending verification")
        VERIFIED = "verified", _("Verified")
        REVALIDATION_REQUIRED = "revalidation_required", _("Re-validation required")
        REMOVED = "removed", _("Removed")

    class Method(models.TextChoices):
        DNS = "dns", _("DNS TXT record")
        HTTPS = "https", _("HTML file over HTTPS")

    HELD_STATUSES = (Status.VERIFIED, Status.REVALIDATION_REQUIRED)
    CHECKED_STATUSES = (Status.PENDING, Status.VERIFIED, Status.REVALIDATION_REQUIRED)
    FINAL_STATUSES = (Status.REMOVED,)
    # The statuses each status may be entered from; a new row starts pending.
    ALLOWED_FROM = {
        Status.PENDING: (Status.PENDING,),
        Status.VERIFIED: (Status.PENDING, Status.VERIFIED, Status.REVALIDATION_REQUIRED),
        Status.REVALIDATION_REQUIRED: (Status.VERIFIED, Status.REVALIDATION_REQUIRED),
        Status.REMOVED: (Status.PENDING, Status.VERIFIED, Status.REVALIDATION_REQUIRED),
    }

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253)  # ASCII (punycode), lower case, no trailing dot
    unicode_name = models.CharField(max_length=253)  # for display
    token = models.CharField(max_length=64, default=new_token)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.DNS)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.PENDING)
    # Off until an admin decides (audited as domain.settings_changed with who turned it on).
    auto_add_new_users = models.BooleanField(
        _("automatically add new users who sign up with this domain"), default=False
    )

    created_at = models.DateTimeField(default=clock.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=20, blank=True)
    # Scheduling: the dispatcher claims rows whose next_check_at has passed and whose lease
    # (if any) has run out; claimed_due_at is the due time the current claim is for.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_due_at = models.DateTimeField(null=True, blank=True)
    last_verify_click_at = models.DateTimeField(null=True, blank=True)  # pending back-off window
    # Failure bookkeeping.
    inconclusive_since = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    grace_deadline = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)  # days-left thresholds already e-mailed
    # Removal is kept as a record.
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.CharField(max_length=300, blank=True)

    objects = DomainQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Declared here rather than with db_index/unique on the fields: those also get a
        # `varchar_pattern_ops` twin on PostgreSQL for LIKE queries nothing runs, and every
        # check rewrites an entry in each index (it changes next_check_at, which is indexed).
        indexes = [
            models.Index(fields=["name"], name="domains_domain_name_88dbb428"),
            models.Index(fields=["status"], name="domains_domain_status_59b2b744"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="domains_domain_token_key"),
            # An organization lists a name once (removed records are history).
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=~Q(status="removed"),
                name="domain_unique_active_per_organization",
            ),
            # The first organization to verify wins; the database enforces it even for
            # two verifications at the same instant.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status__in=["verified", "revalidation_required"]),
                name="domain_held_by_one_organization",
            ),
        ]

    def __str__(self):
        return self.unicode_name or self.name

    @property
    def txt_host(self) -> str:
        return f"{settings.DOMAIN_TXT_LABEL}.{self.name}"

    @property
    def txt_value(self) -> str:
        return f"{settings.DOMAIN_TXT_PREFIX}{self.token}"

    @property
    def https_url(self) -> str:
        port = "" if settings.HTTPS_PORT == 443 else f":{settings.HTTPS_PORT}"
        return f"https://{self.name}{port}/{settings.DOMAIN_HTML_FILENAME}"

    @property
    def in_grace(self) -> bool:
        return self.status == self.Status.REVALIDATION_REQUIRED

    def is_due(self, now: datetime) -> bool:
        lease_free = self.lease_expires_at is None or self.lease_expires_at <= now
        return self.status in self.CHECKED_STATUSES and bool(self.next_check_at) and self.next_check_at <= now and lease_free

    def is_lapsed(self, now: datetime) -> bool:
        return self.in_grace and bool(self.grace_deadline) and self.grace_deadline <= now

    def reminder_due(self, now: datetime) -> int | None:
        """The reminder (days left) due now, or None. When a sweep was missed, only the most
        urgent one is due (the larger thresholds are then marked sent with it)."""
        if not self.in_grace or not self.grace_deadline:
            return None
        left = self.grace_deadline - now
        if left <= timedelta(0):
            return None  # expiry, not a reminder
        sent = set(self.reminders_sent or [])
        due = [days for days in rules.reminder_days() if left <= timedelta(days=days) and days not in sent]
        return min(due) if due else None

    @property
    def countdown_days(self) -> int | None:
        """Days to the deadline, rounded up (30 right after a lapse), while more than a day is
        left; None on the last day (see countdown_hours) or when not failing."""
        seconds = self._seconds_to_deadline()
        if seconds is None or seconds <= 86400:
            return None
        return math.ceil(seconds / 86400)

    @property
    def countdown_hours(self) -> int | None:
        """Hours to the deadline, rounded up, on the last day; None otherwise."""
        seconds = self._seconds_to_deadline()
        if seconds is None or seconds > 86400:
            return None
        return max(0, math.ceil(seconds / 3600))

    def _seconds_to_deadline(self) -> float | None:
        if not self.in_grace or not self.grace_deadline:
            return None
        return (self.grace_deadline - clock.now()).total_seconds()

    def days_left(self) -> int | None:
        """Whole days left before expiry (0 on the last day), or None when not failing."""
        if not self.in_grace or not self.grace_deadline:
            return None
        seconds = (self.grace_deadline - clock.now()).total_seconds()
        return max(0, int(seconds // 86400))


class DomainCheck(models.Model):
    Outcome = Outcome  # the verifiers' own enum: one set of names from the check to the row

    class Trigger(models.TextChoices):
        USER = "user", _("Admin")
        SCHEDULE = "schedule", _("Schedule")
        OPERATOR = "operator", _("Operator")

    DEFINITIVE_FAILURES = (Outcome.NOT_FOUND, Outcome.MISMATCH)

    # Not indexed alone: (domain, -checked_at) serves every lookup by domain.
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="checks", db_index=False)
    checked_at = models.DateTimeField(default=clock.now)
    method = models.CharField(max_length=10, choices=Domain.Method.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # Human-readable, never containing a fetched body. `detail` is the English text (logs,
    # commands); `detail_message` / `diagnostics` hold {"text": msgid, "params": {...}} so the
    # console shows them in the reader's language (console.messages.Message).
    detail = models.TextField()
    detail_message = models.JSONField(default=dict, blank=True)
    diagnostics = models.JSONField(default=list, blank=True)  # [{"text", "params"}]: what to change
    duration_ms = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # For scheduled checks: the due time this check answers. Unique per domain, so the same
    # due time can never be checked twice, whatever the workers do.
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [
            models.Index(fields=["domain", "-checked_at"]),
            # Only an admin's checks name a user: the sweep's rows need no entry here.
            models.Index(fields=["triggered_by"], condition=Q(triggered_by__isnull=False), name="domaincheck_triggered_by"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "due_at"], condition=Q(due_at__isnull=False), name="domaincheck_once_per_due_time"
            )
        ]

    def __str__(self):
        return f"{self.domain} {self.outcome} @ {self.checked_at:%Y-%m-%d %H:%M}"


class RemovedMember(models.Model):
    """A managed user removed when a domain expired, so an admin can add them back later."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="removed_members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    domain_name = models.CharField(max_length=253, db_index=True)
    role = models.CharField(max_length=20)
    removed_at = models.DateTimeField(default=clock.now)
    added_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-removed_at"]

    def __str__(self):
        return f"{self.user} removed from {self.organization} ({self.domain_name})"


class CheckTally(models.Model):
    """How many checks were ever recorded, by outcome: what /metrics reports, at a cost that does
    not grow with the check history (which retention also trims). Kept by database triggers on
    every insert into DomainCheck, so no path that records a check can forget it; on PostgreSQL
    one statement-level trigger per insert, spread over a few shards so concurrent workers
    rarely wait on the same row."""

    outcome = models.CharField(max_length=20)
    shard = models.PositiveSmallIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["outcome", "shard"], name="checktally_one_row_per_shard")]

    def __str__(self):
        return f"{self.outcome}[{self.shard}] = {self.total}"
