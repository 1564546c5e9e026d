"""Identity resolution (SPEC 5) as a client sees it through the API."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import func, select

from harness import Api
from trackway.api import tracking
from trackway.domain import roles
from trackway.store import accounts, writer
from trackway.store.tables import customers

IDENTITY = "/v1/tracking/identity"
EVENT = "/v1/tracking/event"
IDENTITY_EVENT = "/v1/tracking/identityEvent"
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
MINUTE = 60_000
DAY = 24 * 60 * MINUTE


class Clock:
    """The server's idea of now, moved by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(T0)
    monkeypatch.setattr(tracking, "now_ms", frozen)
    monkeypatch.setattr(writer, "now_ms", frozen)
    return frozen


def identify(api: Api, identity: dict[str, Any]) -> dict[str, Any]:
    """The identity resource of a call that must succeed."""
    response = api.post(IDENTITY, identity, key=api.tracking_key)
    assert response.status_code == 201, response.text
    resource: dict[str, Any] = response.json()["data"]
    return resource


def track(api: Api, name: str, **ids: str) -> Response:
    response = api.post(EVENT, {"name": name, **ids}, key=api.tracking_key)
    assert response.status_code == 204, response.text
    return response


def customer_of(resource: dict[str, Any]) -> str | None:
    data = resource["relationships"]["customer"]["data"]
    return None if data is None else str(data["id"])


def document(api: Api, customer_id: str | None) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def attributes(api: Api, customer_id: str | None) -> dict[str, Any]:
    found: dict[str, Any] = document(api, customer_id)["data"]["attributes"]
    return found


def timeline(api: Api, customer_id: str | None) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


def tracking_events(api: Api, customer_id: str | None) -> list[dict[str, Any]]:
    entries = [e["attributes"] for e in timeline(api, customer_id)]
    return [e for e in entries if "trackingEvent" in e]


def change_records(api: Api, customer_id: str | None) -> list[dict[str, Any]]:
    entries = [e["attributes"] for e in timeline(api, customer_id)]
    return [e for e in entries if e.get("type") == "customer"]


def event_names(api: Api, customer_id: str | None) -> set[str]:
    return {e["trackingEvent"] for e in tracking_events(api, customer_id)}


def sessions(api: Api, customer_id: str | None) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{customer_id}/sessions")
    assert response.status_code == 200
    return [s["attributes"] for s in response.json()["data"]]


def customer_count(api: Api) -> int:
    with api.database.read() as connection:
        found: int = connection.execute(
            select(func.count()).select_from(customers)
        ).scalar_one()
    return found


