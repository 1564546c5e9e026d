"""Identity resolution through the write path (SPEC 5.1 to 5.3).

Every test drives `Writer.track` with calls validated by the domain, on its
own database, and reads the outcome back from the tables.
"""

import json
from typing import Any

import pytest
from sqlalchemy import Row, Table, select

from trackway.domain.calls import event_call, identity_call
from trackway.domain.policy import Policy
from trackway.store.database import Database
from trackway.store.idempotency import StoredResponse
from trackway.store.tables import customers, events, identifiers, sessions, visitors
from trackway.store.writer import Outcome, Writer

POLICY = Policy()
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

Answer = dict[str, Any]


def render(outcome: Outcome) -> StoredResponse:
    """The customer and status a call resolved to, as a JSON body."""
    resolution = outcome.resolution
    answer = {
        "customerId": outcome.customer_id,
        "status": None if resolution is None else resolution.status,
    }
    return StoredResponse(201, {}, json.dumps(answer).encode())


def identify(writer: Writer, org_id: str, **body: Any) -> Answer:
    call = identity_call(body, POLICY)
    answer: Answer = json.loads(writer.track(org_id, call, None, render).body)
    return answer


def send_event(writer: Writer, org_id: str, at: int) -> Answer:
    body = {"name": "page-viewed", "trackingId": "v1"}
    call = event_call(body, POLICY, published_at=at)
    answer: Answer = json.loads(writer.track(org_id, None, call, render).body)
    return answer


def rows(database: Database, table: Table, *order: str, **equal: Any) -> list[Row[Any]]:
    """Rows of `table` with the given column values, by `order` or key."""
    conditions = [table.c[name] == value for name, value in equal.items()]
    columns = [table.c[name] for name in order] or list(table.primary_key)
    query = select(table).where(*conditions).order_by(*columns)
    with database.read() as connection:
        return list(connection.execute(query))


def customer(database: Database, customer_id: str) -> Row[Any]:
    [row] = rows(database, customers, customer_id=customer_id)
    return row


def changes_of(database: Database, customer_id: str) -> list[tuple[str, Any]]:
    stored = rows(database, events, "event_id", customer_id=customer_id)
    return [(e.kind, e.changes) for e in stored if e.kind != "tracking"]


def visitor(database: Database, tracking_id: str) -> Row[Any]:
    [row] = rows(database, visitors, tracking_id=tracking_id)
    return row


def owner_of(database: Database, kind: str, value: str) -> str | None:
    found = rows(database, identifiers, kind=kind, value=value)
    return found[0].customer_id if found else None


def tracking_events(database: Database) -> list[Row[Any]]:
    return rows(database, events, "published_at", kind="tracking")


def everything_of(database: Database, customer_id: str) -> list[list[Row[Any]]]:
    """Every row stored under one customer, for before/after comparisons."""
    tables = (customers, events, sessions, identifiers)
    return [rows(database, table, customer_id=customer_id) for table in tables]


def email_entry(address: str) -> dict[str, Any]:
    return {"type": "other", "email": address, "verified": False}


