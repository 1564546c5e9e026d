"""The three tracking calls of SPEC 4.3: status codes, shapes, sessions."""

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from harness import Api, make_api
from trackway.api import tracking
from trackway.store import writer
from trackway.store.tables import metadata

IDENTITY = "/v1/tracking/identity"
EVENT = "/v1/tracking/event"
IDENTITY_EVENT = "/v1/tracking/identityEvent"
SERVER_ID = re.compile(r"[0-9a-f]{24}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PAGE_VIEWED = {"name": "page-viewed"}
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
MINUTE = 60_000


class Clock:
    """The server's idea of now, moved by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the receive time of events and the time of writes."""
    frozen = Clock(T0)
    monkeypatch.setattr(tracking, "now_ms", frozen)
    monkeypatch.setattr(writer, "now_ms", frozen)
    return frozen


@pytest.fixture
def lenient_api(second_database_url: str) -> Iterator[Api]:
    """A second server beside `api`, with its own database."""
    yield from make_api(second_database_url, meta_rules="lenient")


@pytest.fixture
def short_gap_api(database_url: str) -> Iterator[Api]:
    yield from make_api(database_url, session_gap_minutes=5)


def count(api: Api, table_name: str) -> int:
    table = metadata.tables[table_name]
    with api.database.read() as connection:
        found: int = connection.execute(
            select(func.count()).select_from(table)
        ).scalar_one()
    return found


def row_counts(api: Api) -> dict[str, int]:
    names = [t.name for t in metadata.sorted_tables]
    return {name: count(api, name) for name in names}


def timeline(api: Api, customer_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200
    return [entry["attributes"] for entry in response.json()["data"]]


def tracking_events(api: Api, customer_id: str) -> list[dict[str, Any]]:
    entries = timeline(api, customer_id)
    return [e for e in entries if "trackingEvent" in e]


def customer_of(resource: dict[str, Any]) -> str:
    customer: str = resource["relationships"]["customer"]["data"]["id"]
    return customer


class TestIdentity:
    def test_a_new_identifier_is_201_with_status_created(self, api: Api) -> None:
        response = api.post(
            IDENTITY, {"email": "Jane@Example.com"}, key=api.tracking_key
        )

        assert response.status_code == 201
        assert response.headers["content-type"] == "application/json"
        data = response.json()["data"]
        assert data["type"] == "identity"
        assert SERVER_ID.fullmatch(data["id"])
        assert data["links"] == {"self": f"/v1/tracking/identity/{data['id']}"}
        attributes = data["attributes"]
        assert set(attributes) == {
            "trackingId",
            "sessionId",
            "email",
            "status",
            "statusAt",
            "createdAt",
            "updatedAt",
        }
        assert attributes["status"] == "created"
        assert attributes["email"] == "jane@example.com"
        for name in ("statusAt", "createdAt", "updatedAt"):
            assert TIME.fullmatch(attributes[name])

    def test_relationships_name_the_org_and_the_customer(self, api: Api) -> None:
        response = api.post(IDENTITY, {"externalId": "crm-1"}, key=api.tracking_key)

        relationships = response.json()["data"]["relationships"]
        customer_id = relationships["customer"]["data"]["id"]
        assert relationships == {
            "org": {
                "data": {"type": "org", "id": api.org_id},
                "links": {"self": f"/v1/orgs/{api.org_id}"},
            },
            "customer": {
                "data": {"type": "customer", "id": customer_id},
                "links": {"self": f"/v1/customers/{customer_id}"},
            },
        }
        assert api.get(f"/v1/customers/{customer_id}").status_code == 200

    def test_a_known_identifier_is_status_updated_for_that_customer(
        self, api: Api
    ) -> None:
        first = api.post(IDENTITY, {"email": "jane@example.com"}, api.tracking_key)

        second = api.post(
            IDENTITY,
            {"email": "jane@example.com", "name": "Jane"},
            api.tracking_key,
        )

        assert second.status_code == 201
        assert second.json()["data"]["attributes"]["status"] == "updated"
        assert customer_of(second.json()["data"]) == customer_of(first.json()["data"])
        assert count(api, "customers") == 1

    def test_no_identifier_is_status_anonymous_with_no_customer(self, api: Api) -> None:
        response = api.post(IDENTITY, {"name": "Jane"}, key=api.tracking_key)

        assert response.status_code == 201
        data = response.json()["data"]
        assert data["attributes"]["status"] == "anonymous"
        assert data["attributes"]["email"] is None
        assert data["relationships"]["customer"] == {"data": None}
        assert count(api, "customers") == 0

    def test_the_server_makes_a_tracking_id_when_none_is_sent(self, api: Api) -> None:
        response = api.post(IDENTITY, {}, key=api.tracking_key)

        attributes = response.json()["data"]["attributes"]
        assert SERVER_ID.fullmatch(attributes["trackingId"])
        assert SERVER_ID.fullmatch(attributes["sessionId"])

    def test_client_ids_are_kept_as_sent(self, api: Api) -> None:
        body = {"trackingId": "visitor/Ä 1", "sessionId": "tab:7", "name": "J"}

        response = api.post(IDENTITY, body, key=api.tracking_key)

        attributes = response.json()["data"]["attributes"]
        assert attributes["trackingId"] == "visitor/Ä 1"
        assert attributes["sessionId"] == "tab:7"

    def test_one_identity_record_per_tracking_id(self, api: Api) -> None:
        first = api.post(IDENTITY, {"trackingId": "v-1"}, key=api.tracking_key)

        second = api.post(
            IDENTITY,
            {"trackingId": "v-1", "email": "jane@example.com"},
            key=api.tracking_key,
        )

        assert second.json()["data"]["id"] == first.json()["data"]["id"]
        assert second.json()["data"]["attributes"]["status"] == "created"
        assert count(api, "visitors") == 1

    def test_any_json_charset_is_accepted(self, api: Api) -> None:
        response = api.client.post(
            IDENTITY,
            content=json.dumps({"email": "jane@example.com"}).encode(),
            headers={
                **api.headers(api.tracking_key),
                "Content-Type": "application/json; charset=UTF-8",
            },
        )

        assert response.status_code == 201


class TestEvent:
    def test_an_event_is_204_with_server_made_ids(self, api: Api) -> None:
        response = api.post(EVENT, PAGE_VIEWED, key=api.tracking_key)

        assert response.status_code == 204
        assert response.content == b""
        assert SERVER_ID.fullmatch(response.headers["X-Tracking-Id"])
        assert SERVER_ID.fullmatch(response.headers["X-Session-Id"])
        assert count(api, "events") == 1

    def test_client_ids_come_back_in_the_headers(self, api: Api) -> None:
        body = {**PAGE_VIEWED, "trackingId": "v-1", "sessionId": "s-1"}

        response = api.post(EVENT, body, key=api.tracking_key)

        assert response.headers["X-Tracking-Id"] == "v-1"
        assert response.headers["X-Session-Id"] == "s-1"

    def test_ids_beyond_printable_ascii_come_back_percent_encoded(
        self, api: Api
    ) -> None:
        body = {**PAGE_VIEWED, "trackingId": "訪問者-1", "sessionId": "50%"}

        response = api.post(EVENT, body, key=api.tracking_key)

        assert response.status_code == 204
        assert unquote(response.headers["X-Tracking-Id"]) == "訪問者-1"
        assert response.headers["X-Session-Id"] == "50%25"

    @pytest.mark.parametrize(
        "tracking_id", ["a\r\nb", "x\u007fy", "a\u0001b", "a\u0085b", "a\u2028b"]
    )
    def test_an_id_with_a_control_character_is_400_and_stores_nothing(
        self, api: Api, tracking_id: str
    ) -> None:
        body = {**PAGE_VIEWED, "trackingId": tracking_id}

        response = api.post(EVENT, body, key=api.tracking_key)

        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["source"] == {"pointer": "/trackingId"}
        assert error["detail"] == "trackingId must not contain control characters"
        assert count(api, "events") == 0

    @pytest.mark.parametrize("tracking_id", ["undefined", "null", " ", "0", "NaN"])
    def test_a_placeholder_tracking_id_is_400_and_stores_nothing(
        self, api: Api, tracking_id: str
    ) -> None:
        """A placeholder would make every stranger who sends it one visitor."""
        body = {**PAGE_VIEWED, "trackingId": tracking_id}

        response = api.post(EVENT, body, key=api.tracking_key)

        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["detail"] == "trackingId has a placeholder value, not an id"
        assert count(api, "events") == 0

    def test_a_visitor_without_session_id_continues_its_session(self, api: Api) -> None:
        body = {**PAGE_VIEWED, "trackingId": "v-1"}

        first = api.post(EVENT, body, key=api.tracking_key)
        second = api.post(EVENT, body, key=api.tracking_key)

        assert second.headers["X-Session-Id"] == first.headers["X-Session-Id"]

    def test_an_event_after_an_identity_call_joins_its_session(self, api: Api) -> None:
        identity = api.post(
            IDENTITY,
            {"trackingId": "v-1", "email": "jane@example.com"},
            key=api.tracking_key,
        )

        event = api.post(
            EVENT, {**PAGE_VIEWED, "trackingId": "v-1"}, key=api.tracking_key
        )

        session_id = identity.json()["data"]["attributes"]["sessionId"]
        assert event.headers["X-Session-Id"] == session_id
        [recorded] = tracking_events(api, customer_of(identity.json()["data"]))
        assert recorded["sessionId"] == session_id
        assert recorded["trackingEvent"] == "tracking.page-viewed"

    def test_an_event_of_a_new_visitor_creates_no_customer(self, api: Api) -> None:
        api.post(EVENT, PAGE_VIEWED, key=api.tracking_key)

        assert count(api, "customers") == 0


class TestIdentityEvent:
    def test_the_event_takes_the_identity_s_ids(self, api: Api) -> None:
        body = {
            "identity": {"trackingId": "v-1", "email": "jane@example.com"},
            "event": {**PAGE_VIEWED, "meta": {"cartNum": 3}},
        }

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        assert response.status_code == 201
        data = response.json()["data"]
        assert data["attributes"]["status"] == "created"
        [recorded] = tracking_events(api, customer_of(data))
        assert recorded["trackingId"] == "v-1"
        assert recorded["sessionId"] == data["attributes"]["sessionId"]
        assert recorded["meta"] == {"cartNum": 3}

    def test_the_event_takes_server_made_ids_of_the_identity(self, api: Api) -> None:
        body = {"identity": {"email": "jane@example.com"}, "event": PAGE_VIEWED}

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        attributes = response.json()["data"]["attributes"]
        [recorded] = tracking_events(api, customer_of(response.json()["data"]))
        assert recorded["trackingId"] == attributes["trackingId"]
        assert recorded["sessionId"] == attributes["sessionId"]

    def test_an_event_naming_its_own_session_keeps_it(self, api: Api) -> None:
        body = {
            "identity": {"trackingId": "v-1", "email": "jane@example.com"},
            "event": {**PAGE_VIEWED, "sessionId": "checkout-tab"},
        }

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        [recorded] = tracking_events(api, customer_of(response.json()["data"]))
        assert recorded["sessionId"] == "checkout-tab"
        assert recorded["trackingId"] == "v-1"
        assert response.json()["data"]["attributes"]["sessionId"] == "checkout-tab"

    def test_the_identity_takes_the_event_s_tracking_id(self, api: Api) -> None:
        body = {
            "identity": {"email": "jane@example.com"},
            "event": {**PAGE_VIEWED, "trackingId": "v-2"},
        }

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        assert response.json()["data"]["attributes"]["trackingId"] == "v-2"
        [recorded] = tracking_events(api, customer_of(response.json()["data"]))
        assert recorded["trackingId"] == "v-2"

    def test_ids_that_differ_between_identity_and_event_are_400(self, api: Api) -> None:
        body = {
            "identity": {"trackingId": "v-1", "sessionId": "s-1", "email": "j@x.io"},
            "event": {**PAGE_VIEWED, "trackingId": "v-2", "sessionId": "s-2"},
        }

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        assert response.status_code == 400
        pointers = [e["source"]["pointer"] for e in response.json()["errors"]]
        assert pointers == ["/event/trackingId", "/event/sessionId"]
        assert count(api, "customers") == count(api, "events") == 0
        assert count(api, "visitors") == 0

    def test_an_anonymous_identity_records_an_anonymous_event(self, api: Api) -> None:
        body = {"identity": {"trackingId": "v-1"}, "event": PAGE_VIEWED}

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        assert response.status_code == 201
        data = response.json()["data"]
        assert data["attributes"]["status"] == "anonymous"
        assert data["relationships"]["customer"] == {"data": None}
        assert count(api, "events") == 1
        assert count(api, "customers") == 0

    @pytest.mark.parametrize(
        "body",
        [
            {
                "identity": {"email": "jane@example.com", "name": "Jane"},
                "event": {"name": "page viewed"},
            },
            {
                "identity": {"email": "jane@example.com"},
                "event": {**PAGE_VIEWED, "meta": {"cartNum": "three"}},
            },
            {
                "identity": {"email": "undefined", "name": "Jane"},
                "event": PAGE_VIEWED,
            },
            {"identity": {"email": "jane@example.com"}},
            {"event": PAGE_VIEWED},
        ],
        ids=[
            "bad event name",
            "bad meta",
            "bad identity",
            "no event",
            "no identity",
        ],
    )
    def test_both_or_neither_is_stored(self, api: Api, body: object) -> None:
        before = row_counts(api)

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        assert response.status_code == 400
        assert row_counts(api) == before

    def test_a_valid_retry_after_a_refusal_stores_both(self, api: Api) -> None:
        identity = {"trackingId": "v-1", "email": "jane@example.com"}
        refused = {"identity": identity, "event": {"name": "x"}}
        api.post(IDENTITY_EVENT, refused, key=api.tracking_key)

        response = api.post(
            IDENTITY_EVENT,
            {"identity": identity, "event": PAGE_VIEWED},
            key=api.tracking_key,
        )

        assert response.json()["data"]["attributes"]["status"] == "created"
        assert len(tracking_events(api, customer_of(response.json()["data"]))) == 1


class TestMetaRules:
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            (EVENT, {**PAGE_VIEWED, "meta": {"cart": 3}}),
            (EVENT, {**PAGE_VIEWED, "meta": {"cartNum": "3"}}),
            (EVENT, {**PAGE_VIEWED, "meta": {"paidBool": "yes"}}),
            (EVENT, {**PAGE_VIEWED, "meta": {"paidAt": "tuesday"}}),
            (IDENTITY, {"email": "jane@example.com", "custom": {"ageNum": "ten"}}),
            (IDENTITY, {"email": "jane@example.com", "custom": {"vip": True}}),
        ],
    )
    def test_lenient_rules_accept_what_strict_rules_refuse(
        self, api: Api, lenient_api: Api, path: str, body: dict[str, Any]
    ) -> None:
        strict = api.post(path, body, key=api.tracking_key)
        lenient = lenient_api.post(path, body, key=lenient_api.tracking_key)

        assert strict.status_code == 400
        assert lenient.status_code in (201, 204)

    def test_lenient_meta_is_stored_as_sent(self, lenient_api: Api) -> None:
        meta = {"cart": 3, "paidBool": "yes", "ratio": 0.25, "gone": None}
        body = {
            "identity": {"email": "jane@example.com"},
            "event": {"name": "pv", "meta": meta},
        }

        response = lenient_api.post(IDENTITY_EVENT, body, lenient_api.tracking_key)

        customer_id = customer_of(response.json()["data"])
        [recorded] = tracking_events(lenient_api, customer_id)
        assert recorded["meta"] == meta

    @pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
    def test_lenient_rules_still_refuse_nested_values(
        self, lenient_api: Api, value: object
    ) -> None:
        body = {**PAGE_VIEWED, "meta": {"cart": value}}

        response = lenient_api.post(EVENT, body, key=lenient_api.tracking_key)

        assert response.status_code == 400
        assert count(lenient_api, "events") == 0

    def test_strict_date_times_in_meta_come_back_in_utc(self, api: Api) -> None:
        body = {
            "identity": {"email": "jane@example.com"},
            "event": {**PAGE_VIEWED, "meta": {"paidAt": "2026-12-03T11:00:00+01:00"}},
        }

        response = api.post(IDENTITY_EVENT, body, key=api.tracking_key)

        [recorded] = tracking_events(api, customer_of(response.json()["data"]))
        assert recorded["meta"] == {"paidAt": "2026-12-03T10:00:00.000Z"}


