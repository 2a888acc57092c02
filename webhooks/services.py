"""Endpoints (add, change, delete, rotate the secret, send a test event, redeliver) and the
delivery of one outbox row.

Guarantees:
- An endpoint's address is https and every address its name resolves to is public, checked
  when it is saved and again at every delivery (the name may resolve elsewhere later).
- A delivery is attempted by one worker at a time. Queuing it sets its `next_attempt_at` to the
  end of a lease and the message carries that value; the attempt claims the row only while it
  still holds it, and moves it to the end of a new lease. So a duplicate message does nothing,
  and a lost message or a worker that dies mid-attempt leaves the row for the dispatcher once
  the lease is over (at least once, never lost).
- Failures are retried with exponential back-off until the event is WEBHOOK_RETRY_FOR_HOURS
  old; an endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS is disabled and its organization's
  admins are e-mailed.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from console import audit, clock, emails, queue
from console.errors import ConsoleError
from console.events import TYPES
from console.messages import Message, gettext_noop
from console.models import Membership, Organization, User
from domains import verifiers
from domains.checking import resolver_config_from_settings
from webhooks import outbox, signing
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, EndpointSecret

TEST_EVENT = "webhook.test"

# --- endpoints ------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    """The address as entered, or ConsoleError saying why it cannot receive events."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise ConsoleError(_("Enter an https:// address. Events are only sent over HTTPS."), code="invalid_url")
    try:
        host = parts.hostname
        parts.port  # noqa: B018  (raises for a port that is no number)
    except ValueError:
        host = None
    if not host or parts.username or parts.password:
        raise ConsoleError(_("Enter an address such as https://hooks.example.com/admin-center."), code="invalid_url")
    refusal = verifiers.vet_host(
        host.rstrip("."),
        resolver=resolver_config_from_settings(),
        allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
        deadline=time.monotonic() + float(settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS),
    )
    if refusal is not None:
        raise ConsoleError(refusal.render(), code="address_refused")
    return url


def _clean_types(event_types) -> list[str]:
    chosen = [t for t in (event_types or []) if t]
    unknown = [t for t in chosen if t not in TYPES]
    if unknown:
        raise ConsoleError(_("Choose event types from the list."), code="invalid_event_type")
    return sorted(set(chosen), key=TYPES.index)


