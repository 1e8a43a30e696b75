"""Per-user rate limits: a token bucket for each account.

Each request (and each WebSocket message) takes one token; tokens come back at
``per_minute / 60`` a second, up to ``burst``. An empty bucket answers how long until the
next token, which becomes the 429's ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, _Bucket] = {}

    def take(self, user_id: int) -> float:
        """Take one token for this user: 0.0 if allowed, else seconds until one is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(user_id, _Bucket(self.burst, now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, rounded up, as HTTP wants; never 0 for a refused request."""
    return str(max(1, math.ceil(wait_s)))