def in_parallel(calls: list[Callable[[], Response]]) -> list[Response]:
    """Run `calls` at once, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Response]) -> Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


class TestConcurrency:
    @pytest.mark.parametrize("attempt", range(5))
    def test_two_first_calls_of_a_new_visitor_make_one_customer(
        self, api: Api, attempt: int
    ) -> None:
        visitor = f"v-{attempt}"
        identified = {
            "identity": {"trackingId": visitor, "email": "jane@example.com"},
            "event": {"name": "signed-in"},
        }
        anonymous = {"name": "page-viewed", "trackingId": visitor}

        answers = in_parallel(
            [
                lambda: api.post(IDENTITY_EVENT, identified, api.tracking_key),
                lambda: api.post(EVENT, anonymous, api.tracking_key),
            ]
        )

        assert [a.status_code for a in answers] == [201, 204]
        customer_id = customer_of(answers[0].json()["data"])
        assert customer_count(api) == 1
        emails = attributes(api, customer_id)["emails"]
        assert [e["email"] for e in emails] == ["jane@example.com"]
        assert event_names(api, customer_id) == {
            "tracking.signed-in",
            "tracking.page-viewed",
        }

    def test_parallel_calls_with_one_new_email_make_one_customer(
        self, api: Api
    ) -> None:
        def call(n: int) -> Callable[[], Response]:
            body = {"trackingId": f"v-{n}", "email": "jane@example.com"}
            return lambda: api.post(IDENTITY, body, api.tracking_key)

        answers = in_parallel([call(n) for n in range(6)])

        assert {a.status_code for a in answers} == {201}
        resources = [a.json()["data"] for a in answers]
        assert len({customer_of(r) for r in resources}) == 1
        statuses = sorted(r["attributes"]["status"] for r in resources)
        assert statuses == ["created"] + ["updated"] * 5
        assert customer_count(api) == 1


class TestAttribution:
    def test_anonymous_events_join_the_customer_at_their_original_times(
        self, api: Api, clock: Clock
    ) -> None:
        for minute, name in enumerate(["landed", "searched", "added-to-cart"]):
            clock.now = T0 + minute * MINUTE
            track(api, name, trackingId="v-1")
        clock.now = T0 + 10 * MINUTE

        resource = identify(api, {"trackingId": "v-1", "email": "jane@example.com"})

        customer_id = customer_of(resource)
        [session] = sessions(api, customer_id)
        assert session["count"] == 3
        assert session["firstEventAt"] == "2026-12-03T10:00:00.000Z"
        assert session["lastEventAt"] == "2026-12-03T10:02:00.000Z"
        events = tracking_events(api, customer_id)
        assert [(e["trackingEvent"], e["publishedAt"]) for e in events] == [
            ("tracking.added-to-cart", "2026-12-03T10:02:00.000Z"),
            ("tracking.searched", "2026-12-03T10:01:00.000Z"),
            ("tracking.landed", "2026-12-03T10:00:00.000Z"),
        ]
        assert {e["sessionId"] for e in events} == {session["sessionId"]}

    def test_the_session_lists_the_attributed_events(
        self, api: Api, clock: Clock
    ) -> None:
        for minute in range(3):
            clock.now = T0 + minute * MINUTE
            track(api, "page-viewed", trackingId="v-1", sessionId="s-1")
        resource = identify(api, {"trackingId": "v-1", "email": "jane@example.com"})
        customer_id = customer_of(resource)

        response = api.get(f"/v1/customers/{customer_id}/sessions/s-1/events")

        assert response.status_code == 200
        published = [e["attributes"]["publishedAt"] for e in response.json()["data"]]
        assert published == [
            "2026-12-03T10:02:00.000Z",
            "2026-12-03T10:01:00.000Z",
            "2026-12-03T10:00:00.000Z",
        ]

    def test_anonymous_events_older_than_the_retention_stay_anonymous(
        self, api: Api, clock: Clock
    ) -> None:
        track(api, "long-ago", trackingId="v-1", sessionId="s-old")
        clock.now = T0 + 29 * DAY
        track(api, "recently", trackingId="v-1", sessionId="s-new")
        clock.now = T0 + 31 * DAY

        resource = identify(api, {"trackingId": "v-1", "email": "jane@example.com"})

        customer_id = customer_of(resource)
        assert event_names(api, customer_id) == {"tracking.recently"}
        assert [s["sessionId"] for s in sessions(api, customer_id)] == ["s-new"]

    def test_later_events_of_a_bound_visitor_belong_to_the_customer(
        self, api: Api
    ) -> None:
        resource = identify(api, {"trackingId": "v-1", "email": "jane@example.com"})

        track(api, "checkout-started", trackingId="v-1")

        [event] = tracking_events(api, customer_of(resource))
        assert event["name"] == "kustomer.tracking.identified.event"
        assert event["trackingEvent"] == "tracking.checkout-started"
        assert event["trackingId"] == "v-1"

    def test_a_visitor_rebound_to_b_leaves_a_untouched(self, api: Api) -> None:
        a = customer_of(identify(api, {"trackingId": "v-1", "email": "a@example.com"}))
        track(api, "seen-by-a", trackingId="v-1")
        a_before = document(api, a)
        a_timeline = timeline(api, a)
        a_sessions = sessions(api, a)

        b = customer_of(identify(api, {"trackingId": "v-1", "email": "b@example.com"}))
        track(api, "seen-by-b", trackingId="v-1")

        assert b != a
        assert document(api, a) == a_before
        assert timeline(api, a) == a_timeline
        assert sessions(api, a) == a_sessions
        assert event_names(api, b) == {"tracking.seen-by-b"}
        assert [e["email"] for e in attributes(api, b)["emails"]] == ["b@example.com"]

    def test_a_visitor_rebound_to_b_starts_a_new_session(self, api: Api) -> None:
        a = customer_of(identify(api, {"trackingId": "v-1", "email": "a@example.com"}))
        first = track(api, "seen-by-a", trackingId="v-1")

        b = customer_of(identify(api, {"trackingId": "v-1", "email": "b@example.com"}))
        second = track(api, "seen-by-b", trackingId="v-1")

        assert second.headers["X-Session-Id"] != first.headers["X-Session-Id"]
        assert [s["count"] for s in sessions(api, a)] == [1]
        assert [s["count"] for s in sessions(api, b)] == [1]


class TestMatching:
    def test_external_id_of_a_and_email_of_b_picks_a(self, api: Api) -> None:
        a = customer_of(identify(api, {"externalId": "crm-a", "name": "Ann"}))
        b = customer_of(identify(api, {"email": "bob@example.com", "name": "Bob"}))
        b_before = document(api, b)

        resource = identify(
            api, {"externalId": "crm-a", "email": "bob@example.com", "company": "X"}
        )

        assert customer_of(resource) == a
        assert resource["attributes"]["status"] == "updated"
        assert resource["attributes"]["email"] is None
        assert attributes(api, a)["emails"] == []
        assert attributes(api, a)["company"] == "X"
        assert document(api, b) == b_before
        assert customer_count(api) == 2

    def test_email_of_a_and_phone_of_b_picks_a(self, api: Api) -> None:
        a = customer_of(identify(api, {"email": "ann@example.com"}))
        b = customer_of(identify(api, {"phone": "+14155550100"}))

        resource = identify(api, {"email": "ann@example.com", "phone": "+14155550100"})

        assert customer_of(resource) == a
        assert attributes(api, a)["phones"] == []
        assert [p["phone"] for p in attributes(api, b)["phones"]] == ["+14155550100"]

    def test_a_new_identifier_is_added_to_the_matched_customer(self, api: Api) -> None:
        a = customer_of(identify(api, {"email": "ann@example.com"}))

        identify(api, {"email": "ann@example.com", "externalId": "crm-a"})
        by_external_id = api.get("/v1/customers/externalId=crm-a")

        assert attributes(api, a)["externalId"] == "crm-a"
        assert by_external_id.json()["data"]["id"] == a

    def test_a_second_external_id_is_not_given_to_a_customer(self, api: Api) -> None:
        a = customer_of(identify(api, {"email": "ann@example.com", "externalId": "x1"}))

        identify(api, {"email": "ann@example.com", "externalId": "x2"})

        assert attributes(api, a)["externalId"] == "x1"
        assert api.get("/v1/customers/externalId=x2").status_code == 404


class TestPendingTraits:
    def test_a_call_without_identifier_creates_no_customer(self, api: Api) -> None:
        resource = identify(api, {"trackingId": "v-1", "name": "Jane Roe"})

        assert resource["attributes"]["status"] == "anonymous"
        assert customer_of(resource) is None
        assert customer_count(api) == 0

    def test_its_traits_are_applied_when_the_visitor_is_identified(
        self, api: Api
    ) -> None:
        identify(
            api,
            {"trackingId": "v-1", "name": "Jane Roe", "tags": ["trial"]},
        )
        identify(api, {"trackingId": "v-1", "company": "Acme", "tags": ["vip"]})

        resource = identify(api, {"trackingId": "v-1", "email": "jane@example.com"})

        found = attributes(api, customer_of(resource))
        assert found["name"] == "Jane Roe"
        assert found["company"] == "Acme"
        assert found["tags"] == ["trial", "vip"]
        assert found["rev"] == 1

    def test_traits_of_the_identifying_call_win_over_pending_ones(
        self, api: Api
    ) -> None:
        identify(api, {"trackingId": "v-1", "name": "Jane"})

        resource = identify(
            api, {"trackingId": "v-1", "email": "jane@example.com", "name": "Jane Roe"}
        )

        assert attributes(api, customer_of(resource))["name"] == "Jane Roe"

    def test_a_bound_visitor_s_call_without_identifier_updates_its_customer(
        self, api: Api
    ) -> None:
        jane = customer_of(
            identify(api, {"trackingId": "v-1", "email": "j@example.com"})
        )

        resource = identify(api, {"trackingId": "v-1", "company": "Acme"})

        assert resource["attributes"]["status"] == "updated"
        assert customer_of(resource) == jane
        assert attributes(api, jane)["company"] == "Acme"

    def test_pending_traits_go_to_an_existing_customer_too(self, api: Api) -> None:
        jane = customer_of(identify(api, {"email": "jane@example.com"}))
        identify(api, {"trackingId": "v-2", "company": "Acme"})

        identify(api, {"trackingId": "v-2", "email": "jane@example.com"})

        assert attributes(api, jane)["company"] == "Acme"
        assert attributes(api, jane)["rev"] == 2


class TestChangeRecords:
    def test_a_call_that_changes_nothing_records_nothing(self, api: Api) -> None:
        identity = {
            "email": "jane@example.com",
            "name": "Jane",
            "tags": ["vip"],
            "custom": {"planStr": "pro"},
            "location": {"type": "home", "cityName": "Oslo"},
        }
        customer_id = customer_of(identify(api, identity))
        before = document(api, customer_id)
        entries = timeline(api, customer_id)

        again = identify(api, identity)

        assert again["attributes"]["status"] == "updated"
        assert document(api, customer_id) == before
        assert timeline(api, customer_id) == entries

    def test_the_same_values_spelled_differently_change_nothing(self, api: Api) -> None:
        customer_id = customer_of(
            identify(
                api,
                {
                    "email": "jane@example.com",
                    "phone": "+14155550100",
                    "signedUpAt": "2024-01-04T11:45:38Z",
                    "birthdayAt": "1992-07-04",
                    "custom": {"renewalAt": "2026-01-01T00:00:00Z"},
                    "tags": ["vip"],
                },
            )
        )
        before = document(api, customer_id)

        identify(
            api,
            {
                "email": " JANE@example.COM ",
                "phone": "+1 (415) 555-0100",
                "signedUpAt": "2024-01-04T12:45:38.000+01:00",
                "birthdayAt": "1992-07-04T08:00:00-07:00",
                "custom": {"renewalAt": "2025-12-31T19:00:00-05:00"},
                "tags": ["vip", "vip"],
            },
        )

        assert document(api, customer_id) == before
        assert len(change_records(api, customer_id)) == 1

    def test_creation_is_one_create_record_at_rev_1(self, api: Api) -> None:
        customer_id = customer_of(identify(api, {"email": "jane@example.com"}))

        [record] = change_records(api, customer_id)

        assert record["name"] == "kustomer.customer.create"
        assert record["changes"] is None
        assert attributes(api, customer_id)["rev"] == 1

    def test_each_change_is_recorded_with_op_before_and_after(self, api: Api) -> None:
        email = "jane@example.com"
        customer_id = customer_of(identify(api, {"email": email}))

        identify(api, {"email": email, "name": "Jane", "custom": {"planStr": "a"}})
        identify(api, {"email": email, "name": "Jane Roe", "custom": {"planStr": None}})

        records = change_records(api, customer_id)
        assert [r["name"] for r in records] == [
            "kustomer.customer.update",
            "kustomer.customer.update",
            "kustomer.customer.create",
        ]
        assert records[1]["changes"] == {
            "attributes": {
                "name": {"op": "add", "before": None, "after": "Jane"},
                "custom.planStr": {"op": "add", "before": None, "after": "a"},
            }
        }
        assert records[0]["changes"] == {
            "attributes": {
                "name": {"op": "replace", "before": "Jane", "after": "Jane Roe"},
                "custom.planStr": {"op": "remove", "before": "a", "after": None},
            }
        }
        assert attributes(api, customer_id)["rev"] == 3

    def test_rev_and_update_times_move_with_each_change(
        self, api: Api, clock: Clock
    ) -> None:
        email = "jane@example.com"
        customer_id = customer_of(identify(api, {"email": email}))
        clock.now = T0 + MINUTE

        identify(api, {"email": email, "username": "jroe"})

        found = attributes(api, customer_id)
        assert found["rev"] == 2
        assert found["createdAt"] == "2026-12-03T10:00:00.000Z"
        assert found["updatedAt"] == "2026-12-03T10:01:00.000Z"
        assert found["modifiedAt"] == "2026-12-03T10:01:00.000Z"

    def test_a_change_record_is_readable_by_its_id(self, api: Api) -> None:
        email = "jane@example.com"
        customer_id = customer_of(identify(api, {"email": email}))
        identify(api, {"email": email, "gender": "f"})
        newest = timeline(api, customer_id)[0]

        response = api.get(f"/v1/customers/{customer_id}/events/{newest['id']}")

        assert response.json()["data"] == newest
        assert newest["attributes"]["changes"] == {
            "attributes": {"gender": {"op": "add", "before": None, "after": "f"}}
        }


class TestLists:
    @pytest.mark.parametrize("location", [{}, {"cityName": None, "zipCode": None}])
    def test_an_empty_location_adds_no_location(
        self, api: Api, location: dict[str, Any]
    ) -> None:
        resource = identify(api, {"email": "jane@example.com", "location": location})

        assert attributes(api, customer_of(resource))["locations"] == []

    def test_an_empty_location_changes_nothing(self, api: Api) -> None:
        customer_id = customer_of(identify(api, {"email": "jane@example.com"}))
        entries = timeline(api, customer_id)

        identify(api, {"email": "jane@example.com", "location": {}})

        assert timeline(api, customer_id) == entries
        assert attributes(api, customer_id)["rev"] == 1

    def test_locations_and_tags_are_added_without_duplicates(self, api: Api) -> None:
        oslo = {"type": "home", "cityName": "Oslo"}
        bergen = {"type": "work", "cityName": "Bergen"}
        email = "jane@example.com"
        customer_id = customer_of(
            identify(api, {"email": email, "location": oslo, "tags": ["a", "b"]})
        )

        identify(api, {"email": email, "location": bergen, "tags": ["b", "c"]})
        identify(api, {"email": email, "location": oslo, "tags": ["a"]})

        found = attributes(api, customer_id)
        assert found["locations"] == [oslo, bergen]
        assert found["tags"] == ["a", "b", "c"]
        assert found["rev"] == 2


class TestRemember:
    def test_remember_false_binds_only_the_current_session(self, api: Api) -> None:
        identity = {
            "trackingId": "kiosk",
            "sessionId": "s-1",
            "email": "jane@example.com",
            "remember": False,
        }
        customer_id = customer_of(identify(api, identity))
        track(api, "in-session", trackingId="kiosk", sessionId="s-1")

        track(api, "next-visitor", trackingId="kiosk", sessionId="s-2")

        assert event_names(api, customer_id) == {"tracking.in-session"}
        assert [s["sessionId"] for s in sessions(api, customer_id)] == ["s-1"]

    def test_remember_false_still_attributes_earlier_anonymous_events(
        self, api: Api
    ) -> None:
        track(api, "landed", trackingId="kiosk", sessionId="s-1")

        resource = identify(
            api,
            {
                "trackingId": "kiosk",
                "sessionId": "s-1",
                "email": "jane@example.com",
                "remember": False,
            },
        )

        assert event_names(api, customer_of(resource)) == {"tracking.landed"}

    def test_after_remember_false_a_session_past_the_gap_is_anonymous(
        self, api: Api, clock: Clock
    ) -> None:
        identity = {"trackingId": "kiosk", "email": "jane@example.com"}
        resource = identify(api, {**identity, "remember": False})
        clock.now = T0 + MINUTE
        track(api, "in-session", trackingId="kiosk")

        clock.now = T0 + 45 * MINUTE
        later = track(api, "next-visitor", trackingId="kiosk")

        customer_id = customer_of(resource)
        assert event_names(api, customer_id) == {"tracking.in-session"}
        session_ids = [s["sessionId"] for s in sessions(api, customer_id)]
        assert later.headers["X-Session-Id"] not in session_ids

    def test_remember_true_binds_later_sessions(self, api: Api) -> None:
        identity = {"trackingId": "v-1", "sessionId": "s-1", "email": "j@example.com"}
        customer_id = customer_of(identify(api, identity))

        track(api, "came-back", trackingId="v-1", sessionId="s-2")

        assert event_names(api, customer_id) == {"tracking.came-back"}


class TestScope:
    def test_an_email_known_in_another_org_makes_a_new_customer(self, api: Api) -> None:
        theirs = accounts.create_org(api.database, "globex")
        their_key = accounts.create_key(api.database, theirs, [roles.TRACKING])
        mine = customer_of(identify(api, {"email": "jane@example.com"}))

        response = api.post(IDENTITY, {"email": "jane@example.com"}, key=their_key)

        resource = response.json()["data"]
        assert resource["attributes"]["status"] == "created"
        assert customer_of(resource) != mine
        assert resource["relationships"]["org"]["data"]["id"] == theirs

    def test_an_erased_customer_s_visitor_starts_afresh(self, api: Api) -> None:
        erased = customer_of(
            identify(api, {"trackingId": "v-1", "email": "jane@example.com"})
        )
        assert (
            api.client.delete(
                f"/v1/customers/{erased}", headers=api.headers()
            ).status_code
            == 204
        )

        track(api, "page-viewed", trackingId="v-1")
        again = identify(api, {"trackingId": "v-1", "name": "Someone"})

        assert again["attributes"]["status"] == "anonymous"
        assert customer_count(api) == 0
        assert api.get(f"/v1/customers/{erased}").status_code == 404
