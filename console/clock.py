"""The one clock. Every time rule calls `now()`; tests move it with `set_now`/`advance`.

The override is process-wide on purpose: an in-process Celery test worker sees the same
time as the test that moved it.
"""

from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else timezone.now()


def set_now(moment: datetime) -> None:
    global _frozen
    if timezone.is_naive(moment):
        raise ValueError("the clock takes aware datetimes")
    _frozen = moment


def advance(delta: timedelta) -> datetime:
    set_now(now() + delta)
    return now()


def reset() -> None:
    global _frozen
    _frozen = None
