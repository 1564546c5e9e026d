"""The write path (SPEC 4.3, 5.5): sessions, idempotency, transactions.

Each test drives `Writer.track` on its own database and reads the tables.
"""

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import Row, Table, select

from trackway.domain.calls import event_call, identity_call
from trackway.domain.errors import Conflict
from trackway.domain.ids import is_id
from trackway.domain.model import EventCall, IdentityCall
from trackway.domain.policy import Policy
from trackway.store.accounts import create_org
from trackway.store.database import Database
from trackway.store.idempotency import IdempotencyKey, StoredResponse
from trackway.store.tables import (
    customers,
    events,
    idempotency,
    identifiers,
    sessions,
    visitors,
)
from trackway.store.writer import Outcome, Writer

POLICY = Policy()
MINUTE = 60_000
HOUR = 60 * MINUTE
TABLES = (customers, events, identifiers, idempotency, sessions, visitors)
# One Idempotency-Key sent with two different bodies (digests of them).
KEY = IdempotencyKey("k-1", "a" * 64)
SAME_KEY_OTHER_BODY = IdempotencyKey("k-1", "b" * 64)

Answer = dict[str, Any]


def render(outcome: Outcome) -> StoredResponse:
    """The ids a call used, as a JSON body: the event's, else the identity's."""
    answer: Answer = {"customer_id": outcome.customer_id}
    if outcome.resolution is not None:
        answer["tracking_id"] = outcome.resolution.visitor.tracking_id
        answer["session_id"] = outcome.resolution.session_id
    if outcome.recorded is not None:
        answer.update(asdict(outcome.recorded))
    return StoredResponse(201, {"X-Test": "yes"}, json.dumps(answer).encode())


def an_event(at: int, tracking_id: str | None = "v1", **body: Any) -> EventCall:
    if tracking_id is not None:
        body["trackingId"] = tracking_id
    return event_call({"name": "page-viewed", **body}, POLICY, published_at=at)


def an_identity(**body: Any) -> IdentityCall:
    return identity_call(body, POLICY)


def track(
    writer: Writer,
    org_id: str,
    identity: IdentityCall | None = None,
    event: EventCall | None = None,
    key: IdempotencyKey | None = None,
) -> Answer:
    stored = writer.track(org_id, identity, event, render, key)
    answer: Answer = json.loads(stored.body)
    return answer


def rows(database: Database, table: Table, *order: str, **equal: Any) -> list[Row[Any]]:
    """Rows of `table` with the given column values, by `order` or key."""
    conditions = [table.c[name] == value for name, value in equal.items()]
    columns = [table.c[name] for name in order] or list(table.primary_key)
    query = select(table).where(*conditions).order_by(*columns)
    with database.read() as connection:
        return list(connection.execute(query))


def session_rows(database: Database, org_id: str) -> list[Row[Any]]:
    return rows(database, sessions, "first_event_at", org_id=org_id)


def tracking_events(database: Database, org_id: str) -> list[Row[Any]]:
    return rows(database, events, "published_at", org_id=org_id, kind="tracking")


def row_counts(database: Database) -> dict[str, int]:
    return {table.name: len(rows(database, table)) for table in TABLES}


def everything_of(database: Database, customer_id: str) -> list[list[Row[Any]]]:
    """Every row stored under one customer, for before/after comparisons."""
    tables = (customers, events, sessions, identifiers)
    return [rows(database, table, customer_id=customer_id) for table in tables]


def span(row: Row[Any]) -> tuple[int, int, int]:
    return row.first_event_at, row.last_event_at, row._mapping["count"]


