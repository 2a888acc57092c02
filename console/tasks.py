from celery import shared_task

from console import audit, clock, registration
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


@shared_task(name="console.purge_audit_events")
def purge_audit_events() -> int:
    """Delete audit events older than AUDIT_RETENTION_DAYS (0 keeps them for ever)."""
    return audit.purge_expired()
