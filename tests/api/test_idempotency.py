"""`Idempotency-Key` on the tracking calls (SPEC 4.3)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from httpx2 import Response
from sqlalchemy import func, select

from harness import Api
from trackway.api import tracking
from trackway.domain import roles
from trackway.store import accounts, writer
from trackway.store.tables import metadata

IDENTITY = "/v1/tracking/identity"
EVENT = "/v1/tracking/event"
IDENTITY_EVENT = "/v1/tracking/identityEvent"
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
HOUR = 3_600_000

BODIES = {
    IDENTITY: {"email": "jane@example.com", "name": "Jane"},
    EVENT: {"name": "page-viewed", "meta": {"cartNum": 3}},
    IDENTITY_EVENT: {
        "identity": {"email": "jane@example.com"},
        "event": {"name": "page-viewed"},
    },
}
CHANGED = {
    IDENTITY: {"email": "jane@example.com", "name": "Jane Roe"},
    EVENT: {"name": "page-viewed", "meta": {"cartNum": 4}},
    IDENTITY_EVENT: {
        "identity": {"email": "jane@example.com"},
        "event": {"name": "checkout-started"},
    },
}
REPLAYED_HEADERS = ("content-type", "x-tracking-id", "x-session-id")


def send(
    api: Api, path: str, body: object, key: str, token: str | None = None
) -> Response:
    headers = {**api.headers(token or api.tracking_key), "Idempotency-Key": key}
    return api.client.post(path, json=body, headers=headers)


def row_counts(api: Api) -> dict[str, int]:
    with api.database.read() as connection:
        return {
            table.name: connection.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in metadata.sorted_tables
        }


def answer_of(response: Response) -> tuple[int, bytes, dict[str, str]]:
    """What a client may rely on being the same in a repeat."""
    headers = {
        name: response.headers[name]
        for name in REPLAYED_HEADERS
        if name in response.headers
    }
    return response.status_code, response.content, headers


@pytest.fixture
def second_org(api: Api) -> str:
    """A tracking key of another org on the same server."""
    org_id = accounts.create_org(api.database, "globex")
    return accounts.create_key(api.database, org_id, [roles.TRACKING])


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the server's time, so the test can move past the window."""
    frozen = Clock(T0)
    monkeypatch.setattr(tracking, "now_ms", frozen)
    monkeypatch.setattr(writer, "now_ms", frozen)
    return frozen


@pytest.mark.parametrize("path", list(BODIES))
def test_a_repeat_answers_as_the_first_time_and_stores_nothing(
    api: Api, path: str
) -> None:
    first = send(api, path, BODIES[path], "key-1")
    stored = row_counts(api)

    repeat = send(api, path, BODIES[path], "key-1")

    assert first.status_code in (201, 204)
    assert answer_of(repeat) == answer_of(first)
    assert row_counts(api) == stored


def test_a_repeated_event_keeps_the_server_made_ids(api: Api) -> None:
    first = send(api, EVENT, {"name": "page-viewed"}, "key-1")

    repeat = send(api, EVENT, {"name": "page-viewed"}, "key-1")

    assert repeat.status_code == 204
    assert repeat.headers["X-Tracking-Id"] == first.headers["X-Tracking-Id"]
    assert repeat.headers["X-Session-Id"] == first.headers["X-Session-Id"]


def test_a_repeat_changes_no_customer(api: Api) -> None:
    first = send(api, IDENTITY, BODIES[IDENTITY], "key-1")
    customer_id = first.json()["data"]["relationships"]["customer"]["data"]["id"]
    before = api.get(f"/v1/customers/{customer_id}").json()
    entries = api.get(f"/v1/customers/{customer_id}/timeline").json()

    send(api, IDENTITY, BODIES[IDENTITY], "key-1")

    assert api.get(f"/v1/customers/{customer_id}").json() == before
    assert api.get(f"/v1/customers/{customer_id}/timeline").json() == entries


def test_key_order_and_spacing_do_not_make_a_different_body(api: Api) -> None:
    headers = {
        **api.headers(api.tracking_key),
        "Idempotency-Key": "key-1",
        "Content-Type": "application/json",
    }
    first = api.client.post(
        IDENTITY, content=b'{"email":"jane@example.com","name":"Jane"}', headers=headers
    )

    repeat = api.client.post(
        IDENTITY,
        content=b'{ "name" : "Jane",\n  "email" : "jane@example.com" }',
        headers=headers,
    )

    assert answer_of(repeat) == answer_of(first)


