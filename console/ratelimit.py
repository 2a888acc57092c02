"""Fixed-window rate limits in the cache (Redis in production, so all web processes share them).

Windows are keyed on the one clock, so tests move time instead of sleeping.
"""

import math
from dataclasses import dataclass

from django.core.cache import cache

from console import clock


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    retry_after_seconds: int = 0
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


def peek(key: str, *, limit: int, window_seconds: int) -> RateLimit:
    """Whether one more hit would be allowed, without counting it."""
    index, retry_after = _window(window_seconds)
    count = cache.get(f"rl:{key}:{index}", 0)
    return RateLimit(True) if count < limit else RateLimit(False, retry_after)


def hit(key: str, *, limit: int, window_seconds: int) -> RateLimit:
    """Count one hit; refused once `limit` hits were counted in the current window."""
    index, retry_after = _window(window_seconds)
    bucket = f"rl:{key}:{index}"
    cache.add(bucket, 0, timeout=window_seconds + 60)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window_seconds + 60)
        count = 1
    if count > limit:
        return RateLimit(False, retry_after, remaining=0, reset_seconds=retry_after)
    return RateLimit(True, remaining=limit - count, reset_seconds=retry_after)


def hit_all(limits: list[tuple[str, int, int]]) -> RateLimit:
    """Check every (key, limit, window) first, then count a hit on each; refused if any is full."""
    for key, limit, window in limits:
        state = peek(key, limit=limit, window_seconds=window)
        if not state.allowed:
            return state
    for key, limit, window in limits:
        hit(key, limit=limit, window_seconds=window)
    return RateLimit(True)


def reset(key: str, *, window_seconds: int) -> None:
    index, _ = _window(window_seconds)
    cache.delete(f"rl:{key}:{index}")
