"""The rate limit of SPEC 10: requests per minute per org, or per key with
a limit of its own, and the X-RateLimit-* headers on every counted answer.

Each server here stands at 90 s past the epoch, the middle of a window,
so no test crosses into the next minute by accident.
"""

import asyncio
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from backends import PostgresDatabases
from harness import Api, make_api
from trackway.api.app import create_app
from trackway.api.ratelimit import MemoryCounts, RateLimiter
from trackway.domain.ratelimit import Allowance, CounterUnavailable
from trackway.domain.roles import TRACKING, Principal
from trackway.store import accounts

EVENT = {"name": "page-viewed"}
HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def limiter_of(api: Api) -> RateLimiter:
    limiter: RateLimiter = api.client.app.state.rate_limiter  # type: ignore[attr-defined]
    return limiter


def at_90_s(api: Api) -> Api:
    limiter_of(api).clock = lambda: 90.0
    return api


@pytest.fixture
def limited_api(database_url: str) -> Iterator[Api]:
    """A server allowing each org 3 requests a minute."""
    for api in make_api(database_url, rate_limit=3):
        yield at_90_s(api)


def standing(response: object) -> tuple[str, ...]:
    headers = getattr(response, "headers")  # noqa: B009
    return tuple(headers.get(name) for name in HEADERS)


def key_with_limit(api: Api, limit: int | None) -> str:
    return accounts.create_key(api.database, api.org_id, [TRACKING], rate_limit=limit)


class TestCountedAnswers:
    def test_every_answer_after_the_key_is_known_carries_the_standing(
        self, database_url: str
    ) -> None:
        """A 201, a 204, a 400 and a 404 alike: the key was recognised."""
        for api in make_api(database_url, rate_limit=5):
            at_90_s(api)
            identity = {"trackingId": "v-1", "email": "jane@example.com"}

            answers = [
                api.post("/v1/tracking/identity", identity),
                api.post("/v1/tracking/event", EVENT),
                api.post("/v1/tracking/event", {"name": "1-bad"}),
                api.get("/v1/customers/0123456789abcdef01234567"),
            ]

            assert [a.status_code for a in answers] == [201, 204, 400, 404]
            assert [standing(a) for a in answers] == [
                ("5", "4", "120"),
                ("5", "3", "120"),
                ("5", "2", "120"),
                ("5", "1", "120"),
            ]

    def test_a_key_without_the_role_is_counted_and_told_its_standing(
        self, limited_api: Api
    ) -> None:
        refused = limited_api.post(
            "/v1/tracking/event", EVENT, key=limited_api.read_key
        )

        assert refused.status_code == 403
        assert standing(refused) == ("3", "2", "120")

    def test_past_the_limit_the_answer_is_429_with_retry_after(
        self, limited_api: Api
    ) -> None:
        for _ in range(3):
            assert limited_api.post("/v1/tracking/event", EVENT).status_code == 204

        refused = limited_api.post("/v1/tracking/event", EVENT)

        assert refused.status_code == 429
        [error] = refused.json()["errors"]
        assert (error["status"], error["code"]) == ("429", "rate_limited")
        assert error["detail"] == "more than 3 requests a minute; retry in 30 s"
        assert refused.headers["retry-after"] == "30"
        assert standing(refused) == ("3", "0", "120")

    def test_the_segment_door_is_counted_too(self, limited_api: Api) -> None:
        message = {"anonymousId": "a-1", "event": "Clicked"}

        answer = limited_api.post("/v1/track", message)

        assert answer.status_code == 200
        assert standing(answer) == ("3", "2", "120")

    def test_an_unknown_key_is_not_counted_and_told_nothing(
        self, limited_api: Api
    ) -> None:
        unknown = "tw_0123456789abcdef01234567_" + "x" * 43

        refused = [
            limited_api.post("/v1/tracking/event", EVENT, key=unknown) for _ in range(5)
        ]
        served = limited_api.post("/v1/tracking/event", EVENT)

        assert {r.status_code for r in refused} == {401}
        assert {standing(r) for r in refused} == {(None, None, None)}
        assert standing(served) == ("3", "2", "120")

    def test_without_a_limit_nothing_is_counted_and_no_header_sent(
        self, api: Api
    ) -> None:
        answers = [api.post("/v1/tracking/event", EVENT) for _ in range(20)]

        assert {a.status_code for a in answers} == {204}
        assert {standing(a) for a in answers} == {(None, None, None)}
        assert "retry-after" not in answers[-1].headers

    def test_the_next_minute_admits_calls_again(self, limited_api: Api) -> None:
        for _ in range(4):
            limited_api.post("/v1/tracking/event", EVENT)
        limiter_of(limited_api).clock = lambda: 120.0

        answer = limited_api.post("/v1/tracking/event", EVENT)

        assert answer.status_code == 204
        assert standing(answer) == ("3", "2", "180")


