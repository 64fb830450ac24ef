"""A fixed-window counter in Django's cache, for limits that are not DRF views (sign-up, websockets).

Counted in the default cache, as DRF's throttles are: per process unless CACHES points at a shared cache.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def allow(key: str, limit: int, window_s: int) -> bool:
    """Count one hit of `key`; False once more than `limit` hits fall in the current window of `window_s`."""
    if limit <= 0:
        return True  # no limit configured
    bucket = f"ratelimit:{key}:{int(time.time() // window_s)}"
    cache.add(bucket, 0, timeout=window_s)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=window_s)
        count = 1
    return count <= limit
