from celery import shared_task
from django.conf import settings

from console import audit, clock, emails, registration
from console.models import TaskHeartbeat


@shared_task(name="console.heartbeat")
def heartbeat():
    """Records that beat and a worker are alive (visible in the console footer for staff)."""
    now = clock.now()
    TaskHeartbeat.objects.beat("heartbeat", now)
    return now.isoformat()


@shared_task(name="console.send_password_reset", acks_late=True)
def send_password_reset(email: str) -> bool:
    """Send a requested password-reset link, if the address has a user to send it to."""
    return registration.send_password_reset(email)


@shared_task(
    name="console.send_emails",
    acks_late=True,
    soft_time_limit=settings.EMAIL_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.EMAIL_TASK_SOFT_TIME_LIMIT + 30,
)
def send_emails(record_ids: list[int]) -> int:
    """Send these e-mail records (each at most by one worker at a time); transient failures
    come back after an exponential back-off, as a new task for the records left."""
    outcome = emails.deliver(record_ids)
    if outcome.retry_ids:
        send_emails.apply_async((outcome.retry_ids,), countdown=outcome.retry_in)
    return outcome.sent


@shared_task(name="console.requeue_emails", ignore_result=True)
def requeue_emails() -> int:
    """Beat sweep: queue again the e-mail records whose task was lost."""
    return emails.requeue_overdue()


@shared_task(name="console.purge_audit_events")
def purge_audit_events() -> int:
    """Delete audit events older than AUDIT_RETENTION_DAYS (0 keeps them for ever)."""
    return audit.purge_expired()
