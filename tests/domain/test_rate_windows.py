"""Who a call is counted against, and the fixed one-minute windows."""

import pytest

from trackway.domain.errors import Invalid
from trackway.domain.ratelimit import (
    ORG,
    Allowance,
    allowance_of,
    check_limit,
    quota,
    window_start,
)
from trackway.domain.roles import TRACKING, Principal

ORG_ID = "0123456789abcdef01234567"
KEY_ID = "89abcdef0123456789abcdef"


def principal(rate_limit: int | None = None) -> Principal:
    return Principal(ORG_ID, KEY_ID, frozenset({TRACKING}), rate_limit)


def test_a_window_starts_on_a_whole_minute_of_the_epoch() -> None:
    assert window_start(120.0) == 120
    assert window_start(179.999) == 120
    assert window_start(180.0) == 180


def test_a_key_without_a_limit_of_its_own_draws_on_the_org_s() -> None:
    assert allowance_of(principal(), 300) == Allowance(ORG_ID, ORG, 300)


def test_a_key_with_its_own_limit_is_counted_alone_under_that_limit() -> None:
    assert allowance_of(principal(5), 300) == Allowance(ORG_ID, KEY_ID, 5)


def test_a_key_s_own_limit_applies_when_the_org_has_none() -> None:
    assert allowance_of(principal(5), 0) == Allowance(ORG_ID, KEY_ID, 5)


def test_a_limit_of_zero_means_no_limit() -> None:
    assert allowance_of(principal(), 0) is None
    assert allowance_of(principal(0), 300) is None


def test_the_standing_counts_down_to_zero_and_resets_at_the_window_s_end() -> None:
    allowance = Allowance(ORG_ID, ORG, 2)

    first = quota(allowance, 1, 130.0)
    last = quota(allowance, 2, 150.5)
    past = quota(allowance, 3, 150.5)

    assert (first.remaining, first.reset_at_s, first.exceeded) == (1, 180, False)
    assert (last.remaining, last.exceeded) == (0, False)
    assert (past.remaining, past.exceeded, past.retry_after_s) == (0, True, 30)


def test_retry_after_is_at_least_one_second() -> None:
    standing = quota(Allowance(ORG_ID, ORG, 1), 2, 179.9)

    assert standing.retry_after_s == 1


@pytest.mark.parametrize("limit", [-1, 1_000_000_001])
def test_a_limit_out_of_range_is_invalid(limit: int) -> None:
    with pytest.raises(Invalid, match="0 \\(no limit\\) to 1,000,000,000"):
        check_limit(limit)