@pytest.mark.parametrize("path", list(BODIES))
def test_the_same_key_with_another_body_is_409(api: Api, path: str) -> None:
    send(api, path, BODIES[path], "key-1")
    stored = row_counts(api)

    response = send(api, path, CHANGED[path], "key-1")

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["code"] == "conflict"
    assert row_counts(api) == stored


def test_the_same_key_and_body_on_another_endpoint_is_409(api: Api) -> None:
    body = {"name": "page-viewed"}  # valid as an event and as an identity
    send(api, EVENT, body, "key-1")
    stored = row_counts(api)

    response = send(api, IDENTITY, body, "key-1")

    assert response.status_code == 409
    assert row_counts(api) == stored


def test_a_repeat_with_a_trailing_slash_is_the_same_request(api: Api) -> None:
    first = send(api, EVENT, {"name": "page-viewed"}, "key-1")

    repeat = send(api, EVENT + "/", {"name": "page-viewed"}, "key-1")

    assert answer_of(repeat) == answer_of(first)
    assert row_counts(api)["events"] == 1


def test_a_key_of_256_characters_is_accepted(api: Api) -> None:
    response = send(api, EVENT, {"name": "page-viewed"}, "k" * 256)

    assert response.status_code == 204


def test_a_key_over_256_characters_is_400_and_stores_nothing(api: Api) -> None:
    stored = row_counts(api)

    response = send(api, EVENT, {"name": "page-viewed"}, "k" * 257)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "bad_request"
    assert row_counts(api) == stored


def test_an_empty_key_is_400(api: Api) -> None:
    response = send(api, EVENT, {"name": "page-viewed"}, "")

    assert response.status_code == 400


def test_keys_are_scoped_per_org(api: Api, second_org: str) -> None:
    mine = send(api, IDENTITY, BODIES[IDENTITY], "key-1")

    theirs = send(api, IDENTITY, CHANGED[IDENTITY], "key-1", token=second_org)
    again = send(api, IDENTITY, BODIES[IDENTITY], "key-1", token=second_org)

    assert theirs.status_code == 201
    assert theirs.json()["data"]["attributes"]["status"] == "created"
    customer = theirs.json()["data"]["relationships"]["customer"]["data"]
    assert customer != mine.json()["data"]["relationships"]["customer"]["data"]
    assert again.status_code == 409


def test_a_refused_request_does_not_use_up_its_key(api: Api) -> None:
    refused = send(api, EVENT, {"name": "x"}, "key-1")

    accepted = send(api, EVENT, {"name": "page-viewed"}, "key-1")

    assert refused.status_code == 400
    assert accepted.status_code == 204


def test_without_a_key_a_repeat_is_stored_again(api: Api) -> None:
    api.post(EVENT, {"name": "page-viewed"}, key=api.tracking_key)

    api.post(EVENT, {"name": "page-viewed"}, key=api.tracking_key)

    assert row_counts(api)["events"] == 2


def test_after_the_window_the_key_is_fresh(api: Api, clock: Clock) -> None:
    first = send(api, EVENT, {"name": "page-viewed"}, "key-1")
    clock.now = T0 + 24 * HOUR + 1

    later = send(api, EVENT, {"name": "checkout-started"}, "key-1")

    assert first.status_code == later.status_code == 204
    assert row_counts(api)["events"] == 2


def test_within_the_window_the_key_still_holds(api: Api, clock: Clock) -> None:
    send(api, EVENT, {"name": "page-viewed"}, "key-1")
    clock.now = T0 + 23 * HOUR

    later = send(api, EVENT, {"name": "checkout-started"}, "key-1")

    assert later.status_code == 409


def test_after_erasure_a_repeat_is_a_new_call(api: Api) -> None:
    first = send(api, IDENTITY, BODIES[IDENTITY], "key-1")
    erased = first.json()["data"]["relationships"]["customer"]["data"]["id"]
    api.client.delete(f"/v1/customers/{erased}", headers=api.headers())

    repeat = send(api, IDENTITY, BODIES[IDENTITY], "key-1")

    assert repeat.status_code == 201
    assert erased not in repeat.text
    assert repeat.json()["data"]["attributes"]["status"] == "created"


def test_parallel_repeats_store_once_and_answer_alike(api: Api) -> None:
    barrier = threading.Barrier(4)

    def call() -> Response:
        barrier.wait()
        return send(api, IDENTITY_EVENT, BODIES[IDENTITY_EVENT], "key-1")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = [future.result() for future in [pool.submit(call) for _ in range(4)]]

    first = answer_of(answers[0])
    assert [answer_of(a) for a in answers] == [first] * 4
    assert answers[0].status_code == 201
    # One tracking event and one create record.
    assert row_counts(api)["events"] == 2
    assert row_counts(api)["customers"] == 1
