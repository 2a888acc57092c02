"""Periodic housekeeping for the API."""

from celery import shared_task

from api import idempotency


@shared_task(name="api.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Forget Idempotency-Keys older than API_IDEMPOTENCY_TTL_SECONDS (idempotent)."""
    return idempotency.purge_expired()
