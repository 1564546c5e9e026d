"""How many calls a minute a caller may make (SPEC 10), as plain rules.

Calls are counted in fixed one-minute windows aligned on the epoch: a
window is named by its first second, and a count is the calls of one
subject (the org, or a key with a limit of its own) in one window. Fixed
windows need one counter per subject and let `X-RateLimit-Reset` say
exactly when the allowance comes back; the price is that a caller may
spend two allowances around a window's edge.
"""

from dataclasses import dataclass

from trackway.domain.errors import Invalid, Problem
from trackway.domain.roles import Principal

WINDOW_S = 60
# The subject whose count is the org's own allowance.
ORG = "org"


@dataclass(frozen=True, slots=True)
class Allowance:
    """Whose calls are counted together, and how many a window admits."""

    org_id: str
    subject: str
    limit: int


@dataclass(frozen=True, slots=True)
class Quota:
    """Where a caller stands after one more call was counted."""

    limit: int
    count: int
    reset_at_s: int
    """When the window ends, in epoch seconds."""
    now_s: float

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until the next window; at least 1."""
        return max(1, self.reset_at_s - int(self.now_s))


def allowance_of(principal: Principal, org_limit: int) -> Allowance | None:
    """The allowance a call of `principal` draws on; None when unlimited.

    A key with a limit of its own is counted alone, so a busy key of an
    org neither spends nor is stopped by the org's allowance. A limit of
    0, the key's or else the org's, means no limit.
    """
    if principal.rate_limit is not None:
        if principal.rate_limit == 0:
            return None
        return Allowance(principal.org_id, principal.key_id, principal.rate_limit)
    if org_limit == 0:
        return None
    return Allowance(principal.org_id, ORG, org_limit)


def window_start(now_s: float) -> int:
    """The first second of the window that holds `now_s`."""
    return int(now_s // WINDOW_S) * WINDOW_S


def quota(allowance: Allowance, count: int, now_s: float) -> Quota:
    """The standing of a caller whose window, holding `now_s`, has now
    counted `count` calls."""
    reset_at = window_start(now_s) + WINDOW_S
    return Quota(allowance.limit, count, reset_at, now_s)


# What an integer column holds, and far more than one server answers.
MAX_LIMIT = 1_000_000_000


def check_limit(limit: int, what: str = "a key's rate limit") -> None:
    """Raise Invalid unless `limit` is 0 (no limit) to MAX_LIMIT."""
    if not 0 <= limit <= MAX_LIMIT:
        detail = f"{what} is 0 (no limit) to {MAX_LIMIT:,} requests a minute"
        raise Invalid(Problem(detail))


class CounterUnavailable(Exception):
    """The store that counts calls did not answer (Redis down, say)."""
