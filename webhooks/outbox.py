"""Writing the outbox: the receiver of console's `event_occurred`, run inside the transaction of
the state change, so an event exists exactly when the change committed. Each delivery is
queued after commit; the dispatcher picks up whatever a stopped worker never took."""

import secrets

from console import clock, queue
from webhooks.models import Delivery, Endpoint, Event

PAYLOAD_VERSION = 1


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
    """Events for `items` and their deliveries to `endpoints`, queued after commit."""
    now = clock.now()
    created = []
    for data in items:
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
    created = Event.objects.bulk_create(created)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
            for event in created
            for endpoint in endpoints
        ]
    )
    for delivery in deliveries:
        queue.on_commit("webhooks.deliver", delivery.pk, now.isoformat())
    return deliveries


def record_event(*, organization_id: int, event_type: str, items: list[dict], **_signal) -> None:
    """Connected to console's `event_occurred`: outbox rows for the enabled endpoints that want it."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(organization_id=organization_id, enabled=True).only("pk", "event_types")
        if endpoint.wants(event_type)
    ]
    if endpoints:
        write(organization_id=organization_id, event_type=event_type, items=items, endpoints=endpoints)