class TestKeysWithTheirOwnLimit:
    def test_a_key_s_own_limit_replaces_the_org_s(self, limited_api: Api) -> None:
        key = key_with_limit(limited_api, 5)

        statuses = [
            limited_api.post("/v1/tracking/event", EVENT, key=key).status_code
            for _ in range(6)
        ]

        assert statuses == [204] * 5 + [429]

    def test_a_key_s_own_calls_leave_the_org_s_allowance_whole(
        self, limited_api: Api
    ) -> None:
        key = key_with_limit(limited_api, 1)
        limited_api.post("/v1/tracking/event", EVENT, key=key)
        limited_api.post("/v1/tracking/event", EVENT, key=key)

        answer = limited_api.post("/v1/tracking/event", EVENT)

        assert answer.status_code == 204
        assert standing(answer) == ("3", "2", "120")

    def test_a_key_with_a_limit_of_zero_is_never_limited(
        self, limited_api: Api
    ) -> None:
        key = key_with_limit(limited_api, 0)

        answers = [
            limited_api.post("/v1/tracking/event", EVENT, key=key) for _ in range(10)
        ]

        assert {a.status_code for a in answers} == {204}
        assert {standing(a) for a in answers} == {(None, None, None)}

    def test_a_key_s_own_limit_holds_when_the_server_sets_none(self, api: Api) -> None:
        key = key_with_limit(at_90_s(api), 2)

        statuses = [
            api.post("/v1/tracking/event", EVENT, key=key).status_code for _ in range(3)
        ]

        assert statuses == [204, 204, 429]

    def test_a_changed_limit_applies_from_the_next_call(self, limited_api: Api) -> None:
        key = key_with_limit(limited_api, None)
        key_id = key[3:27]
        accounts.set_key_rate_limit(limited_api.database, key_id, 10)

        answer = limited_api.post("/v1/tracking/event", EVENT, key=key)

        assert standing(answer) == ("10", "9", "120")


ACME = Principal("acme", "k1", frozenset({TRACKING}))
GLOBEX = Principal("globex", "k2", frozenset({TRACKING}))


class FailingCounts:
    """A counter store that does not answer, as a Redis that is down."""

    name = "redis"

    def __init__(self) -> None:
        self.attempts = 0

    async def add(self, allowance: Allowance, window_start: int) -> int:
        self.attempts += 1
        raise CounterUnavailable("ConnectionError")

    async def close(self) -> None:
        pass


class TestLimiter:
    def test_each_org_has_its_own_allowance(self) -> None:
        limiter = RateLimiter(1, MemoryCounts(), clock=lambda: 0.0)

        acme = asyncio.run(limiter.count(ACME))
        globex = asyncio.run(limiter.count(GLOBEX))
        acme_again = asyncio.run(limiter.count(ACME))

        assert acme is not None and not acme.exceeded
        assert globex is not None and not globex.exceeded
        assert acme_again is not None and acme_again.exceeded

    def test_a_failing_store_serves_calls_uncounted_and_warns_once(self) -> None:
        counts = FailingCounts()
        limiter = RateLimiter(1, counts)

        with capture_logs() as logs:
            first = asyncio.run(limiter.count(ACME))
            second = asyncio.run(limiter.count(ACME))

        assert (first, second) == (None, None)
        assert counts.attempts == 1, "the store is left alone for a while"
        assert [(log["event"], log["log_level"], log["store"]) for log in logs] == [
            ("rate_limit_store_unavailable", "warning", "redis")
        ]

    def test_a_failing_store_does_not_stop_the_server(self, limited_api: Api) -> None:
        limiter_of(limited_api).counts = FailingCounts()

        answers = [limited_api.post("/v1/tracking/event", EVENT) for _ in range(5)]

        assert {a.status_code for a in answers} == {204}
        assert {standing(a) for a in answers} == {(None, None, None)}


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    url = postgres_databases.migrated()
    yield url
    postgres_databases.drop(url)


def shared_by_two_servers(url: str, **settings: object) -> Iterator[list[Api]]:
    """Two servers on one database and one counter store, as two
    processes of `trackway serve --workers 2` are."""
    for first in make_api(url, rate_limit=3, **settings):
        config = first.settings
        with TestClient(create_app(config, first.database)) as client:
            second = Api(**{**vars(first), "client": client})
            yield [at_90_s(first), at_90_s(second)]


class TestSharedStores:
    def test_servers_sharing_redis_share_one_allowance(
        self, postgres_url: str, redis_prefix: str
    ) -> None:
        store = {"rate_limit_store": "redis", "redis_key_prefix": redis_prefix}
        for servers in shared_by_two_servers(postgres_url, **store):
            statuses = [
                servers[i % 2].post("/v1/tracking/event", EVENT).status_code
                for i in range(5)
            ]

            assert statuses == [204, 204, 204, 429, 429]

    def test_servers_sharing_postgresql_share_one_allowance(
        self, postgres_url: str
    ) -> None:
        store = {"rate_limit_store": "postgresql"}
        for servers in shared_by_two_servers(postgres_url, **store):
            statuses = [
                servers[i % 2].post("/v1/tracking/event", EVENT).status_code
                for i in range(5)
            ]

            assert statuses == [204, 204, 204, 429, 429]
