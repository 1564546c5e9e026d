"""The read queries: customers, lookups, sessions, events and the timeline."""

import pytest

from factories import (
    MINUTE,
    ORG,
    OTHER_ORG,
    T0,
    add_change,
    add_customer,
    add_event,
    add_session,
)
from trackway.domain.model import (
    ChangeRecord,
    Identifier,
    IdentifierKind,
    TrackingEvent,
)
from trackway.store import reads
from trackway.store.database import Database

JANE = {
    "name": "Jane Roe",
    "externalId": "user-42",
    "emails": [{"type": "other", "email": "jane@example.com", "verified": False}],
    "phones": [{"type": "other", "phone": "+14155550100", "verified": False}],
}


@pytest.fixture
def db(database: Database) -> Database:
    return database


class TestCustomer:
    def test_customer_is_read_with_its_profile_and_times(self, db: Database) -> None:
        stored = add_customer(db, profile=JANE, rev=3, last_seen_at=T0 + MINUTE)

        found = reads.customer(db, ORG, stored.id)

        assert found == stored

    def test_customer_of_another_org_is_not_found(self, db: Database) -> None:
        stored = add_customer(db, OTHER_ORG, JANE)

        found = reads.customer(db, ORG, stored.id)

        assert found is None

    def test_unknown_customer_is_not_found(self, db: Database) -> None:
        add_customer(db, profile=JANE)

        assert reads.customer(db, ORG, "ffffffffffffffffffffffff") is None


class TestCustomerByIdentifier:
    @pytest.mark.parametrize(
        ("kind", "value"),
        [
            (IdentifierKind.EMAIL, "jane@example.com"),
            (IdentifierKind.PHONE, "+14155550100"),
            (IdentifierKind.EXTERNAL_ID, "user-42"),
        ],
    )
    def test_each_identifier_finds_its_owner(
        self, db: Database, kind: IdentifierKind, value: str
    ) -> None:
        jane = add_customer(db, profile=JANE)
        add_customer(db, profile={"externalId": "someone-else"})

        found = reads.customer_by_identifier(db, ORG, Identifier(kind, value))

        assert found == jane

    def test_identifier_of_another_orgs_customer_finds_nobody(
        self, db: Database
    ) -> None:
        add_customer(db, OTHER_ORG, JANE)
        email = Identifier(IdentifierKind.EMAIL, "jane@example.com")

        assert reads.customer_by_identifier(db, ORG, email) is None

    def test_unknown_identifier_finds_nobody(self, db: Database) -> None:
        add_customer(db, profile=JANE)
        email = Identifier(IdentifierKind.EMAIL, "john@example.com")

        assert reads.customer_by_identifier(db, ORG, email) is None


class TestCustomerSessions:
    def test_sessions_come_latest_last_event_first(self, db: Database) -> None:
        jane = add_customer(db)
        old = add_session(db, jane.id, last_event_at=T0 + 1 * MINUTE)
        new = add_session(db, jane.id, last_event_at=T0 + 9 * MINUTE)
        mid = add_session(db, jane.id, last_event_at=T0 + 5 * MINUTE)

        found = reads.customer_sessions(db, ORG, jane.id, 1, 100)

        assert found == ([new, mid, old], False)

    def test_sessions_ending_together_are_ordered_by_id(self, db: Database) -> None:
        jane = add_customer(db)
        a = add_session(db, jane.id, resource_id="a" * 24, last_event_at=T0)
        b = add_session(db, jane.id, resource_id="b" * 24, last_event_at=T0)

        found = reads.customer_sessions(db, ORG, jane.id, 1, 100)

        assert found == ([b, a], False)

    def test_exactly_one_full_page_has_no_next(self, db: Database) -> None:
        jane = add_customer(db)
        for minute in range(3):
            add_session(db, jane.id, last_event_at=T0 + minute * MINUTE)

        found = reads.customer_sessions(db, ORG, jane.id, 1, 3)

        assert found is not None
        assert (len(found[0]), found[1]) == (3, False)

    def test_pages_split_the_list_and_say_when_more_follow(self, db: Database) -> None:
        jane = add_customer(db)
        made = [
            add_session(db, jane.id, last_event_at=T0 + minute * MINUTE)
            for minute in range(5)
        ]
        newest_first = made[::-1]

        pages = [reads.customer_sessions(db, ORG, jane.id, n, 2) for n in (1, 2, 3)]

        assert pages == [
            (newest_first[0:2], True),
            (newest_first[2:4], True),
            (newest_first[4:5], False),
        ]

    def test_page_beyond_the_end_is_empty(self, db: Database) -> None:
        jane = add_customer(db)
        add_session(db, jane.id)

        assert reads.customer_sessions(db, ORG, jane.id, 2, 100) == ([], False)

    def test_other_customers_sessions_are_not_listed(self, db: Database) -> None:
        jane = add_customer(db)
        john = add_customer(db)
        add_session(db, john.id)
        add_session(db, None, tracking_id="anonymous-visitor")

        assert reads.customer_sessions(db, ORG, jane.id, 1, 100) == ([], False)

    def test_customer_of_another_org_has_no_session_list(self, db: Database) -> None:
        jane = add_customer(db, OTHER_ORG)
        add_session(db, jane.id, OTHER_ORG)

        assert reads.customer_sessions(db, ORG, jane.id, 1, 100) is None


