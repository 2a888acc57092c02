"""Writing the outbox: the receiver of console's `event_occurred`, run inside the transaction of
the state change, so an event exists exactly when the change committed. Each delivery is
queued after commit with a lease; the dispatcher picks up whatever no worker took in time (a
stopped worker, a lost message)."""

import secrets
from collections import defaultdict
from datetime import timedelta

from django.conf import settings

from console import clock, queue
from webhooks.models import Delivery, Endpoint, Event

PAYLOAD_VERSION = 1


def lease() -> timedelta:
    """How long a queued or running attempt holds its delivery before the dispatcher may queue it again."""
    return timedelta(
        seconds=float(settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS) + float(settings.WEBHOOK_LEASE_MARGIN_SECONDS)
    )


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def envelope(*, public_id: str, event_type: str, organization_id: int, data: dict, at) -> dict:
    """The versioned JSON every delivery carries (docs/webhooks.md)."""
    return {
        "id": public_id,
        "type": event_type,
        "version": PAYLOAD_VERSION,
        "timestamp": at.isoformat(),
        "organization": {"id": organization_id},
        "data": data,
    }


def write(*, organization_id: int, event_type: str, items: list[dict], endpoints: list[Endpoint]) -> list[Delivery]:
    """Events of one organization for `items` and their deliveries to `endpoints`, queued after commit."""
    return write_many(event_type=event_type, occurrences=[(organization_id, data) for data in items],
                      endpoints_by_organization={organization_id: endpoints})


def write_many(*, event_type: str, occurrences: list[tuple[int, dict]], endpoints_by_organization: dict) -> list[Delivery]:
    """One Event per occurrence whose organization has endpoints, one Delivery per endpoint;
    two INSERTs whatever the count. Each delivery is queued once the transaction commits."""
    now = clock.now()
    due = now + lease()  # the message queued below holds the row until then
    created, targets = [], []
    for organization_id, data in occurrences:
        endpoints = endpoints_by_organization.get(organization_id)
        if not endpoints:
            continue
        public_id = new_event_id()
        created.append(
            Event(
                public_id=public_id,
                organization_id=organization_id,
                type=event_type,
                payload=envelope(
                    public_id=public_id, event_type=event_type, organization_id=organization_id, data=data, at=now
                ),
                created_at=now,
            )
        )
        targets.append(endpoints)
    if not created:
        return []
    created = Event.objects.bulk_create(created)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=due, created_at=now)
            for event, endpoints in zip(created, targets, strict=True)
            for endpoint in endpoints
        ]
    )
    for delivery in deliveries:
        queue.on_commit("webhooks.deliver", delivery.pk, due.isoformat())
    return deliveries


def record_event(*, event_type: str, occurrences: list[tuple[int, dict]], **_signal) -> None:
    """Connected to console's `event_occurred`: outbox rows for the enabled endpoints that want
    the event, for every organization in the batch (one query to find them)."""
    organization_ids = {organization_id for organization_id, _ in occurrences}
    endpoints_by_organization = defaultdict(list)
    enabled = Endpoint.objects.filter(organization_id__in=organization_ids, enabled=True)
    for endpoint in enabled.only("pk", "organization_id", "event_types"):
        if endpoint.wants(event_type):
            endpoints_by_organization[endpoint.organization_id].append(endpoint)
    if endpoints_by_organization:
        write_many(event_type=event_type, occurrences=occurrences, endpoints_by_organization=endpoints_by_organization)
