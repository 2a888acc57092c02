"""Thin tasks: ids in, the services do the rest."""

from datetime import datetime

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int, due: str) -> bool:
    """One attempt of a delivery queued for `due` (ISO); a duplicate or late message does nothing."""
    return services.attempt(delivery_id, datetime.fromisoformat(due)) is not None


@shared_task(name="webhooks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Queue retries and whatever a stopped worker left behind."""
    return services.dispatch_due()
