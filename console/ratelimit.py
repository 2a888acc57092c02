"""Fixed-window rate limits in the cache (Redis in production, so all web processes share them).

A limit is counted BEFORE the work it guards, with the cache's atomic increment: however many
requests arrive at once, at most `limit` of them get through a window (a read-then-count check
would let every parallel request through before any was counted). Windows are keyed on the
one clock, so tests move time instead of sleeping.
"""

import math
from dataclasses import dataclass

from django.core.cache import cache

from console import clock

Limit = tuple[str, int, int]  # (key, how many per window, window seconds)


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    retry_after_seconds: int = 0
    count: int = 0  # this hit's number in its window (the first refused one is limit + 1)
    # Hits left in the current window and seconds until it ends (filled in by `hit`), for
    # callers that tell clients their quota (e.g. RateLimit response headers).
    remaining: int | None = None
    reset_seconds: int | None = None

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60))


def _window(window_seconds: int) -> tuple[int, int]:
    timestamp = clock.now().timestamp()
    index = int(timestamp // window_seconds)
    retry_after = math.ceil((index + 1) * window_seconds - timestamp)
    return index, max(1, retry_after)


def _bucket(key: str, window_seconds: int) -> tuple[str, int]:
    index, retry_after = _window(window_seconds)
    return f"rl:{key}:{index}", retry_after


def peek(key: str, *, limit: int, window_seconds: int) -> RateLimit:
    """Whether one more hit would be allowed, without counting it (for display only: a check
    that guards work must count first, with `hit` or `acquire`)."""
    bucket, retry_after = _bucket(key, window_seconds)
    count = cache.get(bucket, 0)
    return RateLimit(True, count=count) if count < limit else RateLimit(False, retry_after, count)


def hit(key: str, *, limit: int, window_seconds: int) -> RateLimit:
    """Count one hit atomically; refused once more than `limit` hits were counted this window."""
    bucket, retry_after = _bucket(key, window_seconds)
    cache.add(bucket, 0, timeout=window_seconds + 60)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 0, timeout=window_seconds + 60)
        count = cache.incr(bucket)
    if count > limit:
        return RateLimit(False, retry_after, count, remaining=0, reset_seconds=retry_after)
    return RateLimit(True, count=count, remaining=limit - count, reset_seconds=retry_after)


def acquire(limits: list[Limit]) -> RateLimit:
    """Count one hit on every limit first, then decide: refused if any is over (the most
    distant retry time wins), and then every hit is given back, so a refused request spends
    nothing. Counting first means a flood cannot slip through between a check and a count."""
    refused = None
    for key, limit, window in limits:
        state = hit(key, limit=limit, window_seconds=window)
        if not state.allowed and (refused is None or state.retry_after_seconds > refused.retry_after_seconds):
            refused = state
    if refused is not None:
        release(limits)
        return refused
    return RateLimit(True)


def release(limits: list[Limit]) -> None:
    """Give back one hit on every limit (the guarded attempt turned out not to count, e.g. a
    correct password)."""
    for key, _limit, window in limits:
        bucket, _ = _bucket(key, window)
        try:
            if cache.decr(bucket) < 0:
                cache.set(bucket, 0, timeout=window + 60)
        except ValueError:  # the window ended meanwhile: nothing to give back
            pass


def reset(key: str, *, window_seconds: int) -> None:
    bucket, _ = _bucket(key, window_seconds)
    cache.delete(bucket)
