"""Thin, idempotent tasks: ids in, call a service. Routed to the "imports" queue.

Transient database errors (a lock timeout, a dropped connection) are retried with back-off;
the services are idempotent, so a retry resumes where the failed attempt rolled back.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from imports import retention, services

logger = logging.getLogger(__name__)

TRANSIENT = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "retry_backoff_max": 60, "max_retries": 8}


# A report is one transaction over every user at the domain: millions take minutes, not seconds.
@shared_task(
    name="imports.build_report",
    acks_late=True,
    soft_time_limit=settings.IMPORT_REPORT_SOFT_TIME_LIMIT,
    time_limit=settings.IMPORT_REPORT_SOFT_TIME_LIMIT + 60,
    **TRANSIENT,
)
def build_report(job_id: int) -> bool:
    """Build the job's report; a repeated or late message finds nothing to do."""
    try:
        return services.build_report(job_id)
    except OperationalError:
        raise  # transient: retried
    except Exception as error:
        logger.exception("imports: report for job %s failed", job_id)
        services.fail_job(job_id, repr(error))
        raise


@shared_task(name="imports.run_import", acks_late=True, **TRANSIENT)
def run_import(job_id: int) -> bool:
    """Import chunks for a while, then re-enqueue itself (checkpointed in the job's rows)."""
    done = services.run_import(job_id, time_budget=settings.IMPORT_TASK_TIME_BUDGET_SECONDS)
    if not done:
        run_import.delay(job_id)
    return done


@shared_task(name="imports.send_notices", acks_late=True, **TRANSIENT)
def send_notices(job_id: int) -> int:
    return services.send_notices(job_id)


@shared_task(name="imports.resume_stalled")
def resume_stalled() -> list[int]:
    """Beat sweep: resume jobs whose heartbeat stopped (worker crash or restart)."""
    return services.resume_stalled()


@shared_task(name="imports.purge_finished_rows", ignore_result=True)
def purge_finished_rows() -> int:
    """Delete the rows of completed jobs past retention (counts kept); a run that reaches its
    time budget queues the next one."""
    outcome = retention.purge_finished_rows()
    if not outcome.finished:
        purge_finished_rows.delay()
    return outcome.deleted
