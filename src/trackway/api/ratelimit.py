"""Requests per minute per org or key (SPEC 10), and the headers that say so.

The rules (fixed one-minute windows, who is counted) are in
`domain.ratelimit`; here the counting happens, in this process's memory
or in a store every process shares (Redis, PostgreSQL), and every answer
to a counted call gets `X-RateLimit-Limit`, `-Remaining` and `-Reset`.

A counter store that fails does not stop the tracking endpoints: calls
are served uncounted (fail open) and a warning is logged, and the store is
left alone for PAUSE_S so that every call does not wait on its timeout.
Acknowledged data is worth more than a limit kept exactly.
"""

import time
from collections.abc import Callable
from typing import Protocol

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackway.api.errors import RateLimited, rate_limit_headers
from trackway.api.middleware import QUOTA_STATE, quota_of
from trackway.domain.ratelimit import (
    Allowance,
    CounterUnavailable,
    Quota,
    allowance_of,
    quota,
    window_start,
)
from trackway.domain.roles import Principal
from trackway.logs import get_logger
from trackway.settings import Settings
from trackway.store.database import Database
from trackway.store.rate_counts import DatabaseCounts
from trackway.store.redis_counts import RedisCounts

PAUSE_S = 5.0
_log = get_logger("trackway.ratelimit")


class Counts(Protocol):
    """Where calls are counted: one more call, and the window's count."""

    name: str

    async def add(self, allowance: Allowance, window_start: int) -> int: ...

    async def close(self) -> None: ...


class MemoryCounts:
    """Counts in this process only: N processes admit up to N limits."""

    name = "memory"

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    async def add(self, allowance: Allowance, window_start: int) -> int:
        if window_start != self._window:
            # A new minute: the old counts are of no more use.
            self._window, self._counts = window_start, {}
        subject = (allowance.org_id, allowance.subject)
        count = self._counts.get(subject, 0) + 1
        self._counts[subject] = count
        return count

    async def close(self) -> None:
        """Nothing to release."""


class RateLimiter:
    def __init__(
        self,
        org_limit: int,
        counts: Counts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.org_limit = org_limit
        self.counts = counts or MemoryCounts()
        self.clock = clock
        self._paused_until = 0.0

    async def check(self, scope: Scope, principal: Principal) -> None:
        """Count a call of `principal` and keep its standing in the
        request's state for the headers; RateLimited (429) past the limit.
        A call without a limit, or uncounted, leaves no standing."""
        standing = await self.count(principal)
        if standing is None:
            return
        scope.setdefault("state", {})[QUOTA_STATE] = standing
        if standing.exceeded:
            raise RateLimited(standing)

    async def count(self, principal: Principal) -> Quota | None:
        """The standing after this call; None when no limit applies or
        the counter store failed."""
        allowance = allowance_of(principal, self.org_limit)
        if allowance is None or time.monotonic() < self._paused_until:
            return None
        now_s = self.clock()
        try:
            count = await self.counts.add(allowance, window_start(now_s))
        except CounterUnavailable as error:
            self._pause(error)
            return None
        return quota(allowance, count, now_s)

    async def close(self) -> None:
        await self.counts.close()

    def _pause(self, error: CounterUnavailable) -> None:
        self._paused_until = time.monotonic() + PAUSE_S
        _log.warning(
            "rate_limit_store_unavailable",
            store=self.counts.name,
            error=str(error),
            serving_uncounted_s=PAUSE_S,
        )


def limiter_for(settings: Settings, database: Database) -> RateLimiter:
    """The limiter `settings` ask for, counting where they say."""
    counts: Counts
    if settings.rate_limit_store == "redis":
        counts = RedisCounts(settings.redis_url, settings.redis_key_prefix)
    elif settings.rate_limit_store == "postgresql":
        counts = DatabaseCounts(database)
    else:
        counts = MemoryCounts()
    return RateLimiter(settings.rate_limit, counts)


class RateLimitHeaders:
    """Adds the X-RateLimit-* headers to the answer of a counted call,
    success or error, whatever the handler answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            standing = quota_of(scope)
            if message["type"] == "http.response.start" and standing is not None:
                MutableHeaders(scope=message).update(rate_limit_headers(standing))
            await send(message)

        await self.app(scope, receive, send_with_quota)
