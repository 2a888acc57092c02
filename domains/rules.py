"""Every number in the life of a domain, in one place. Code and prose (pages and e-mails, through
`as_context`) both read them here, so a page never says "24 hours" while the code waits 12."""

from datetime import timedelta

from django.conf import settings

RECHECK_INTERVAL = timedelta(hours=24)  # a verified domain is checked again
GRACE_PERIOD = timedelta(days=30)  # from a definitive failure to removal
INCONCLUSIVE_TOLERANCE = timedelta(hours=72)  # unanswered checks before they count as a failure
INCONCLUSIVE_RETRY = timedelta(hours=1)
FAILING_RECHECK_INTERVAL = timedelta(hours=6)
PENDING_WINDOW = timedelta(hours=72)  # background checks of a pending domain after the last click
PENDING_MIN_INTERVAL = timedelta(minutes=1)
PENDING_MAX_INTERVAL = timedelta(hours=1)
FIRST_BACKGROUND_CHECK_AFTER = timedelta(minutes=1)  # a new domain's first background check
DNS_PROPAGATION = timedelta(hours=72)  # what we tell admins DNS changes may take


def reminder_days() -> list[int]:
    """Days left at which the Owners and Administrators of a failing domain are reminded."""
    return sorted(settings.DOMAIN_REMINDER_DAYS, reverse=True)


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def as_context() -> dict:
    """The numbers as templates use them: {{ domain_rules.recheck_hours }} and so on."""
    return {
        "recheck_hours": _hours(RECHECK_INTERVAL),
        "grace_days": GRACE_PERIOD.days,
        "inconclusive_hours": _hours(INCONCLUSIVE_TOLERANCE),
        "pending_hours": _hours(PENDING_WINDOW),
        "propagation_hours": _hours(DNS_PROPAGATION),
        "reminder_days": reminder_days(),
    }
