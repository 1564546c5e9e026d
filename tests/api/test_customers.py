"""The read endpoints and erasure, through the whole app."""

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from factories import (
    MINUTE,
    T0,
    add_change,
    add_customer,
    add_event,
    add_session,
    add_visitor,
)
from trackway.api import render
from trackway.api.app import create_app
from trackway.api.pagination import encode_cursor
from trackway.domain import roles
from trackway.domain.model import ChangeRecord, Customer, TrackingEvent
from trackway.settings import Settings
from trackway.store.accounts import create_key, create_org
from trackway.store.database import Database

JANE = {
    "name": "Jane Roe",
    "externalId": "crm/42",
    "emails": [{"type": "other", "email": "jane@example.com", "verified": False}],
    "phones": [{"type": "other", "phone": "+14155550100", "verified": False}],
}


class Org:
    """An org with a key per role group, and its customers' rows."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.id = create_org(db, name)
        self.reader = _bearer(create_key(db, self.id, [roles.CUSTOMER_READ]))
        self.events = _bearer(create_key(db, self.id, [roles.EVENT_READ]))
        self.tracker = _bearer(create_key(db, self.id, [roles.TRACKING]))
        self.eraser = _bearer(create_key(db, self.id, [roles.CUSTOMER_DELETE]))

    def customer(self, profile: dict[str, Any] | None = None) -> Customer:
        return add_customer(self.db, self.id, profile)


@pytest.fixture
def db(database: Database) -> Database:
    return database


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, default_phone_region="US")
    with TestClient(create_app(settings, db)) as client:
        yield client


@pytest.fixture
def acme(db: Database) -> Org:
    return Org(db, "acme")


@pytest.fixture
def globex(db: Database) -> Org:
    return Org(db, "globex")


class TestCustomer:
    def test_customer_is_read_by_id(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer(JANE)

        response = client.get(f"/v1/customers/{jane.id}", headers=acme.reader)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"data": render.customer_resource(jane)}

    def test_trailing_slash_is_ignored(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer(JANE)

        response = client.get(f"/v1/customers/{jane.id}/", headers=acme.reader)

        assert response.status_code == 200
        assert response.json()["data"]["id"] == jane.id

    @pytest.mark.parametrize(
        "lookup",
        [
            "email=%20Jane@Example.COM%20",
            "phone=(415)%20555-0100",
            "phone=%2B14155550100",
            "externalId=crm%2F42",
        ],
    )
    def test_lookups_normalise_like_identity_calls(
        self, client: TestClient, acme: Org, lookup: str
    ) -> None:
        jane = acme.customer(JANE)
        acme.customer({"externalId": "someone-else"})

        response = client.get(f"/v1/customers/{lookup}", headers=acme.reader)

        assert response.status_code == 200
        assert response.json()["data"]["id"] == jane.id

    def test_unknown_email_is_404(self, client: TestClient, acme: Org) -> None:
        acme.customer(JANE)

        response = client.get(
            "/v1/customers/email=john@example.com", headers=acme.reader
        )

        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"

    @pytest.mark.parametrize(
        "lookup", ["name=Jane", "email=not-an-address", "email=undefined"]
    )
    def test_lookup_that_cannot_match_is_400(
        self, client: TestClient, acme: Org, lookup: str
    ) -> None:
        response = client.get(f"/v1/customers/{lookup}", headers=acme.reader)

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "bad_request"

    @pytest.mark.parametrize("path", ["{id}", "email=jane@example.com"])
    def test_customer_of_another_org_is_404(
        self, client: TestClient, acme: Org, globex: Org, path: str
    ) -> None:
        jane = globex.customer(JANE)

        response = client.get(
            f"/v1/customers/{path.format(id=jane.id)}", headers=acme.reader
        )

        assert response.status_code == 404

    def test_malformed_id_is_404(self, client: TestClient, acme: Org) -> None:
        response = client.get("/v1/customers/not-an-id", headers=acme.reader)

        assert response.status_code == 404

    def test_tracking_key_reads_nothing(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer(JANE)

        response = client.get(f"/v1/customers/{jane.id}", headers=acme.tracker)

        assert response.status_code == 403

    def test_missing_key_is_401_before_anything_is_looked_up(
        self, client: TestClient
    ) -> None:
        response = client.get("/v1/customers/name=Jane")

        assert response.status_code == 401


class TestSessions:
    def test_sessions_are_paged_with_links(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        made = [
            add_session(db, jane.id, acme.id, last_event_at=T0 + i * MINUTE)
            for i in range(3)
        ]
        path = f"/v1/customers/{jane.id}/sessions"

        response = client.get(f"{path}?pageSize=2", headers=acme.events)

        body = response.json()
        assert response.status_code == 200
        assert [s["id"] for s in body["data"]] == [made[2].id, made[1].id]
        assert body["data"][0] == render.session_resource(made[2])
        assert body["links"] == {
            "self": f"{path}?page=1&pageSize=2",
            "first": f"{path}?page=1&pageSize=2",
            "prev": None,
            "next": f"{path}?page=2&pageSize=2",
        }
        assert body["meta"] == {}

    def test_a_full_last_page_has_no_next(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        for i in range(4):
            add_session(db, jane.id, acme.id, last_event_at=T0 + i)
        path = f"/v1/customers/{jane.id}/sessions"

        response = client.get(f"{path}?page=2&pageSize=2", headers=acme.events)

        links = response.json()["links"]
        assert len(response.json()["data"]) == 2
        assert links["next"] is None
        assert links["prev"] == f"{path}?page=1&pageSize=2"

    @pytest.mark.parametrize("query", ["pageSize=101", "pageSize=0", "page=0"])
    def test_page_out_of_range_is_400(
        self, client: TestClient, acme: Org, query: str
    ) -> None:
        jane = acme.customer()

        response = client.get(
            f"/v1/customers/{jane.id}/sessions?{query}", headers=acme.events
        )

        assert response.status_code == 400
        assert query.split("=")[0] in response.json()["errors"][0]["detail"]

    def test_sessions_of_an_unknown_customer_are_404(
        self, client: TestClient, acme: Org
    ) -> None:
        response = client.get(f"/v1/customers/{'f' * 24}/sessions", headers=acme.events)

        assert response.status_code == 404

    def test_session_events_by_client_session_id(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        add_session(db, jane.id, acme.id, session_id="tab 1")
        event = add_event(db, jane.id, acme.id, session_id="tab 1")
        path = f"/v1/customers/{jane.id}/sessions/tab%201/events"

        response = client.get(path, headers=acme.events)

        body = response.json()
        assert response.status_code == 200
        assert body["data"] == [render.event_resource(event)]
        assert body["links"]["self"] == f"{path}?page=1&pageSize=100"

    def test_unknown_session_is_404(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer()

        response = client.get(
            f"/v1/customers/{jane.id}/sessions/nope/events", headers=acme.events
        )

        assert response.status_code == 404


class TestEvents:
    def test_one_event_is_read_with_exact_numbers(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        event = add_event(db, jane.id, acme.id, meta={"bigNum": 9007199254740993})

        response = client.get(
            f"/v1/customers/{jane.id}/events/{event.id}", headers=acme.events
        )

        assert response.status_code == 200
        assert response.json() == {"data": render.event_resource(event)}
        assert b'"bigNum":9007199254740993' in response.content

    def test_event_of_another_customer_is_404(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        john = acme.customer()
        event = add_event(db, john.id, acme.id)

        response = client.get(
            f"/v1/customers/{jane.id}/events/{event.id}", headers=acme.events
        )

        assert response.status_code == 404

    def test_the_retired_event_list_is_404_pointing_at_the_timeline(
        self, client: TestClient, acme: Org
    ) -> None:
        jane = acme.customer()

        response = client.get(f"/v1/customers/{jane.id}/events", headers=acme.events)

        assert response.status_code == 404
        assert "/timeline" in response.json()["errors"][0]["detail"]


class TestTimeline:
    def test_following_next_links_visits_every_event_once(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer()
        made: list[TrackingEvent | ChangeRecord] = [
            add_change(db, jane.id, acme.id, kind="create", published_at=T0)
        ]
        made += [
            add_event(db, jane.id, acme.id, published_at=T0 + (i // 2) * MINUTE)
            for i in range(6)
        ]
        expected = sorted(made, key=lambda e: (e.published_at, e.id), reverse=True)

        seen = _walk(client, f"/v1/customers/{jane.id}/timeline?limit=3", acme)

        assert seen == [e.id for e in expected]

    def test_malformed_cursor_is_400(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer()

        response = client.get(
            f"/v1/customers/{jane.id}/timeline?cursor=bogus!", headers=acme.events
        )

        assert response.status_code == 400

    def test_timeline_of_another_orgs_customer_is_404(
        self, client: TestClient, acme: Org, globex: Org, db: Database
    ) -> None:
        jane = globex.customer()
        add_event(db, jane.id, globex.id)
        cursor = encode_cursor((T0 + MINUTE, "f" * 24))

        response = client.get(
            f"/v1/customers/{jane.id}/timeline?cursor={cursor}", headers=acme.events
        )

        assert response.status_code == 404


class TestErasure:
    def test_erased_customer_is_gone(
        self, client: TestClient, acme: Org, db: Database
    ) -> None:
        jane = acme.customer(JANE)
        add_visitor(db, "janes-laptop", acme.id, customer_id=jane.id)
        add_event(db, jane.id, acme.id, tracking_id="janes-laptop")

        erased = client.delete(f"/v1/customers/{jane.id}", headers=acme.eraser)

        assert (erased.status_code, erased.content) == (204, b"")
        lookup = client.get("/v1/customers/email=jane@example.com", headers=acme.reader)
        assert lookup.status_code == 404
        again = client.delete(f"/v1/customers/{jane.id}/", headers=acme.eraser)
        assert again.status_code == 404

    def test_reader_cannot_erase(self, client: TestClient, acme: Org) -> None:
        jane = acme.customer(JANE)

        response = client.delete(f"/v1/customers/{jane.id}", headers=acme.reader)

        assert response.status_code == 403
        still = client.get(f"/v1/customers/{jane.id}", headers=acme.reader)
        assert still.status_code == 200

    def test_another_orgs_customer_cannot_be_erased(
        self, client: TestClient, acme: Org, globex: Org
    ) -> None:
        jane = globex.customer(JANE)

        response = client.delete(f"/v1/customers/{jane.id}", headers=acme.eraser)

        assert response.status_code == 404
        still = client.get(f"/v1/customers/{jane.id}", headers=globex.reader)
        assert still.status_code == 200


def _walk(client: TestClient, url: str, org: Org) -> list[str]:
    seen: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url, headers=org.events)
        assert response.status_code == 200
        body = response.json()
        seen.extend(event["id"] for event in body["data"])
        next_url = body["links"]["next"]
    return seen


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
