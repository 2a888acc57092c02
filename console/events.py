"""Events of the domain and membership lifecycle, announced by the one service that makes each
change, inside its transaction (`emit`). The apps above listen through
`signals.event_occurred` (webhooks writes its outbox there), so nothing is announced for a
change that rolls back and nothing is lost when no worker is running.

Event types and their data are documented in docs/webhooks.md; `data` holds JSON values only.
"""

from console import signals

DOMAIN_ADDED = "domain.added"
DOMAIN_VERIFIED = "domain.verified"
DOMAIN_CHECK_FAILED = "domain.check_failed"
DOMAIN_REMINDER = "domain.reminder"
DOMAIN_REVALIDATED = "domain.revalidated"
DOMAIN_EXPIRED = "domain.expired"
DOMAIN_DELETED = "domain.deleted"
MEMBER_ADDED = "member.added"
MEMBER_REMOVED = "member.removed"
IMPORT_REPORT_READY = "import.report_ready"
IMPORT_COMPLETED = "import.completed"
API_TOKEN_CREATED = "api_token.created"  # noqa: S105  (an event name)
API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105  (an event name)

TYPES = (
    DOMAIN_ADDED,
    DOMAIN_VERIFIED,
    DOMAIN_CHECK_FAILED,
    DOMAIN_REMINDER,
    DOMAIN_REVALIDATED,
    DOMAIN_EXPIRED,
    DOMAIN_DELETED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    IMPORT_REPORT_READY,
    IMPORT_COMPLETED,
    API_TOKEN_CREATED,
    API_TOKEN_REVOKED,
)


def emit(event_type: str, *, organization_id: int, data: dict) -> None:
    """Announce one event; call it inside the transaction that makes the change."""
    announce(event_type, [(organization_id, data)])


def emit_many(event_type: str, *, organization_id: int, items: list[dict]) -> None:
    """Announce one event per item of one organization (a batch written by one statement)."""
    announce(event_type, [(organization_id, data) for data in items])


def announce(event_type: str, occurrences: list[tuple[int, dict]]) -> None:
    """Announce events of one type for any organizations at once: the batch paths (the
    scheduled sweep) pay for their listeners once per type, not once per domain."""
    if event_type not in TYPES:
        raise ValueError(f"unknown event type {event_type}")
    if occurrences:
        signals.event_occurred.send(sender=None, event_type=event_type, occurrences=occurrences)


def domain_data(domain) -> dict:
    """How every domain event names its domain."""
    return {"id": domain.pk, "name": domain.name, "unicode_name": domain.unicode_name or domain.name, "status": domain.status}


def iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
