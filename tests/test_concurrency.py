"""The identity rules hold when many calls race, against a live server.

On PostgreSQL the server runs 4 worker processes, so the races are between
processes and settled by the database's unique keys and row locks. SQLite
allows one server process (`--workers` above 1 is refused), so there the
same calls race between the threads of that process.

Each call is released by a barrier so that all of them are in flight at
once; a 5xx anywhere fails the test.
"""

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from live import Server, running_server

pytestmark = pytest.mark.live

CALLS = 50
T = TypeVar("T")


@pytest.fixture
def server(tmp_path: Path, blank_database_url: str, backend: str) -> Iterator[Server]:
    workers = 4 if backend == "postgresql" else 1
    with running_server(blank_database_url, tmp_path, workers) as server:
        yield server


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=CALLS)
    with httpx.Client(
        base_url=server.url, headers=server.headers, limits=limits, timeout=60
    ) as client:
        yield client


def at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0)` .. `call(count - 1)` on `count` threads released together."""
    barrier = threading.Barrier(count)

    def released(i: int) -> T:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(released, range(count)))


def post(http: httpx.Client, path: str, body: object, **headers: str) -> Any:
    response = http.post(path, json=body, headers=headers)
    assert response.status_code < 500, response.text
    assert response.is_success, response.text
    return response


def customer_of(response: httpx.Response) -> str:
    identity = response.json()["data"]
    customer: str = identity["relationships"]["customer"]["data"]["id"]
    return customer


def read(http: httpx.Client, path: str) -> Any:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def timeline(http: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    """Every item of the customer's timeline, following the page links."""
    items: list[dict[str, Any]] = []
    path: str | None = f"/v1/customers/{customer_id}/timeline?limit=100"
    while path:
        response = http.get(path)
        assert response.status_code == 200, response.text
        document = response.json()
        items += document["data"]
        path = document.get("links", {}).get("next")
    return items


def tracking_events(http: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    return [
        item
        for item in timeline(http, customer_id)
        if "trackingEvent" in item["attributes"]
    ]


def identity_event(
    tracking_id: str, identity: dict[str, Any], name: str = "page-viewed"
) -> dict[str, Any]:
    return {
        "identity": {"trackingId": tracking_id, **identity},
        "event": {"name": name},
    }


def test_one_new_email_from_fifty_visitors_makes_one_customer(
    server: Server, http: httpx.Client
) -> None:
    body = {"email": "race@example.com"}

    responses = at_once(
        CALLS,
        lambda i: post(
            http, "/v1/tracking/identityEvent", identity_event(f"v-{i}", body)
        ),
    )

    customers = {customer_of(r) for r in responses}
    assert len(customers) == 1
    [customer_id] = customers
    statuses = sorted(r.json()["data"]["attributes"]["status"] for r in responses)
    assert statuses == ["created"] + ["updated"] * (CALLS - 1)
    assert read(http, "/v1/customers/email=race@example.com")["id"] == customer_id
    assert len(tracking_events(http, customer_id)) == CALLS


def test_one_new_external_id_from_fifty_visitors_makes_one_customer(
    server: Server, http: httpx.Client
) -> None:
    body = {"externalId": "user-7"}

    responses = at_once(
        CALLS,
        lambda i: post(
            http, "/v1/tracking/identityEvent", identity_event(f"v-{i}", body)
        ),
    )

    customers = {customer_of(r) for r in responses}
    assert len(customers) == 1
    [customer_id] = customers
    assert read(http, "/v1/customers/externalId=user-7")["id"] == customer_id
    assert len(tracking_events(http, customer_id)) == CALLS


def test_fifty_events_of_one_visitor_and_session_make_one_session(
    server: Server, http: httpx.Client
) -> None:
    identity = post(
        http,
        "/v1/tracking/identity",
        {"trackingId": "v-1", "sessionId": "tab-1", "email": "one@example.com"},
    )
    customer_id = customer_of(identity)
    body = {"trackingId": "v-1", "sessionId": "tab-1", "name": "page-viewed"}

    at_once(CALLS, lambda _: post(http, "/v1/tracking/event", body))

    [session] = read(http, f"/v1/customers/{customer_id}/sessions")
    assert session["attributes"]["sessionId"] == "tab-1"
    assert session["attributes"]["count"] == CALLS
    path = f"/v1/customers/{customer_id}/sessions/tab-1/events?pageSize=100"
    assert len(read(http, path)) == CALLS


def test_racing_trait_changes_leave_one_value_and_a_consistent_history(
    server: Server, http: httpx.Client
) -> None:
    customer_id = customer_of(
        post(http, "/v1/tracking/identity", {"email": "plan@example.com"})
    )

    def set_plan(plan: str) -> Callable[[int], Any]:
        body = {"email": "plan@example.com", "custom": {"planStr": plan}}
        return lambda _: post(http, "/v1/tracking/identity", body)

    at_once(2, lambda i: set_plan(["basic", "pro"][i])(i))
    racing = read(http, f"/v1/customers/{customer_id}")["attributes"]["custom"]
    set_plan("enterprise")(0)

    profile = read(http, f"/v1/customers/{customer_id}")["attributes"]
    assert racing["planStr"] in ("basic", "pro")
    assert profile["custom"]["planStr"] == "enterprise"
    # Two racing calls may be dated in either order (each is dated when it
    # arrived, not when it won the customer's lock), so the history is
    # checked as a chain, not in timeline order.
    history = sorted(plan_history(http, customer_id), key=str)
    assert history == sorted(chained_history(racing["planStr"]), key=str)


def plan_history(http: httpx.Client, customer_id: str) -> list[tuple[Any, Any]]:
    """(before, after) of `custom.planStr` in each change, oldest first."""
    history = []
    for item in reversed(timeline(http, customer_id)):
        changes_made = item["attributes"].get("changes") or {}
        change = changes_made.get("attributes", {}).get("custom.planStr")
        if change is not None:
            history.append((change.get("before"), change.get("after")))
    return history


def chained_history(second: str) -> list[tuple[Any, Any]]:
    first = "pro" if second == "basic" else "basic"
    return [(None, first), (first, second), (second, "enterprise")]


def test_parallel_repeats_of_one_idempotency_key_store_one_event(
    server: Server, http: httpx.Client
) -> None:
    body = {"trackingId": "v-1", "email": "once@example.com"}
    event = {"identity": body, "event": {"name": "order-placed"}}

    responses: list[httpx.Response] = at_once(
        20,
        lambda _: post(
            http, "/v1/tracking/identityEvent", event, **{"Idempotency-Key": "k-1"}
        ),
    )

    assert len({(r.status_code, r.content) for r in responses}) == 1
    customer_id = customer_of(responses[0])
    assert len(tracking_events(http, customer_id)) == 1


@pytest.mark.parametrize("round_", range(5))
def test_erasure_racing_an_event_leaves_nothing_of_the_customer(
    server: Server, http: httpx.Client, blank_database_url: str, round_: int
) -> None:
    email = f"gone-{round_}@example.com"
    identity = {"trackingId": "v-gone", "sessionId": "tab-1", "email": email}
    customer_id = customer_of(post(http, "/v1/tracking/identity", identity))
    event = {"trackingId": "v-gone", "sessionId": "tab-1", "name": "late-click"}

    def step(i: int) -> httpx.Response:
        if i == 0:
            return http.delete(f"/v1/customers/{customer_id}")
        return post(http, "/v1/tracking/event", event)

    erased, _ = at_once(2, step)

    assert erased.status_code == 204, erased.text
    assert http.get(f"/v1/customers/{customer_id}").status_code == 404
    assert rows_mentioning(blank_database_url, [customer_id, email]) == []
    assert late_events_are_anonymous(blank_database_url)


def rows_mentioning(url: str, needles: list[str]) -> list[str]:
    """`table.column` of every stored value that contains one of `needles`."""
    engine = create_engine(url)
    found = []
    try:
        with engine.connect() as connection:
            schema = inspect(connection)
            for table in schema.get_table_names():
                if table == "alembic_version":
                    continue
                for column in schema.get_columns(table):
                    name = column["name"]
                    query = text(f'SELECT "{name}" FROM {table}')
                    for (value,) in connection.execute(query):
                        if any(n in str(value) for n in needles):
                            found.append(f"{table}.{name}")
    finally:
        engine.dispose()
    return found


def late_events_are_anonymous(url: str) -> bool:
    """Every stored `late-click` belongs to a visitor bound to nobody."""
    engine = create_engine(url)
    query = text(
        "SELECT e.customer_id, v.customer_id FROM events e "
        "JOIN visitors v ON v.org_id = e.org_id AND v.tracking_id = e.tracking_id "
        "WHERE e.name = 'late-click'"
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    return all(event is None and visitor is None for event, visitor in rows)


def test_metrics_of_several_workers_add_up(
    tmp_path: Path, postgres_database_url: str
) -> None:
    body = {"trackingId": "v-1", "name": "page-viewed"}
    with running_server(postgres_database_url, tmp_path, workers=4) as server:
        limits = httpx.Limits(max_connections=20)
        with httpx.Client(
            base_url=server.url, headers=server.headers, limits=limits
        ) as http:
            at_once(20, lambda _: post(http, "/v1/tracking/event", body))
        # A new connection each time, so several workers answer.
        answers = [httpx.get(f"{server.url}/metrics").text for _ in range(8)]

    assert all("trackway_events_written_total 20.0" in text for text in answers)


def test_a_console_sign_in_holds_whichever_worker_answers(
    tmp_path: Path, postgres_database_url: str
) -> None:
    with running_server(postgres_database_url, tmp_path, workers=4) as server:
        # A new connection for each request, so several workers answer.
        with httpx.Client(base_url=server.url) as browser:
            form = browser.get("/console/sign-in").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            signed = browser.post(
                "/console/sign-in", data={"key": server.key, "csrf": token.group(1)}
            )
            cookies = browser.cookies
        assert signed.status_code == 303, signed.text
        pages = [
            httpx.get(f"{server.url}/console", cookies=cookies).status_code
            for _ in range(8)
        ]

    assert pages == [200] * 8
