"""The one clock. Every time rule calls `now()`; tests move it with `set_now`/`advance`.

The override is process-wide on purpose: an in-process Celery test worker sees the same
time as the test that moved it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Hold the clock at `moment` for a block (an operator's `--now` preview), then put it
    back as it was."""
    global _frozen
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        _frozen = previous
