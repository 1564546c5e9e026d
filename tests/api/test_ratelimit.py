"""The per-org rate limit of SPEC 10, in one process."""

from collections.abc import Iterator

import pytest

from harness import Api, make_api
from trackway.api.errors import RateLimited
from trackway.api.ratelimit import RateLimiter


@pytest.fixture
def limited_api(database_url: str) -> Iterator[Api]:
    yield from make_api(database_url, rate_limit=3)


def test_limit_of_zero_never_refuses() -> None:
    limiter = RateLimiter(0)

    for _ in range(10_000):
        limiter.check("org", now_s=100.0)


def test_requests_past_the_limit_are_refused_until_the_next_minute() -> None:
    limiter = RateLimiter(2)
    limiter.check("org", now_s=120.0)
    limiter.check("org", now_s=130.0)

    with pytest.raises(RateLimited) as refused:
        limiter.check("org", now_s=150.0)
    limiter.check("org", now_s=180.0)

    assert refused.value.headers == {
        "Retry-After": "30",
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "180",
    }


def test_each_org_has_its_own_allowance() -> None:
    limiter = RateLimiter(1)

    limiter.check("acme", now_s=0.0)
    limiter.check("globex", now_s=0.0)

    with pytest.raises(RateLimited):
        limiter.check("acme", now_s=1.0)


def test_server_answers_429_in_the_canonical_shape(limited_api: Api) -> None:
    limiter = limited_api.client.app.state.rate_limiter  # type: ignore[attr-defined]
    limiter.clock = lambda: 90.0  # the middle of a window: no rollover
    body = {"name": "page-view"}
    statuses = [
        limited_api.post("/v1/tracking/event", body).status_code for _ in range(4)
    ]

    refused = limited_api.post("/v1/tracking/event", body)

    assert statuses == [204, 204, 204, 429]
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["x-ratelimit-limit"] == "3"
