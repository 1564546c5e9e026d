"""Counts per day and the events that just arrived (the console's charts and
live page)."""

import json
from dataclasses import asdict

import pytest

from factories import (
    MINUTE,
    ORG,
    OTHER_ORG,
    T0,
    add_change,
    add_customer,
    add_event,
)
from trackway.domain.calls import event_call
from trackway.domain.model import TrackingEvent
from trackway.domain.policy import Policy
from trackway.store import activity
from trackway.store.activity import DAY_MS, Days
from trackway.store.database import Database
from trackway.store.idempotency import StoredResponse
from trackway.store.ledger import SqlLedger
from trackway.store.writer import Outcome, Writer

# T0 is 2026-12-03T10:00:00Z; its day number:
DAY0 = T0 // DAY_MS


@pytest.fixture
def db(database: Database) -> Database:
    return database


def arrived(
    db: Database, at: int, org_id: str = ORG, name: str = "page-viewed"
) -> TrackingEvent:
    """A tracking event written at `at` (its event time an hour earlier)."""
    event = TrackingEvent(
        org_id=org_id,
        id=f"{at // 1000:08x}{at % 1000:016x}",
        customer_id=None,
        tracking_id="visitor-1",
        session_id="session-1",
        name=name,
        meta={},
        published_at=at - 60 * MINUTE,
        created_at=at,
    )
    with db.write() as conn:
        SqlLedger(conn).insert_event(event)
    return event


class TestDays:
    def test_days_ending_at_a_moment_hold_that_moment_in_their_last_day(
        self,
    ) -> None:
        days = Days.ending_at(T0, 3)

        assert days == Days(DAY0 - 2, 3)
        assert days.start_ms <= T0 - 2 * DAY_MS
        assert days.start_ms <= T0 < days.end_ms
        assert days.end_ms - days.start_ms == 3 * DAY_MS


class TestEventsPerDay:
    def test_the_orgs_tracking_events_are_counted_by_utc_day(
        self, db: Database
    ) -> None:
        start = DAY0 * DAY_MS
        for at in (start, start + 1, start + DAY_MS - 1, start - 1):
            add_event(db, None, published_at=at)
        add_event(db, None, OTHER_ORG, published_at=start)
        add_change(db, add_customer(db).id, published_at=start)

        counts = activity.events_per_day(db, ORG, Days(DAY0 - 1, 2))

        assert counts == {DAY0 - 1: 1, DAY0: 3}

    def test_days_outside_the_range_are_not_counted(self, db: Database) -> None:
        add_event(db, None, published_at=T0 - DAY_MS)
        add_event(db, None, published_at=T0 + DAY_MS)

        assert activity.events_per_day(db, ORG, Days(DAY0, 1)) == {}

    def test_one_customers_events_are_counted_on_their_own(self, db: Database) -> None:
        jane = add_customer(db)
        add_event(db, jane.id, published_at=T0)
        add_event(db, jane.id, published_at=T0 + MINUTE)
        add_event(db, add_customer(db).id, published_at=T0)

        counts = activity.events_per_day(db, ORG, Days(DAY0, 1), jane.id)

        assert counts == {DAY0: 2}

    def test_events_written_long_after_their_time_count_on_their_own_day(
        self, db: Database
    ) -> None:
        """Pins the write path's ids to the event time, which the org-wide
        count relies on to read only a range of the primary key."""
        org_id = ORG
        long_ago = T0 - 400 * DAY_MS
        call = event_call({"name": "imported"}, Policy(), published_at=long_ago)
        Writer(db, Policy()).track(org_id, None, call, _answer)

        days = Days.ending_at(long_ago, 1)

        assert activity.events_per_day(db, org_id, days) == {days.first: 1}


class TestCustomersPerDay:
    def test_customers_are_counted_on_the_day_they_were_created(
        self, db: Database
    ) -> None:
        add_customer(db, at=T0)
        add_customer(db, at=T0 + MINUTE)
        add_customer(db, at=T0 - DAY_MS)
        add_customer(db, OTHER_ORG, at=T0)

        counts = activity.customers_per_day(db, ORG, Days(DAY0 - 1, 2))

        assert counts == {DAY0 - 1: 1, DAY0: 2}


class TestLatest:
    def test_latest_event_time_is_the_orgs_newest_tracking_event(
        self, db: Database
    ) -> None:
        add_event(db, None, published_at=T0)
        add_event(db, None, published_at=T0 + MINUTE)
        add_event(db, None, OTHER_ORG, published_at=T0 + 2 * MINUTE)
        add_change(db, add_customer(db).id, published_at=T0 + 3 * MINUTE)

        assert activity.latest_event_at(db, ORG) == T0 + MINUTE

    def test_an_org_without_events_or_customers_has_no_latest(
        self, db: Database
    ) -> None:
        assert activity.latest_event_at(db, ORG) is None
        assert activity.latest_customer_at(db, ORG) is None

    def test_latest_customer_is_the_last_created(self, db: Database) -> None:
        add_customer(db, at=T0)
        add_customer(db, at=T0 + MINUTE)

        assert activity.latest_customer_at(db, ORG) == T0 + MINUTE


class TestArrivals:
    def test_events_written_since_a_moment_come_latest_written_first(
        self, db: Database
    ) -> None:
        arrived(db, T0 - 1)
        first = arrived(db, T0)
        second = arrived(db, T0 + 5)

        found = activity.arrivals(db, ORG, T0, 10)

        assert found == [second, first]

    def test_the_limit_keeps_the_latest(self, db: Database) -> None:
        made = [arrived(db, T0 + n) for n in range(5)]

        found = activity.arrivals(db, ORG, T0, 2)

        assert found == [made[4], made[3]]

    def test_a_name_keeps_only_the_events_of_that_name(self, db: Database) -> None:
        arrived(db, T0, name="page-viewed")
        wanted = arrived(db, T0 + 1, name="checkout-started")

        found = activity.arrivals(db, ORG, T0, 10, "checkout-started")

        assert found == [wanted]

    def test_only_the_orgs_tracking_events_arrive(self, db: Database) -> None:
        arrived(db, T0, OTHER_ORG)
        add_change(db, add_customer(db).id, published_at=T0 + 1)

        assert activity.arrivals(db, ORG, 0, 10) == []


def _answer(outcome: Outcome) -> StoredResponse:
    recorded = None if outcome.recorded is None else asdict(outcome.recorded)
    return StoredResponse(204, {}, json.dumps(recorded).encode())