class TestMatching:
    def test_identity_with_new_email_creates_a_customer_at_rev_1(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        answer = identify(writer, org_id, trackingId="v1", email="jane@example.com")

        assert answer["status"] == "created"
        [created] = rows(database, customers)
        assert (created.customer_id, created.rev) == (answer["customerId"], 1)
        assert created.profile == {"emails": [email_entry("jane@example.com")]}
        assert changes_of(database, created.customer_id) == [("create", None)]
        record = visitor(database, "v1")
        assert (record.status, record.email) == ("created", "jane@example.com")

    def test_created_customer_holds_every_identifier_and_field_of_the_call(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        answer = identify(
            writer,
            org_id,
            externalId="crm-7",
            email="jane@example.com",
            phone="+44 20 7946 0958",
            name="Jane",
            tags=["vip"],
        )

        customer_id = answer["customerId"]
        assert customer(database, customer_id).profile == {
            "externalId": "crm-7",
            "emails": [email_entry("jane@example.com")],
            "phones": [{"type": "other", "phone": "+442079460958", "verified": False}],
            "name": "Jane",
            "tags": ["vip"],
        }
        assert [
            owner_of(database, "externalId", "crm-7"),
            owner_of(database, "email", "jane@example.com"),
            owner_of(database, "phone", "+442079460958"),
        ] == [customer_id] * 3

    def test_identity_with_known_email_in_another_case_updates_that_customer(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        first = identify(writer, org_id, email="jane@example.com")

        second = identify(writer, org_id, email="  JANE@Example.COM ")

        assert second == {"customerId": first["customerId"], "status": "updated"}
        assert len(rows(database, customers)) == 1


class TestUpdating:
    def test_identity_that_changes_nothing_keeps_rev_and_records_no_change(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        body = {"email": "jane@example.com", "name": "Jane", "tags": ["vip"]}
        customer_id = identify(writer, org_id, **body)["customerId"]
        before = customer(database, customer_id)

        answer = identify(writer, org_id, **body)

        assert answer["status"] == "updated"
        assert customer(database, customer_id) == before
        assert changes_of(database, customer_id) == [("create", None)]

    def test_identity_with_an_empty_tag_list_changes_nothing(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        customer_id = identify(writer, org_id, email="j@example.com")["customerId"]

        identify(writer, org_id, email="j@example.com", tags=[], custom={})

        assert customer(database, customer_id).rev == 1
        assert changes_of(database, customer_id) == [("create", None)]

    def test_identity_that_changes_the_profile_bumps_rev_and_records_the_change(
        self,
        writer: Writer,
        database: Database,
        org_id: str,
        now: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first = identify(writer, org_id, email="jane@example.com", name="Jane")
        monkeypatch.setattr("trackway.store.writer.now_ms", lambda: now + MINUTE)

        identify(
            writer,
            org_id,
            email="jane@example.com",
            name="Jane Doe",
            company="Acme",
            custom={"planStr": "pro"},
        )

        updated = customer(database, first["customerId"])
        assert (updated.rev, updated.created_at) == (2, now)
        assert (updated.updated_at, updated.modified_at) == (now + MINUTE,) * 2
        name = {"op": "replace", "before": "Jane", "after": "Jane Doe"}
        company = {"op": "add", "before": None, "after": "Acme"}
        plan = {"op": "add", "before": None, "after": "pro"}
        assert changes_of(database, first["customerId"])[1:] == [
            (
                "update",
                {
                    "attributes": {
                        "name": name,
                        "company": company,
                        "custom.planStr": plan,
                    }
                },
            )
        ]

    def test_custom_key_sent_as_null_is_removed_with_a_remove_record(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        customer_id = identify(
            writer, org_id, email="j@example.com", custom={"planStr": "pro"}
        )["customerId"]

        identify(writer, org_id, email="j@example.com", custom={"planStr": None})

        updated = customer(database, customer_id)
        assert (updated.rev, updated.profile["custom"]) == (2, {})
        remove = {"op": "remove", "before": "pro", "after": None}
        assert changes_of(database, customer_id)[-1] == (
            "update",
            {"attributes": {"custom.planStr": remove}},
        )

    def test_identity_without_identifier_from_a_bound_visitor_updates_it(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        customer_id = identify(
            writer, org_id, trackingId="v1", email="jane@example.com"
        )["customerId"]

        answer = identify(writer, org_id, trackingId="v1", company="Acme")

        assert answer == {"customerId": customer_id, "status": "updated"}
        updated = customer(database, customer_id)
        assert (updated.rev, updated.profile["company"]) == (2, "Acme")


class TestConflicts:
    def test_external_id_of_one_customer_wins_over_email_of_another(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        a = identify(writer, org_id, externalId="A-1", email="a@example.com")
        b = identify(writer, org_id, email="b@example.com")
        b_before = everything_of(database, b["customerId"])

        answer = identify(
            writer, org_id, trackingId="v1", externalId="A-1", email="b@example.com"
        )

        assert answer == {"customerId": a["customerId"], "status": "updated"}
        a_profile = customer(database, a["customerId"]).profile
        assert a_profile["emails"] == [email_entry("a@example.com")]
        assert everything_of(database, b["customerId"]) == b_before
        assert owner_of(database, "email", "b@example.com") == b["customerId"]

    def test_conflict_is_kept_on_the_visitor_without_the_value(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        identify(writer, org_id, externalId="A-1")
        b = identify(writer, org_id, email="b@example.com")

        identify(
            writer, org_id, trackingId="v1", externalId="A-1", email="b@example.com"
        )

        record = visitor(database, "v1")
        assert record.conflict["at"] == now
        [owner] = record.conflict["owners"]
        assert (owner["kind"], owner["customerId"]) == ("email", b["customerId"])
        assert "b@example.com" not in json.dumps(record.conflict)
        assert record.email is None

    def test_email_of_one_customer_wins_over_phone_of_another(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        a = identify(writer, org_id, email="a@example.com")
        b = identify(writer, org_id, phone="+442079460958")

        answer = identify(writer, org_id, email="a@example.com", phone="+442079460958")

        assert answer["customerId"] == a["customerId"]
        assert "phones" not in customer(database, a["customerId"]).profile
        assert owner_of(database, "phone", "+442079460958") == b["customerId"]

    def test_second_external_id_for_a_customer_is_not_added(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        a = identify(writer, org_id, externalId="A-1", email="a@example.com")

        identify(
            writer, org_id, trackingId="v1", externalId="A-2", email="a@example.com"
        )

        unchanged = customer(database, a["customerId"])
        assert (unchanged.profile["externalId"], unchanged.rev) == ("A-1", 1)
        assert owner_of(database, "externalId", "A-2") is None
        [owner] = visitor(database, "v1").conflict["owners"]
        assert (owner["kind"], owner["customerId"]) == ("externalId", None)

    def test_eleventh_email_is_not_added_to_a_full_list(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        for i in range(10):
            identify(writer, org_id, externalId="A-1", email=f"{i}@example.com")

        answer = identify(writer, org_id, externalId="A-1", email="10@example.com")

        emails = customer(database, answer["customerId"]).profile["emails"]
        assert len(emails) == 10
        assert owner_of(database, "email", "10@example.com") is None


class TestAnonymousVisitors:
    def test_identity_without_identifier_creates_no_customer_and_keeps_traits(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        answer = identify(
            writer, org_id, trackingId="v1", name="Jane", custom={"planStr": "pro"}
        )

        assert answer == {"customerId": None, "status": "anonymous"}
        assert rows(database, customers) == []
        assert visitor(database, "v1").pending == {
            "name": "Jane",
            "custom": {"planStr": "pro"},
        }

    def test_pending_traits_are_applied_when_the_visitor_is_identified(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        identify(writer, org_id, trackingId="v1", name="Jane")
        identify(writer, org_id, trackingId="v1", company="Acme")

        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")

        created = customer(database, answer["customerId"])
        assert (created.profile["name"], created.profile["company"]) == (
            "Jane",
            "Acme",
        )
        assert visitor(database, "v1").pending is None

    def test_anonymous_events_are_attributed_keeping_their_time_and_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        for at in (now - 3 * HOUR, now - 3 * HOUR + MINUTE, now - 10 * MINUTE):
            send_event(writer, org_id, at)
        before = [
            (e.event_id, e.published_at, e.session_id)
            for e in tracking_events(database)
        ]

        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")

        after = tracking_events(database)
        assert [(e.event_id, e.published_at, e.session_id) for e in after] == before
        assert [e.customer_id for e in after] == [answer["customerId"]] * 3
        assert len({e.session_id for e in after}) == 2

    def test_anonymous_sessions_are_attributed_on_identify(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        send_event(writer, org_id, now - 3 * HOUR)
        send_event(writer, org_id, now - 10 * MINUTE)

        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")

        owners = [s.customer_id for s in rows(database, sessions)]
        assert owners == [answer["customerId"]] * 2

    def test_anonymous_events_older_than_the_retention_stay_anonymous(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        send_event(writer, org_id, now - 31 * DAY)
        send_event(writer, org_id, now - 29 * DAY)

        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")

        owners = [e.customer_id for e in tracking_events(database)]
        assert owners == [None, answer["customerId"]]

    def test_last_seen_is_the_latest_event_and_never_moves_back(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        send_event(writer, org_id, now - 10 * MINUTE)
        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")
        send_event(writer, org_id, now + MINUTE)

        send_event(writer, org_id, now - 5 * MINUTE)

        assert customer(database, answer["customerId"]).last_seen_at == now + MINUTE

    def test_events_after_identify_belong_to_the_customer(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        answer = identify(writer, org_id, trackingId="v1", email="j@example.com")

        recorded = send_event(writer, org_id, now + MINUTE)

        assert recorded["customerId"] == answer["customerId"]
        [event] = tracking_events(database)
        assert event.customer_id == answer["customerId"]
