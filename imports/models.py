"""Bulk User Import: one report + import run for one verified domain, its rows, access requests.

A job is a report first (REPORT_QUEUED → REPORT_RUNNING → REPORT_READY), then optionally an
import (IMPORT_QUEUED → IMPORTING → COMPLETED); a job that keeps failing ends FAILED and an
operator can replay its import. Every status change goes through the one writer
(ImportJob.objects…write_state, allowed only from ImportJob.ALLOWED_FROM). Each row's result is
written in the same transaction as its membership insert, so a job that crashes can be re-run
from its pending rows: nobody imported twice, no row lost, imported + not imported = rows.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import clock
from console.admission import Refusal
from console.models import Organization
from console.states import StateQuerySet

# Why a user is not eligible (report) or was not imported (import), in words: the admission
# rule's refusals, plus what can only happen to a report row.
Reason = models.TextChoices(
    "Reason",
    [
        *((refusal.name, (refusal.value, refusal.label)) for refusal in Refusal),
        ("EMAIL_CHANGED", ("email_changed", _("E-mail address is no longer at this domain"))),
        ("DOMAIN_NOT_VERIFIED", ("domain_not_verified", _("The domain is no longer verified"))),
        ("NOT_SELECTED", ("not_selected", _("Not selected for this import"))),
        ("USER_DELETED", ("user_deleted", _("The user no longer exists"))),
    ],
)


class ImportJobQuerySet(StateQuerySet):
    def running(self):
        return self.filter(status__in=ImportJob.RUNNING_STATUSES)

    def stalled(self, since):
        """Running, but no progress recorded since `since` (a worker died or restarted)."""
        return self.running().filter(models.Q(heartbeat_at__lt=since) | models.Q(heartbeat_at__isnull=True))


class ImportJob(models.Model):
    class Status(models.TextChoices):
        REPORT_QUEUED = "report_queued", _("Report queued")
        REPORT_RUNNING = "report_running", _("Generating report")
        REPORT_READY = "report_ready", _("Report ready")
        IMPORT_QUEUED = "import_queued", _("Import queued")
        IMPORTING = "importing", _("Importing")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        REPORT = "report", _("Report")
        CHECK_NEW = "check_new", _("Check for new users")

    RUNNING_STATUSES = (Status.REPORT_QUEUED, Status.REPORT_RUNNING, Status.IMPORT_QUEUED, Status.IMPORTING)
    REPORT_STATUSES = (Status.REPORT_QUEUED, Status.REPORT_RUNNING)
    IMPORT_STATUSES = (Status.IMPORT_QUEUED, Status.IMPORTING)
    FINAL_STATUSES = (Status.COMPLETED,)
    # The statuses each status may be entered from (a new job starts REPORT_QUEUED).
    ALLOWED_FROM = {
        Status.REPORT_QUEUED: (Status.REPORT_RUNNING,),  # a crashed report starts over
        Status.REPORT_RUNNING: (Status.REPORT_QUEUED,),
        Status.REPORT_READY: (Status.REPORT_RUNNING,),
        Status.IMPORT_QUEUED: (Status.REPORT_READY,),
        Status.IMPORTING: (Status.IMPORT_QUEUED, Status.IMPORTING, Status.FAILED),  # from FAILED: a replay
        Status.COMPLETED: (Status.IMPORT_QUEUED, Status.IMPORTING),
        Status.FAILED: (Status.REPORT_QUEUED, Status.REPORT_RUNNING, Status.IMPORT_QUEUED, Status.IMPORTING),
    }

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_jobs")
    domain = models.ForeignKey("domains.Domain", on_delete=models.CASCADE, related_name="import_jobs")
    domain_name = models.CharField(max_length=253)  # snapshot: the domain the report was built for
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPORT)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REPORT_QUEUED, db_index=True)
    error = models.TextField(blank=True)
    # Runs that stopped without finishing (worker crash, repeated errors); bounded by IMPORT_MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)

    rows_total = models.PositiveIntegerField(default=0)
    rows_eligible = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_not_imported = models.PositiveIntegerField(default=0)
    rows_selected = models.PositiveIntegerField(default=0)
    rows_notified = models.PositiveIntegerField(default=0)
    selected_only = models.BooleanField(default=False)

    # Checkpoint: rows processed so far and the last row id, written with each chunk.
    rows_processed = models.PositiveIntegerField(default=0)
    rows_attempted = models.PositiveIntegerField(default=0)  # of them, rows this import is about
    last_row_id = models.BigIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    report_ready_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    import_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    import_requested_at = models.DateTimeField(null=True, blank=True)  # someone decided to import
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Retention deleted the rows (imports.retention); the counts above still say what happened.
    rows_purged_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["domain", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self):
        return f"Import job {self.pk} for {self.domain_name}"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING_STATUSES

    @property
    def report_available(self) -> bool:
        return self.status in (self.Status.REPORT_READY, *self.IMPORT_STATUSES, self.Status.COMPLETED)

    @property
    def rows_in_import(self) -> int:
        """The users this import is about: the selected ones, or every eligible one."""
        return self.rows_selected if self.selected_only else self.rows_eligible

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.COMPLETED else 0
        return int(100 * self.rows_processed / self.rows_total)


class ImportRow(models.Model):
    class Result(models.TextChoices):
        PENDING = "pending", _("Pending")
        IMPORTED = "imported", _("Imported")
        NOT_IMPORTED = "not_imported", _("Not imported")

    # No index of its own: the (job, id) index below answers every lookup by job.
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False)
    # SET_NULL: a deleted user still leaves the row (and the counts) intact. Django nulls it on
    # delete; no database constraint, whose check at COMMIT costs a report a second per hundred
    # thousand rows. Every read treats a user that is gone as a deleted one (the import re-reads
    # users, the CSV and the notices join them), so a row may outlive its user by id alone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    email = models.CharField(max_length=254)  # snapshot at report time
    accounts_count = models.PositiveIntegerField(default=0)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    eligible = models.BooleanField(default=False)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    new_since_parent = models.BooleanField(default=False)
    selected = models.BooleanField(default=False)
    notified_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=20, choices=Result.choices, default=Result.PENDING)
    result_reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        # No index holds `result`, the column the import writes to every row, and each page keeps
        # half its room free (migration 0006): PostgreSQL then updates rows in place (HOT) without
        # touching any index. The import reads rows after its checkpoint by (job, id); they are
        # pending by construction.
        # Every index costs the report's INSERT about a quarter of a second per 100,000 rows: the
        # eligible rows (most of a report) are read through (job, id), and only the few that are
        # not eligible have an index of their own, for their page, list and summary.
        indexes = [
            models.Index(fields=["job", "id"]),
            models.Index(fields=["job", "id"], condition=models.Q(eligible=False), name="importrow_not_eligible"),
        ]

    def __str__(self):
        return f"{self.email} ({self.result})"


class AccessRequest(models.Model):
    """An administrator asked for the gated Bulk User Import feature for their organization."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="access_requests")
    feature = models.CharField(max_length=50, choices=Organization.Feature.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=clock.now)
    domain_name = models.CharField(max_length=253, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"{self.organization} requests {self.feature}"


class BulkImportAccess(Organization):
    """Organizations as seen by staff granting or revoking Bulk User Import in Django admin."""

    class Meta:
        proxy = True
        verbose_name = _("Bulk User Import access")
        verbose_name_plural = _("Bulk User Import access")
