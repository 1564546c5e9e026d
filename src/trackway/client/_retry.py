"""When to try a call again, and how long to wait first.

Only what may succeed on a second try is retried: no answer at all (a
connection error or a timeout), 408, 429 and 5xx. Every other answer is
final. Tracking calls carry an `Idempotency-Key`, so a retry of a call
whose answer was lost is not recorded twice.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from trackway.client._errors import retry_after

RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Retry:
    """The retry policy of a client.

    `attempts` counts every try, the first included (1 turns retries
    off). Waits double from `backoff` seconds, with jitter, up to
    `max_delay`. A `Retry-After` of the server is waited out as given; one
    longer than `max_delay` ends the retries, so the caller hears of it
    at once instead of blocking.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1")
        if self.backoff < 0 or self.max_delay < 0:
            raise ValueError("Retry waits cannot be negative")

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait after try number `attempt` (from 1) before the
        next; None when there is to be no next try. `response` is None
        when the try got no answer."""
        if attempt >= self.attempts:
            return None
        if response is not None and not retryable(response):
            return None
        asked = None if response is None else _asked_wait(response)
        if asked is None:
            return self._backoff(attempt)
        return asked if asked <= self.max_delay else None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.backoff * 2.0 ** (attempt - 1))
        # Half fixed, half random: clients that failed together spread out.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def retryable(response: httpx.Response) -> bool:
    status = response.status_code
    return status in RETRIED_STATUSES or status >= 500


def _asked_wait(response: httpx.Response) -> float | None:
    """The wait `Retry-After` asks for, in seconds or as an HTTP date."""
    seconds = retry_after(response)
    if seconds is not None:
        return seconds
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