class TestTransport:
    def test_a_gzip_identity_call_is_201(self, api: Api) -> None:
        packed = gzip.compress(json.dumps({"email": "jane@example.com"}).encode())

        response = api.client.post(
            IDENTITY,
            content=packed,
            headers={
                **api.headers(api.tracking_key),
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )

        assert response.status_code == 201
        assert response.json()["data"]["attributes"]["email"] == "jane@example.com"

    def test_a_beacon_event_as_text_plain_is_204(self, api: Api) -> None:
        response = api.client.post(
            EVENT,
            content=json.dumps(PAGE_VIEWED).encode(),
            headers={**api.headers(api.tracking_key), "Content-Type": "text/plain"},
        )

        assert response.status_code == 204

    @pytest.mark.parametrize(
        ("path", "body", "status"),
        [
            (IDENTITY + "/", {"email": "jane@example.com"}, 201),
            (EVENT + "/", PAGE_VIEWED, 204),
            (IDENTITY_EVENT + "/", {"identity": {}, "event": PAGE_VIEWED}, 201),
        ],
    )
    def test_a_trailing_slash_is_accepted(
        self, api: Api, path: str, body: object, status: int
    ) -> None:
        response = api.post(path, body, key=api.tracking_key)

        assert response.status_code == status

    def test_the_admin_key_may_track(self, api: Api) -> None:
        response = api.post(EVENT, PAGE_VIEWED, key=api.admin_key)

        assert response.status_code == 204

    def test_a_tracking_key_cannot_read_what_it_wrote(self, api: Api) -> None:
        answer = api.post(IDENTITY, {"email": "jane@example.com"}, api.tracking_key)

        read = api.get(
            f"/v1/customers/{customer_of(answer.json()['data'])}",
            key=api.tracking_key,
        )

        assert read.status_code == 403


class TestSessions:
    def post_at(self, api: Api, clock: Clock, at: int, **event: str) -> str:
        clock.now = at
        body = {**PAGE_VIEWED, "trackingId": "v-1", **event}
        response = api.post(EVENT, body, key=api.tracking_key)
        assert response.status_code == 204
        return response.headers["X-Session-Id"]

    def test_events_within_30_minutes_share_a_session(
        self, api: Api, clock: Clock
    ) -> None:
        first = self.post_at(api, clock, T0)

        second = self.post_at(api, clock, T0 + 30 * MINUTE)

        assert second == first

    def test_an_event_after_more_than_30_minutes_starts_a_session(
        self, api: Api, clock: Clock
    ) -> None:
        first = self.post_at(api, clock, T0)

        second = self.post_at(api, clock, T0 + 30 * MINUTE + 1)

        assert second != first
        assert SERVER_ID.fullmatch(second)

    def test_the_gap_is_measured_from_the_last_event(
        self, api: Api, clock: Clock
    ) -> None:
        first = self.post_at(api, clock, T0)
        self.post_at(api, clock, T0 + 20 * MINUTE)

        third = self.post_at(api, clock, T0 + 45 * MINUTE)

        assert third == first

    def test_the_gap_is_a_setting(self, short_gap_api: Api, clock: Clock) -> None:
        first = self.post_at(short_gap_api, clock, T0)

        second = self.post_at(short_gap_api, clock, T0 + 6 * MINUTE)

        assert second != first

    def test_a_client_session_id_is_used_whatever_the_gap(
        self, api: Api, clock: Clock
    ) -> None:
        self.post_at(api, clock, T0, sessionId="tab-1")

        later = self.post_at(api, clock, T0 + 90 * MINUTE, sessionId="tab-1")

        assert later == "tab-1"

    def test_sessions_of_a_customer_are_listed_with_counts_and_times(
        self, api: Api, clock: Clock
    ) -> None:
        identity = {"trackingId": "v-1", "email": "jane@example.com"}
        answer = api.post(IDENTITY, identity, key=api.tracking_key)
        customer_id = customer_of(answer.json()["data"])
        first = self.post_at(api, clock, T0)
        self.post_at(api, clock, T0 + 10 * MINUTE)
        second = self.post_at(api, clock, T0 + 60 * MINUTE)

        listed = api.get(f"/v1/customers/{customer_id}/sessions").json()["data"]

        assert [s["attributes"] for s in listed] == [
            {
                "sessionId": second,
                "firstEventAt": "2026-12-03T11:00:00.000Z",
                "lastEventAt": "2026-12-03T11:00:00.000Z",
                "count": 1,
            },
            {
                "sessionId": first,
                "firstEventAt": "2026-12-03T10:00:00.000Z",
                "lastEventAt": "2026-12-03T10:10:00.000Z",
                "count": 2,
            },
        ]

    def test_event_times_are_the_receive_time(self, api: Api, clock: Clock) -> None:
        identity = {"trackingId": "v-1", "email": "jane@example.com"}
        answer = api.post(IDENTITY, identity, key=api.tracking_key)

        self.post_at(api, clock, T0 + 5 * MINUTE)

        [recorded] = tracking_events(api, customer_of(answer.json()["data"]))
        assert recorded["publishedAt"] == "2026-12-03T10:05:00.000Z"
