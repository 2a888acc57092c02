"""Retention of import rows: the rows of a completed job are deleted IMPORT_ROW_RETENTION_DAYS
after it finished, in batches of RETENTION_BATCH_ROWS (one short transaction each). The job
itself stays, with its summary counts (rows_total, rows_eligible, rows_imported,
rows_not_imported, rows_selected, rows_notified) and `rows_purged_at`, so the table of jobs
still says what each import did. A failed job keeps its rows: an operator may replay it.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from console import clock
from imports.models import ImportJob, ImportRow


@dataclass
class PurgeOutcome:
    deleted: int = 0
    jobs: int = 0
    finished: bool = True  # False: stopped by the time budget, the next run goes on


def jobs_past_retention(now: datetime, retention_days: int):
    cutoff = now - timedelta(days=retention_days)
    return ImportJob.objects.filter(
        status=ImportJob.Status.COMPLETED, finished_at__lt=cutoff, rows_purged_at__isnull=True
    ).order_by("finished_at", "pk")


def purge_finished_rows(
    *,
    now: datetime | None = None,
    retention_days: int | None = None,
    rows_per_batch: int | None = None,
    time_budget_seconds: float | None = None,
) -> PurgeOutcome:
    """Delete the rows of completed jobs past retention; mark each job once its rows are gone."""
    now = now or clock.now()
    retention_days = settings.IMPORT_ROW_RETENTION_DAYS if retention_days is None else retention_days
    batch = rows_per_batch or settings.RETENTION_BATCH_ROWS
    budget = settings.RETENTION_TIME_BUDGET_SECONDS if time_budget_seconds is None else time_budget_seconds
    started = time.monotonic()
    outcome = PurgeOutcome()
    for job_id in list(jobs_past_retention(now, retention_days).values_list("pk", flat=True)):
        while True:
            with transaction.atomic():
                # The (job, id) index finds each batch without scanning other jobs' rows.
                ids = list(ImportRow.objects.filter(job_id=job_id).order_by("pk").values_list("pk", flat=True)[:batch])
                if not ids:
                    ImportJob.objects.filter(pk=job_id, rows_purged_at__isnull=True).update(rows_purged_at=now)
                    outcome.jobs += 1
                    break
                outcome.deleted += ImportRow.objects.filter(pk__in=ids).delete()[0]
            if time.monotonic() - started > budget:  # after a batch, so every run makes progress
                outcome.finished = False
                return outcome
    return outcome
