"""Retries: only network errors, 5xx, 408 and 429, with capped backoff that
honours Retry-After, and one Idempotency-Key for every try of a call.

The server is an `httpx.MockTransport` answering from a script of replies.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from trackway.client import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    Event,
    Identity,
    NotFound,
    RateLimited,
    Retry,
    ServerError,
    TransportError,
)

NO_WAIT = Retry(attempts=4, backoff=0.0)
IDENTITY = {
    "data": {
        "type": "identity",
        "id": "6b11a02c0000000000000001",
        "attributes": {"trackingId": "v-1", "status": "created"},
        "relationships": {"customer": {"data": {"type": "customer", "id": "c" * 24}}},
    }
}
Reply = httpx.Response | type[Exception]


class Script:
    """Answers each request with the next reply; records the requests."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, httpx.Response):
            return reply
        raise reply("scripted failure")

    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


def client(script: Script, retry: Retry = NO_WAIT) -> Client:
    transport = httpx.MockTransport(script)
    return Client("http://trackway.test", "k", retry=retry, transport=transport)


def created() -> httpx.Response:
    return httpx.Response(201, json=IDENTITY)


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, headers=headers, json={"errors": []})


@pytest.mark.parametrize("code", [500, 502, 503, 408, 429])
def test_a_retryable_status_is_tried_again_until_it_succeeds(code: int) -> None:
    script = Script(status(code), status(code), created())

    record = client(script).identity(Identity(email="jane@example.com"))

    assert record.status == "created"
    assert len(script.requests) == 3


def test_every_try_of_a_call_carries_the_same_idempotency_key() -> None:
    script = Script(status(503), httpx.ConnectError, created())

    client(script).identity(Identity(email="jane@example.com"))

    [first, *others] = script.keys()
    assert first
    assert others == [first, first]


def test_each_call_has_an_idempotency_key_of_its_own() -> None:
    script = Script(created(), created())
    api = client(script)

    api.identity(Identity(email="jane@example.com"))
    api.identity(Identity(email="jane@example.com"))

    first, second = script.keys()
    assert first != second


def test_a_given_idempotency_key_is_sent_as_is() -> None:
    script = Script(httpx.Response(204))

    client(script).event(Event(name="page-viewed"), idempotency_key="order-7")

    assert script.keys() == ["order-7"]


@pytest.mark.parametrize(
    ("code", "error"), [(400, BadRequest), (404, NotFound), (409, Conflict)]
)
def test_a_final_status_is_raised_at_once(code: int, error: type[Exception]) -> None:
    script = Script(status(code), created())

    with pytest.raises(error):
        client(script).identity(Identity(email="jane@example.com"))

    assert len(script.requests) == 1


def test_network_errors_are_retried_then_raised_as_transport_errors() -> None:
    script = Script(httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectError)
    retry = Retry(attempts=3, backoff=0.0)

    with pytest.raises(TransportError) as raised:
        client(script, retry).customer("c" * 24)

    assert len(script.requests) == 3
    assert raised.value.request.url.path == f"/v1/customers/{'c' * 24}"


def test_the_last_answer_is_raised_when_the_tries_run_out() -> None:
    script = Script(status(503), status(503))

    with pytest.raises(ServerError) as raised:
        client(script, Retry(attempts=2, backoff=0.0)).customer("c" * 24)

    assert raised.value.status == 503


def test_a_retry_after_longer_than_the_cap_is_raised_with_the_wait() -> None:
    script = Script(status(429, **{"Retry-After": "120"}), created())

    with pytest.raises(RateLimited) as raised:
        client(script, Retry(max_delay=30.0)).identity(Identity(email="a@b.co"))

    assert raised.value.retry_after == 120.0
    assert len(script.requests) == 1


def test_a_short_retry_after_is_waited_out() -> None:
    script = Script(status(429, **{"Retry-After": "0"}), created())

    client(script).identity(Identity(email="jane@example.com"))

    assert len(script.requests) == 2


def test_one_attempt_means_no_retry() -> None:
    script = Script(status(503), created())

    with pytest.raises(ServerError):
        client(script, Retry(attempts=1)).identity(Identity(email="a@b.co"))

    assert len(script.requests) == 1


class TestRetryDelay:
    """`Retry.delay`: how long to wait after a try, or None to stop."""

    def test_backoff_doubles_with_jitter_and_stays_under_the_cap(self) -> None:
        retry = Retry(attempts=10, backoff=1.0, max_delay=5.0)

        waits = [retry.delay(n, None) for n in range(1, 6)]

        ceilings = [1.0, 2.0, 4.0, 5.0, 5.0]
        for wait, ceiling in zip(waits, ceilings, strict=True):
            assert wait is not None
            assert ceiling / 2 <= wait <= ceiling

    def test_retry_after_in_seconds_is_the_wait(self) -> None:
        answer = status(503, **{"Retry-After": "7"})

        assert Retry(max_delay=30.0).delay(1, answer) == 7.0

    def test_retry_after_as_an_http_date_is_the_time_until_it(self) -> None:
        later = datetime.now(UTC) + timedelta(seconds=20)
        answer = status(429, **{"Retry-After": format_datetime(later, usegmt=True)})

        wait = Retry(max_delay=30.0).delay(1, answer)

        assert wait is not None
        assert 15.0 <= wait <= 20.0

    def test_there_is_no_retry_after_the_last_attempt(self) -> None:
        assert Retry(attempts=3).delay(3, None) is None

    def test_a_client_error_is_never_retried(self) -> None:
        assert Retry().delay(1, status(422)) is None

    def test_attempts_below_one_are_refused(self) -> None:
        with pytest.raises(ValueError, match="attempts"):
            Retry(attempts=0)


def run(coroutine: Callable[[], object]) -> object:
    return asyncio.run(coroutine())  # type: ignore[arg-type]


def test_the_async_client_retries_alike_with_one_key() -> None:
    script = Script(status(502), httpx.ConnectError, created())
    transport = httpx.MockTransport(script)

    async def call() -> str | None:
        async with AsyncClient(
            "http://trackway.test", "k", retry=NO_WAIT, transport=transport
        ) as api:
            record = await api.identity(Identity(email="jane@example.com"))
        return record.customer_id

    assert run(call) == "c" * 24
    assert len(set(script.keys())) == 1
    assert len(script.requests) == 3