class TestSessions:
    def test_events_within_the_gap_share_one_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        times = [now, now + 10 * MINUTE, now + 35 * MINUTE]

        answers = [track(writer, org_id, event=an_event(at)) for at in times]

        assert len({a["session_id"] for a in answers}) == 1
        [stored] = session_rows(database, org_id)
        assert span(stored) == (now, now + 35 * MINUTE, 3)
        assert stored.session_id == answers[0]["session_id"]

    def test_gap_of_31_minutes_starts_a_new_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now))

        track(writer, org_id, event=an_event(now + 31 * MINUTE))

        stored = session_rows(database, org_id)
        assert [span(s) for s in stored] == [
            (now, now, 1),
            (now + 31 * MINUTE, now + 31 * MINUTE, 1),
        ]

    def test_event_exactly_one_gap_after_the_last_continues_the_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now))

        track(writer, org_id, event=an_event(now + 30 * MINUTE))

        [stored] = session_rows(database, org_id)
        assert span(stored) == (now, now + 30 * MINUTE, 2)

    def test_late_event_lands_in_the_session_around_its_time(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        for at in (now, now + 10 * MINUTE, now + 3 * HOUR, now + 3 * HOUR + MINUTE):
            track(writer, org_id, event=an_event(at))

        late = track(writer, org_id, event=an_event(now + 5 * MINUTE))

        early, later = session_rows(database, org_id)
        assert late["session_id"] == early.session_id
        assert span(early) == (now, now + 10 * MINUTE, 3)
        assert span(later) == (now + 3 * HOUR, now + 3 * HOUR + MINUTE, 2)

    def test_late_event_before_a_session_moves_its_start_back(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now))

        track(writer, org_id, event=an_event(now - 20 * MINUTE))

        [stored] = session_rows(database, org_id)
        assert span(stored) == (now - 20 * MINUTE, now, 2)

    def test_session_id_from_the_client_groups_events_whatever_their_times(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now, sessionId="s-1"))
        track(writer, org_id, event=an_event(now + 3 * HOUR, sessionId="s-1"))

        track(writer, org_id, event=an_event(now + MINUTE, sessionId="s-2"))

        stored = {s.session_id: span(s) for s in session_rows(database, org_id)}
        assert stored == {
            "s-1": (now, now + 3 * HOUR, 2),
            "s-2": (now + MINUTE, now + MINUTE, 1),
        }

    def test_event_without_tracking_id_gets_server_made_ids(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        answer = track(writer, org_id, event=an_event(now, tracking_id=None))

        assert is_id(answer["tracking_id"]) and is_id(answer["session_id"])
        [event] = tracking_events(database, org_id)
        assert (event.tracking_id, event.session_id) == (
            answer["tracking_id"],
            answer["session_id"],
        )

    def test_event_is_stored_with_its_time_meta_and_name(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        call = an_event(now - HOUR, meta={"totalNum": 12})

        answer = track(writer, org_id, event=call)

        [event] = tracking_events(database, org_id)
        assert event.event_id == answer["event_id"]
        assert (event.name, event.meta) == ("page-viewed", {"totalNum": 12})
        assert (event.published_at, event.created_at) == (now - HOUR, now)


class TestSharedDevices:
    def test_visitor_identified_as_another_customer_leaves_the_first_unchanged(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        a = track(writer, org_id, an_identity(trackingId="v1", email="a@example.com"))
        track(writer, org_id, event=an_event(now - 5 * MINUTE))
        track(writer, org_id, event=an_event(now - 2 * MINUTE))
        a_before = everything_of(database, a["customer_id"])

        b = track(writer, org_id, an_identity(trackingId="v1", email="b@example.com"))
        later = track(writer, org_id, event=an_event(now + MINUTE))

        assert later["customer_id"] == b["customer_id"] != a["customer_id"]
        assert everything_of(database, a["customer_id"]) == a_before

    def test_visitor_identified_as_another_customer_starts_a_new_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, an_identity(trackingId="v1", email="a@example.com"))
        first = track(writer, org_id, event=an_event(now - 2 * MINUTE))

        b = track(writer, org_id, an_identity(trackingId="v1", email="b@example.com"))
        later = track(writer, org_id, event=an_event(now + MINUTE))

        assert b["session_id"] == later["session_id"] != first["session_id"]

    def test_remember_false_attributes_the_session_and_earlier_events(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now - 3 * HOUR))
        earlier = track(writer, org_id, event=an_event(now - 5 * MINUTE))
        kiosk = an_identity(trackingId="v1", email="j@example.com", remember=False)

        answer = track(writer, org_id, kiosk)
        same_session = track(writer, org_id, event=an_event(now + MINUTE))

        assert (
            answer["session_id"] == earlier["session_id"] == same_session["session_id"]
        )
        owners = [e.customer_id for e in tracking_events(database, org_id)]
        assert owners == [answer["customer_id"]] * 3

    def test_remember_false_leaves_the_next_session_anonymous(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        kiosk = an_identity(trackingId="v1", email="j@example.com", remember=False)
        track(writer, org_id, kiosk)

        after_gap = track(writer, org_id, event=an_event(now + 2 * HOUR))
        named = track(writer, org_id, event=an_event(now + MINUTE, sessionId="s-2"))

        assert (after_gap["customer_id"], named["customer_id"]) == (None, None)
        owners = [e.customer_id for e in tracking_events(database, org_id)]
        assert owners == [None, None]

    def test_kiosk_binding_stays_one_when_a_later_call_omits_remember(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        kiosk = an_identity(trackingId="v1", email="j@example.com", remember=False)
        track(writer, org_id, kiosk)
        track(writer, org_id, an_identity(trackingId="v1", name="Jane"))

        after_gap = track(writer, org_id, event=an_event(now + 2 * HOUR))

        assert after_gap["customer_id"] is None

    def test_remember_true_binds_the_visitor_for_later_sessions(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        answer = track(writer, org_id, an_identity(trackingId="v1", email="j@x.com"))

        later = track(writer, org_id, event=an_event(now + 2 * HOUR))

        assert later["customer_id"] == answer["customer_id"] is not None


class TestCombinedCall:
    def test_event_takes_the_identity_tracking_id_and_session(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        identity = an_identity(trackingId="v1", email="jane@example.com")

        answer = track(writer, org_id, identity, an_event(now, tracking_id=None))

        [event] = tracking_events(database, org_id)
        assert event.customer_id == answer["customer_id"] is not None
        assert (event.tracking_id, event.session_id) == ("v1", answer["session_id"])

    def test_failure_after_the_identity_stores_neither_part(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        before = row_counts(database)
        identity = an_identity(trackingId="v1", email="jane@example.com")

        def failing(outcome: Outcome) -> StoredResponse:
            raise RuntimeError("rendering failed")

        with pytest.raises(RuntimeError):
            writer.track(org_id, identity, an_event(now), failing)

        assert row_counts(database) == before


class TestIdempotency:
    def test_repeat_with_the_same_key_and_body_answers_as_before(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        first = writer.track(org_id, None, an_event(now), render, KEY)
        counts = row_counts(database)

        repeat = writer.track(org_id, None, an_event(now), render, KEY)

        assert repeat == first
        assert row_counts(database) == counts

    def test_same_key_with_a_different_body_is_a_conflict(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        track(writer, org_id, event=an_event(now), key=KEY)
        counts = row_counts(database)

        with pytest.raises(Conflict):
            track(writer, org_id, event=an_event(now), key=SAME_KEY_OTHER_BODY)

        assert row_counts(database) == counts

    def test_keys_are_scoped_per_org(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        other_org = create_org(database, "globex")
        track(writer, org_id, event=an_event(now), key=KEY)

        track(writer, other_org, event=an_event(now), key=SAME_KEY_OTHER_BODY)

        assert len(tracking_events(database, org_id)) == 1
        assert len(tracking_events(database, other_org)) == 1

    def test_key_older_than_the_window_is_used_afresh(
        self,
        writer: Writer,
        database: Database,
        org_id: str,
        now: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first = track(writer, org_id, event=an_event(now), key=KEY)
        later = now + 24 * HOUR + 1
        monkeypatch.setattr("trackway.store.writer.now_ms", lambda: later)

        again = track(writer, org_id, event=an_event(later), key=KEY)

        assert again["event_id"] != first["event_id"]
        assert len(tracking_events(database, org_id)) == 2

    def test_stored_answer_names_the_customer_for_erasure(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        identity = an_identity(trackingId="v1", email="jane@example.com")

        answer = track(writer, org_id, identity, key=KEY)

        [stored] = rows(database, idempotency)
        assert stored.customer_id == answer["customer_id"]
        assert json.loads(stored.body) == answer


class TestConcurrency:
    def test_event_and_identity_at_once_for_a_new_visitor_give_one_customer(
        self, writer: Writer, database: Database, org_id: str, now: int
    ) -> None:
        """Whichever call commits first, both events end up on the customer."""
        calls = [
            (None, an_event(now, "v1")),
            (an_identity(trackingId="v1", email="jane@example.com"), an_event(now)),
        ]

        run_together(writer, org_id, calls)

        [customer] = rows(database, customers)
        assert customer.profile["emails"][0]["email"] == "jane@example.com"
        stored = tracking_events(database, org_id)
        assert [e.customer_id for e in stored] == [customer.customer_id] * 2

    def test_two_calls_with_the_same_new_email_create_one_customer(
        self, writer: Writer, database: Database, org_id: str
    ) -> None:
        calls = [
            (an_identity(trackingId=f"v{i}", email="jane@example.com"), None)
            for i in range(4)
        ]

        answers = run_together(writer, org_id, calls)

        [customer] = rows(database, customers)
        assert {a["customer_id"] for a in answers} == {customer.customer_id}


Call = tuple[IdentityCall | None, EventCall | None]


def run_together(writer: Writer, org_id: str, calls: Sequence[Call]) -> list[Answer]:
    """Run each call on its own thread, all released at the same moment."""
    start = threading.Barrier(len(calls))

    def run(call: Call) -> Answer:
        start.wait()
        return track(writer, org_id, *call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