@transaction.atomic
def create_endpoint(
    *, organization: Organization, url: str, description: str, event_types, enabled: bool, actor: User | None
) -> tuple[Endpoint, str]:
    """Add an endpoint; returns it and its signing secret (shown once)."""
    url = _clean_url(url)
    event_types = _clean_types(event_types)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()  # the limit holds under races
    if Endpoint.objects.filter(organization=organization).count() >= settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION:
        raise ConsoleError(
            _("This organization already has %(limit)s endpoints, the most allowed.")
            % {"limit": settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION},
            code="limit",
        )
    now = clock.now()
    endpoint = Endpoint.objects.create(
        organization=organization,
        url=url,
        description=(description or "").strip()[:200],
        event_types=event_types,
        enabled=enabled,
        created_at=now,
        created_by=actor,
    )
    secret = signing.new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret, created_at=now)
    audit.record(
        "webhooks.endpoint_added",
        organization=organization,
        actor=actor,
        target=endpoint,
        detail={"url": url, "event_types": event_types, "enabled": enabled},
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(*, endpoint: Endpoint, url: str, description: str, event_types, enabled: bool, actor) -> Endpoint:
    """Change an endpoint. Enabling it again clears its failure record."""
    url = _clean_url(url)
    event_types = _clean_types(event_types)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = {"url": endpoint.url, "event_types": endpoint.event_types, "enabled": endpoint.enabled}
    endpoint.url, endpoint.description, endpoint.event_types = url, (description or "").strip()[:200], event_types
    if enabled and not endpoint.enabled:
        endpoint.failing_since = endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    endpoint.enabled = enabled
    endpoint.save()
    after = {"url": url, "event_types": event_types, "enabled": enabled}
    if after != before:
        audit.record(
            "webhooks.endpoint_changed",
            organization=endpoint.organization,
            actor=actor,
            target=endpoint,
            detail={"from": before, "to": after},
        )
    return endpoint


@transaction.atomic
def delete_endpoint(*, endpoint: Endpoint, actor) -> None:
    """Delete an endpoint with its secrets and delivery log; nothing more is sent to it."""
    audit.record(
        "webhooks.endpoint_deleted",
        organization=endpoint.organization,
        actor=actor,
        target=endpoint,
        detail={"url": endpoint.url},
    )
    Endpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def rotate_secret(*, endpoint: Endpoint, actor) -> str:
    """A new signing secret (returned, shown once). The secrets in use keep signing too for
    WEBHOOK_SECRET_OVERLAP_HOURS, so the receiver can switch without a gap."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = clock.now()
    overlap_end = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    EndpointSecret.objects.filter(endpoint=endpoint).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=overlap_end)
    ).update(expires_at=overlap_end)
    secret = signing.new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret, created_at=now)
    audit.record(
        "webhooks.secret_rotated",
        organization=endpoint.organization,
        actor=actor,
        target=endpoint,
        detail={"old_secrets_expire_at": overlap_end.isoformat()},
    )
    return secret


def secret_rows_in_use(endpoint_id: int, now: datetime):
    """Newest first: the current secret, then those still in their overlap."""
    return EndpointSecret.objects.filter(endpoint_id=endpoint_id).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def secrets_in_use(endpoint_id: int, now: datetime) -> list[str]:
    return list(secret_rows_in_use(endpoint_id, now).values_list("secret", flat=True))


@transaction.atomic
def send_test_event(*, endpoint: Endpoint, actor) -> Delivery:
    """Queue a `webhook.test` event to this endpoint only (a disabled endpoint is sent nothing)."""
    if not endpoint.enabled:
        raise ConsoleError(_("Enable the endpoint before sending it a test event."), code="disabled")
    (delivery,) = outbox.write(
        organization_id=endpoint.organization_id,
        event_type=TEST_EVENT,
        items=[{"endpoint": {"id": endpoint.pk, "url": endpoint.url}, "message": "This is a test event."}],
        endpoints=[endpoint],
    )
    audit.record("webhooks.test_sent", organization=endpoint.organization, actor=actor, target=endpoint, detail={})
    return delivery


@transaction.atomic
def redeliver(*, delivery: Delivery, actor) -> Delivery:
    """Send a delivery again now, whatever became of it (the same webhook-id, so the receiver
    can recognise a repeat)."""
    if not delivery.endpoint.enabled:
        raise ConsoleError(_("Enable the endpoint before redelivering to it."), code="disabled")
    due = clock.now() + outbox.lease()
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING, next_attempt_at=due)
    audit.record(
        "webhooks.redelivered",
        organization=delivery.endpoint.organization,
        actor=actor,
        target=delivery.endpoint,
        detail={"event": delivery.event.public_id, "type": delivery.event.type},
    )
    queue.on_commit("webhooks.deliver", delivery.pk, due.isoformat())
    delivery.refresh_from_db()
    return delivery


# --- delivering -------------------------------------------------------------------------------


def retry_delay(failed_attempts: int) -> timedelta:
    """Exponential back-off: base, 2×base, 4×base … capped at WEBHOOK_RETRY_MAX_INTERVAL_SECONDS."""
    base = float(settings.WEBHOOK_RETRY_BASE_SECONDS)
    seconds = min(base * 2 ** max(0, failed_attempts - 1), float(settings.WEBHOOK_RETRY_MAX_INTERVAL_SECONDS))
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Attempted:
    delivery_id: int
    status_code: int | None
    delivered: bool
    error: Message | None


def _claim(delivery_id: int, due: datetime, now: datetime) -> datetime | None:
    """Take the delivery for one attempt; the lease's end, or None when it is not ours to try."""
    until = now + outbox.lease()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at=due, endpoint__enabled=True
    ).update(next_attempt_at=until, attempts=F("attempts") + 1, last_attempt_at=now)
    return until if claimed else None


