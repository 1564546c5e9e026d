"""Requests per minute per org (SPEC 10), counted in this process.

A fixed one-minute window: simple, and what `X-RateLimit-Reset` (epoch
seconds of the window's end) describes exactly. A limit of 0 turns it off.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from trackway.api.errors import RateLimited

WINDOW_S = 60


@dataclass(slots=True)
class RateLimiter:
    limit: int
    clock: Callable[[], float] = time.time
    _window: int = -1
    _counts: dict[str, int] = field(default_factory=dict)

    def check(self, org_id: str, now_s: float | None = None) -> None:
        """Count one request of `org_id`; raise RateLimited past the limit."""
        if self.limit <= 0:
            return
        now_s = self.clock() if now_s is None else now_s
        window = int(now_s // WINDOW_S)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(org_id, 0) + 1
        self._counts[org_id] = count
        if count > self.limit:
            reset_at = (window + 1) * WINDOW_S
            retry_after = max(1, reset_at - int(now_s))
            raise RateLimited(self.limit, reset_at, retry_after)