class TestSessionEvents:
    def test_events_of_a_session_found_by_resource_id_newest_first(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        session = add_session(db, jane.id, session_id="s-1")
        first = add_event(db, jane.id, session_id="s-1", published_at=T0)
        second = add_event(db, jane.id, session_id="s-1", published_at=T0 + 1)

        found = reads.session_events(db, ORG, jane.id, session.id, 1, 100)

        assert found == ([second, first], False)

    def test_events_of_a_session_found_by_client_session_id(self, db: Database) -> None:
        jane = add_customer(db)
        add_session(db, jane.id, session_id="checkout-tab")
        event = add_event(db, jane.id, session_id="checkout-tab")

        found = reads.session_events(db, ORG, jane.id, "checkout-tab", 1, 100)

        assert found == ([event], False)

    def test_only_the_sessions_tracking_events_of_the_customer_count(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        john = add_customer(db)
        add_session(db, jane.id, session_id="s-1")
        mine = add_event(db, jane.id, session_id="s-1")
        add_event(db, jane.id, session_id="s-2")
        add_event(db, john.id, session_id="s-1")
        add_event(db, None, session_id="s-1")
        add_event(db, jane.id, tracking_id="other-device", session_id="s-1")
        add_change(db, jane.id)

        found = reads.session_events(db, ORG, jane.id, "s-1", 1, 100)

        assert found == ([mine], False)

    def test_events_of_a_session_are_paged(self, db: Database) -> None:
        jane = add_customer(db)
        add_session(db, jane.id, session_id="s-1")
        made = [
            add_event(db, jane.id, session_id="s-1", published_at=T0 + i)
            for i in range(4)
        ]

        first = reads.session_events(db, ORG, jane.id, "s-1", 1, 2)
        second = reads.session_events(db, ORG, jane.id, "s-1", 2, 2)

        assert first == ([made[3], made[2]], True)
        assert second == ([made[1], made[0]], False)

    def test_unknown_session_is_not_found(self, db: Database) -> None:
        jane = add_customer(db)
        add_session(db, jane.id, session_id="s-1")

        assert reads.session_events(db, ORG, jane.id, "s-2", 1, 100) is None

    def test_another_customers_session_is_not_found(self, db: Database) -> None:
        jane = add_customer(db)
        john = add_customer(db)
        johns = add_session(db, john.id, session_id="s-1")
        add_event(db, john.id, session_id="s-1")

        assert reads.session_events(db, ORG, jane.id, johns.id, 1, 100) is None
        assert reads.session_events(db, ORG, jane.id, "s-1", 1, 100) is None

    def test_session_of_another_org_is_not_found(self, db: Database) -> None:
        jane = add_customer(db, OTHER_ORG)
        session = add_session(db, jane.id, OTHER_ORG, session_id="s-1")
        add_event(db, jane.id, OTHER_ORG, session_id="s-1")

        assert reads.session_events(db, ORG, jane.id, session.id, 1, 100) is None


class TestCustomerEvent:
    def test_tracking_event_is_read_whole(self, db: Database) -> None:
        jane = add_customer(db)
        event = add_event(
            db,
            jane.id,
            name="checkout-started",
            meta={"cartNum": 9007199254740993, "couponStr": "WINTER"},
            real_ip="203.0.113.9",
        )

        found = reads.customer_event(db, ORG, jane.id, event.id)

        assert isinstance(found, TrackingEvent)
        assert found == event

    def test_change_record_is_read_whole(self, db: Database) -> None:
        jane = add_customer(db)
        changes = {"attributes": {"name": {"op": "add", "after": "Jane"}}}
        record = add_change(db, jane.id, changes=changes)

        found = reads.customer_event(db, ORG, jane.id, record.id)

        assert isinstance(found, ChangeRecord)
        assert found == record

    def test_event_of_another_customer_is_not_found(self, db: Database) -> None:
        jane = add_customer(db)
        john = add_customer(db)
        event = add_event(db, john.id)

        assert reads.customer_event(db, ORG, jane.id, event.id) is None

    def test_anonymous_event_is_nobodys(self, db: Database) -> None:
        jane = add_customer(db)
        event = add_event(db, None)

        assert reads.customer_event(db, ORG, jane.id, event.id) is None

    def test_event_of_another_org_is_not_found(self, db: Database) -> None:
        jane = add_customer(db, OTHER_ORG)
        event = add_event(db, jane.id, OTHER_ORG)

        assert reads.customer_event(db, ORG, jane.id, event.id) is None


class TestTimeline:
    def test_timeline_mixes_events_and_change_records_newest_first(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        created = add_change(db, jane.id, kind="create", published_at=T0)
        viewed = add_event(db, jane.id, published_at=T0 + 1)
        updated = add_change(db, jane.id, published_at=T0 + 2)

        found = reads.timeline(db, ORG, jane.id, None, 50)

        assert found == ([updated, viewed, created], None)

    def test_events_published_together_are_ordered_by_id(self, db: Database) -> None:
        jane = add_customer(db)
        a = add_event(db, jane.id, event_id="a" * 24)
        c = add_change(db, jane.id, event_id="c" * 24)
        b = add_event(db, jane.id, event_id="b" * 24)

        found = reads.timeline(db, ORG, jane.id, None, 50)

        assert found == ([c, b, a], None)

    @pytest.mark.parametrize("limit", [1, 2, 3, 5, 7, 17, 100])
    def test_cursor_walk_visits_every_event_exactly_once_in_order(
        self, db: Database, limit: int
    ) -> None:
        jane = add_customer(db)
        made = _many_events_with_ties(db, jane.id)
        expected = sorted(made, key=lambda e: (e.published_at, e.id), reverse=True)

        walked = _walk(db, jane.id, limit)

        assert [e.id for e in walked] == [e.id for e in expected]

    def test_a_page_that_ends_the_timeline_exactly_has_no_next(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        for i in range(4):
            add_event(db, jane.id, published_at=T0 + i)

        first, after = reads.timeline(db, ORG, jane.id, None, 2) or ([], None)
        second, end = reads.timeline(db, ORG, jane.id, after, 2) or ([], None)

        assert (len(first), len(second), end) == (2, 2, None)
        assert after == (first[-1].published_at, first[-1].id)

    def test_cursor_before_everything_gives_an_empty_page(self, db: Database) -> None:
        jane = add_customer(db)
        event = add_event(db, jane.id)

        found = reads.timeline(db, ORG, jane.id, (event.published_at, event.id), 5)

        assert found == ([], None)

    def test_timeline_holds_only_the_customers_own_events(self, db: Database) -> None:
        jane = add_customer(db)
        john = add_customer(db)
        mine = add_event(db, jane.id)
        add_event(db, john.id)
        add_change(db, john.id)
        add_event(db, None)

        assert reads.timeline(db, ORG, jane.id, None, 50) == ([mine], None)

    def test_customer_of_another_org_has_no_timeline(self, db: Database) -> None:
        jane = add_customer(db, OTHER_ORG)
        add_event(db, jane.id, OTHER_ORG)

        assert reads.timeline(db, ORG, jane.id, None, 50) is None

    def test_timeline_query_walks_the_timeline_index(self, db: Database) -> None:
        """Deep pages stay cheap: the query is a range scan, never a sort."""
        query = reads.timeline_query(ORG, "a" * 24, (T0, "f" * 24), 3)
        with db.read() as conn:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            if db.is_sqlite:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            else:
                # An empty table is cheapest to scan; ask what the index gives.
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = conn.exec_driver_sql(f"EXPLAIN {sql}").all()

        details = " ".join(row[-1] for row in plan)
        if db.is_sqlite:
            assert "USING INDEX ix_events_timeline" in details
            assert "(published_at,event_id)<(?,?)" in details
            assert "TEMP B-TREE" not in details
        else:
            assert "Index Scan Backward using ix_events_timeline" in details
            assert "Sort" not in details


def _many_events_with_ties(
    db: Database, customer_id: str
) -> list[TrackingEvent | ChangeRecord]:
    made: list[TrackingEvent | ChangeRecord] = []
    for i in range(23):
        # Groups of three share a publishing time, so ties span page ends.
        at = T0 + (i // 3) * MINUTE
        if i % 4 == 0:
            made.append(add_change(db, customer_id, published_at=at))
        else:
            made.append(add_event(db, customer_id, published_at=at))
    return made


def _walk(db: Database, customer_id: str, limit: int) -> list[reads.StoredEvent]:
    walked: list[reads.StoredEvent] = []
    cursor: reads.Cursor | None = None
    while True:
        page = reads.timeline(db, ORG, customer_id, cursor, limit)
        assert page is not None
        found, cursor = page
        assert len(found) <= limit
        walked.extend(found)
        if cursor is None:
            return walked