def attempt(delivery_id: int, due: datetime) -> Attempted | None:
    """One attempt of a delivery that was due at `due`. None when another attempt has it, it is
    done, or its endpoint is disabled or gone."""
    started = clock.now()
    until = _claim(delivery_id, due, started)
    if until is None:
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    body = json.dumps(delivery.event.payload, separators=(",", ":"), ensure_ascii=False)
    headers = signing.signed_headers(
        message_id=delivery.event.public_id, body=body, secrets_in_use=secrets_in_use(delivery.endpoint_id, started)
    )
    headers["User-Agent"] = "AdminCenter-Webhooks/1.0"
    posted = verifiers.post(
        delivery.endpoint.url,
        body.encode(),
        headers=headers,
        resolver=resolver_config_from_settings(),
        ca_bundle=settings.HTTPS_CA_BUNDLE or None,
        allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
        connect_timeout=float(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS),
        max_bytes=int(settings.WEBHOOK_MAX_RESPONSE_BYTES),
        deadline=time.monotonic() + float(settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS),
    )
    error = posted.error
    if error is None and not (200 <= (posted.status or 0) < 300):
        error = Message(gettext_noop("The endpoint answered HTTP %(status)s."), {"status": posted.status})
    _record(delivery, until=until, started=started, posted=posted, error=error)
    return Attempted(delivery_id, posted.status, error is None, error)


@transaction.atomic
def _record(delivery: Delivery, *, until: datetime, started: datetime, posted, error: Message | None) -> None:
    now = clock.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=started,
        status_code=posted.status,
        latency_ms=posted.duration_ms,
        error=error.as_json() if error else None,
    )
    fields = {
        "last_status_code": posted.status,
        "last_latency_ms": posted.duration_ms,
        "last_error": error.as_json() if error else None,
    }
    if error is None:
        fields.update(status=Delivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif now - delivery.event.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_FOR_HOURS):
        fields.update(status=Delivery.Status.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=now + retry_delay(delivery.attempts))  # attempts counts this one
    # Only while the lease is ours: a redelivery clicked meanwhile keeps its own schedule.
    Delivery.objects.filter(pk=delivery.pk, next_attempt_at=until).update(**fields)
    if error is None:
        Endpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(failing_since=None)
    else:
        _endpoint_failed(delivery.endpoint_id, now)


def _endpoint_failed(endpoint_id: int, now: datetime) -> None:
    Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    reason = f"Every delivery failed for {settings.WEBHOOK_DISABLE_AFTER_DAYS} days"
    disabled = Endpoint.objects.filter(pk=endpoint_id, enabled=True, failing_since__lte=cutoff).update(
        enabled=False, disabled_at=now, disabled_reason=reason
    )
    if not disabled:
        return
    endpoint = Endpoint.objects.select_related("organization").get(pk=endpoint_id)
    audit.record(
        "webhooks.endpoint_disabled",
        organization=endpoint.organization,
        actor_kind="system",
        target=endpoint,
        detail={"url": endpoint.url, "failing_since": endpoint.failing_since.isoformat(), "reason": reason},
    )
    link = emails.absolute_url(reverse("webhooks:detail", args=[endpoint.pk]))
    admins = Membership.objects.filter(organization=endpoint.organization, role__in=Membership.ADMIN_ROLES)
    emails.queue_to_users(
        "webhooks_endpoint_disabled",
        users=[membership.user for membership in admins.select_related("user")],
        params={
            "organization": endpoint.organization.name,
            "url": endpoint.url,
            "days": settings.WEBHOOK_DISABLE_AFTER_DAYS,
            "endpoint_url": link,
        },
        reference=f"webhooks.endpoint_disabled:{endpoint.pk}",
    )


def due_deliveries(now: datetime):
    """Pending deliveries whose attempt is due (or whose attempt's lease ran out)."""
    return Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)


def dispatch_due(*, limit: int | None = None) -> int:
    """Queue every due delivery, claimed in bounded batches (`SKIP LOCKED`, so overlapping runs
    never queue the same row twice): what a stopped worker left, retries, expired leases."""
    now = clock.now()
    limit = limit or settings.WEBHOOK_DISPATCH_BATCH_SIZE
    queued = 0
    while True:
        with transaction.atomic():
            ids = list(
                due_deliveries(now).order_by("next_attempt_at").select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:limit]
            )
            if not ids:
                return queued
            # Queued at `now + lease`: the attempt claims exactly this value, a later sweep skips it.
            due = now + outbox.lease()
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=due)
            for delivery_id in ids:
                queue.on_commit("webhooks.deliver", delivery_id, due.isoformat())
        queued += len(ids)
        if len(ids) < limit:
            return queued


def endpoints_of(*, organization: Organization):
    return Endpoint.objects.filter(organization=organization).order_by("created_at", "pk")


def recent_deliveries(*, endpoint: Endpoint, limit: int = 50):
    return list(Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-created_at", "-pk")[:limit])

