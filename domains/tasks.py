"""Celery tasks for the life of a domain. Thin and idempotent: ids in, call a service.

- domains.dispatch_due_checks (beat, every DOMAIN_DISPATCH_SECONDS): claims due domains in
  batches and queues one domains.check_batch per batch.
- domains.check_batch: checks claimed domains; a repeated or late task is harmless (stale
  claims are ignored, one check per due time).
- domains.expire_lapsed (beat, hourly): applies the expiry at the end of the grace period.
- domains.send_reminders (beat, hourly): the days-left reminders.
- domains.purge_old_checks (beat, RETENTION_SWEEP_SECONDS): the check history past retention.
"""

from celery import shared_task

from domains import expiry, reminders, retention, scheduler


@shared_task(name="domains.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Claim every due domain (in batches, each with a lease) and queue its checks."""
    return scheduler.dispatch_due(enqueue=lambda claims: check_batch.delay([c.as_task_args() for c in claims]))


@shared_task(name="domains.check_batch", ignore_result=True, acks_late=True)
def check_batch(claims: list) -> int:
    """Check a claimed batch [[domain_id, due_at_iso], ...] concurrently; write results in bulk."""
    outcome = scheduler.run_claims([scheduler.Claim.from_task_args(c) for c in claims])
    return outcome.applied


@shared_task(name="domains.expire_lapsed", ignore_result=True)
def expire_lapsed() -> int:
    """Delete domains whose grace period has ended and remove their users (idempotent)."""
    return len(expiry.expire_lapsed_domains())


@shared_task(name="domains.send_reminders", ignore_result=True)
def send_reminders() -> int:
    """E-mail the 30/7/1-days-left reminders not yet sent (idempotent)."""
    return reminders.send_due_reminders()


@shared_task(name="domains.purge_old_checks", ignore_result=True)
def purge_old_checks(after_domain_id: int = 0) -> int:
    """Delete checks past retention (keeping each domain's latest); a run that reaches its
    time budget queues the next one from where it stopped."""
    outcome = retention.purge_old_checks(after_domain_id=after_domain_id)
    if not outcome.finished:
        purge_old_checks.delay(after_domain_id=outcome.last_domain_id)
    return outcome.deleted
