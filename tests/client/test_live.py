"""`Client` and `AsyncClient` against a real `trackway serve` process."""

import asyncio
from datetime import date

import pytest

from live import Server
from trackway.client import (
    AsyncClient,
    BadRequest,
    Client,
    ConfigurationError,
    Event,
    Identity,
    Location,
    NotFound,
    TransportError,
    Unauthorized,
)

pytestmark = pytest.mark.live

JANE = Identity(
    tracking_id="visitor-1",
    session_id="tab-1",
    email="Jane@Example.com",
    phone="+14155550100",
    external_id="user-42",
    name="Jane Doe",
    birthday_at=date(1992, 7, 4),
    location=Location(type="home", city_name="Lisbon", latitude=38.7),
    tags=["beta"],
    custom={"planStr": "pro"},
)
CHECKOUT = Event(name="checkout-started", meta={"cartTotalNum": 42.5})


def client(server: Server) -> Client:
    return Client(server.url, server.key)


def test_identity_event_creates_the_customer_the_reads_return(
    server: Server,
) -> None:
    with client(server) as api:
        record = api.identity_event(JANE, CHECKOUT)
        assert record.customer_id is not None
        customer = api.customer(record.customer_id)

    assert record.status == "created"
    assert (record.tracking_id, record.session_id) == ("visitor-1", "tab-1")
    assert customer.name == "Jane Doe"
    assert [e.email for e in customer.emails] == ["jane@example.com"]
    assert [p.phone for p in customer.phones] == ["+14155550100"]
    assert date(1992, 7, 4) == customer.birthday_at
    assert [JANE.location] == customer.locations
    assert customer.custom == {"planStr": "pro"}
    assert customer.rev == 1


def test_lookups_by_email_external_id_and_phone_find_the_same_customer(
    server: Server,
) -> None:
    with client(server) as api:
        record = api.identity(JANE)
        found = [
            api.customer_by_email(" JANE@example.com"),
            api.customer_by_external_id("user-42"),
            api.customer_by_phone("+1 415 555 0100"),
        ]

    assert [record.customer_id] * 3 == [c.id for c in found]


def test_sessions_and_their_events_are_listed_across_pages(
    server: Server,
) -> None:
    with client(server) as api:
        record = api.identity(JANE)
        for tab in ("tab-1", "tab-2", "tab-3"):
            event = Event(name="page-viewed", tracking_id="visitor-1", session_id=tab)
            api.event(event)
        assert record.customer_id is not None
        sessions = list(api.sessions(record.customer_id, page_size=1))
        events = list(api.session_events(record.customer_id, "tab-2", page_size=1))

    assert {"tab-1", "tab-2", "tab-3"} == {s.session_id for s in sessions}
    assert [(e.tracking_event, e.session_id) for e in events] == [
        ("tracking.page-viewed", "tab-2")
    ]


def test_the_timeline_iterates_every_page_newest_first(server: Server) -> None:
    with client(server) as api:
        record = api.identity(JANE)
        for number in range(5):
            meta = {"stepNum": number}
            api.event(Event(name="step", tracking_id="visitor-1", meta=meta))
        assert record.customer_id is not None
        timeline = list(api.timeline(record.customer_id, limit=2))
        one = api.customer_event(record.customer_id, timeline[0].id)

    steps = [e.meta["stepNum"] for e in timeline if e.meta is not None]
    assert steps == [4, 3, 2, 1, 0]
    assert timeline[-1].name == "kustomer.customer.create"
    assert timeline[0] == one


def test_event_returns_the_ids_the_server_made(server: Server) -> None:
    with client(server) as api:
        tracked = api.event(Event(name="page-viewed"))

    assert tracked.tracking_id
    assert tracked.session_id


def test_a_repeated_idempotency_key_records_the_call_once(
    server: Server,
) -> None:
    with client(server) as api:
        first = api.identity_event(JANE, CHECKOUT, idempotency_key="order-1")
        again = api.identity_event(JANE, CHECKOUT, idempotency_key="order-1")
        assert first.customer_id is not None
        timeline = list(api.timeline(first.customer_id))

    assert first == again
    assert sum(e.tracking_event is not None for e in timeline) == 1


def test_delete_customer_erases_her(server: Server) -> None:
    with client(server) as api:
        record = api.identity(JANE)
        assert record.customer_id is not None
        api.delete_customer(record.customer_id)

        with pytest.raises(NotFound) as raised:
            api.customer(record.customer_id)

    assert raised.value.status == 404
    assert raised.value.code == "not_found"


def test_a_refused_call_carries_status_code_detail_pointer_and_request(
    server: Server,
) -> None:
    with client(server) as api, pytest.raises(BadRequest) as raised:
        api.event(Event(name="9-lives"))

    error = raised.value
    assert (error.status, error.code, error.pointer) == (400, "bad_request", "/name")
    assert "letter" in (error.detail or "")
    assert error.request.url.path == "/v1/tracking/event"
    assert str(error).startswith("400 bad_request: ")


def test_a_wrong_key_is_unauthorized(server: Server) -> None:
    with Client(server.url, "tw_wrong") as api, pytest.raises(Unauthorized):
        api.customer("c" * 24)


def test_url_and_key_come_from_the_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWAY_URL", server.url)
    monkeypatch.setenv("TRACKWAY_KEY", server.key)

    with Client() as api:
        record = api.identity(JANE)

    assert record.status == "created"


def test_no_key_anywhere_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRACKWAY_KEY", raising=False)

    with pytest.raises(ConfigurationError, match="TRACKWAY_KEY"):
        Client("http://127.0.0.1:9")


def test_a_server_that_does_not_answer_is_a_transport_error() -> None:
    from trackway.client import Retry

    api = Client("http://127.0.0.1:9", "k", retry=Retry(attempts=2, backoff=0.0))

    with api, pytest.raises(TransportError):
        api.customer("c" * 24)


def test_the_async_client_makes_the_same_calls(server: Server) -> None:
    async def scenario() -> tuple[str | None, int, int]:
        async with AsyncClient(server.url, server.key) as api:
            record = await api.identity_event(JANE, CHECKOUT)
            assert record.customer_id is not None
            customer = await api.customer_by_email("jane@example.com")
            sessions = [s async for s in api.sessions(customer.id)]
            timeline = [e async for e in api.timeline(customer.id, limit=1)]
            await api.delete_customer(customer.id)
        return record.customer_id, len(sessions), len(timeline)

    customer_id, sessions, events = asyncio.run(scenario())

    assert customer_id
    assert (sessions, events) == (1, 2)
