"""The read queries behind the console: search, change history, visitors,
the opening events of sessions, and customers by id."""

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
    add_visitor,
)
from trackway.domain.model import Customer
from trackway.store import reads
from trackway.store.database import Database

JANE = {
    "name": "Jane Roe",
    "externalId": "CRM-42",
    "emails": [{"type": "other", "email": "jane@example.com", "verified": False}],
    "phones": [{"type": "other", "phone": "+14155550100", "verified": False}],
}
JOHN = {
    "name": "John Smith",
    "externalId": "crm-77",
    "emails": [{"type": "other", "email": "john@example.org", "verified": False}],
}


@pytest.fixture
def db(database: Database) -> Database:
    return database


def names(found: tuple[list[Customer], bool]) -> list[str]:
    return [c.profile.get("name", c.id) for c in found[0]]


class TestSearchCustomers:
    @pytest.mark.parametrize(
        "typed",
        ["jane roe", "ROE", "Jane@Example", "example.com", "crm-42", "4155550100"],
    )
    def test_name_email_phone_or_external_id_finds_the_customer(
        self, db: Database, typed: str
    ) -> None:
        add_customer(db, profile=JANE)
        add_customer(db, profile=JOHN)

        found = reads.search_customers(db, ORG, typed, 1, 25)

        assert names(found) == ["Jane Roe"]

    def test_a_phone_typed_with_spaces_and_dashes_matches_its_digits(
        self, db: Database
    ) -> None:
        add_customer(db, profile=JANE)

        found = reads.search_customers(db, ORG, "(415) 555-0100", 1, 25)

        assert names(found) == ["Jane Roe"]

    def test_a_customer_id_finds_that_customer(self, db: Database) -> None:
        jane = add_customer(db, profile=JANE)
        add_customer(db, profile=JOHN)

        found = reads.search_customers(db, ORG, jane.id, 1, 25)

        assert found == ([jane], False)

    def test_like_wildcards_are_matched_as_typed(self, db: Database) -> None:
        add_customer(db, profile={"name": "100% Cotton", "externalId": "a"})
        add_customer(db, profile={"name": "1000 Cotton", "externalId": "b"})

        found = reads.search_customers(db, ORG, "100%", 1, 25)

        assert names(found) == ["100% Cotton"]

    def test_blank_text_lists_everyone_latest_activity_first_never_seen_last(
        self, db: Database
    ) -> None:
        add_customer(db, profile={"name": "never seen"})
        add_customer(db, profile={"name": "seen early"}, last_seen_at=T0)
        add_customer(db, profile={"name": "seen late"}, last_seen_at=T0 + MINUTE)

        found = reads.search_customers(db, ORG, "  ", 1, 25)

        assert names(found) == ["seen late", "seen early", "never seen"]

    def test_results_come_in_pages_that_say_when_more_follow(
        self, db: Database
    ) -> None:
        for minute in range(5):
            add_customer(
                db, profile={"name": f"c{minute}"}, last_seen_at=T0 + minute * MINUTE
            )

        pages = [names(reads.search_customers(db, ORG, "c", n, 2)) for n in (1, 3)]

        assert pages == [["c4", "c3"], ["c0"]]
        assert reads.search_customers(db, ORG, "c", 2, 2)[1] is True
        assert reads.search_customers(db, ORG, "c", 3, 2)[1] is False

    def test_customers_of_another_org_are_never_found(self, db: Database) -> None:
        add_customer(db, OTHER_ORG, JANE)

        assert reads.search_customers(db, ORG, "jane", 1, 25) == ([], False)
        assert reads.search_customers(db, ORG, "", 1, 25) == ([], False)


class TestCustomersById:
    def test_customers_of_the_org_are_returned_by_id(self, db: Database) -> None:
        jane = add_customer(db, profile=JANE)
        stranger = add_customer(db, OTHER_ORG, JOHN)

        found = reads.customers_by_id(db, ORG, [jane.id, stranger.id])

        assert found == {jane.id: jane}

    def test_no_ids_ask_nothing(self, db: Database) -> None:
        assert reads.customers_by_id(db, ORG, []) == {}


class TestChangeRecords:
    def test_create_and_update_records_come_newest_first_without_events(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        created = add_change(db, jane.id, kind="create", published_at=T0)
        add_event(db, jane.id, published_at=T0 + MINUTE)
        update = {"attributes": {"name": {"op": "add", "before": None, "after": "J"}}}
        updated = add_change(db, jane.id, changes=update, published_at=T0 + 2 * MINUTE)

        found = reads.change_records(db, ORG, jane.id, 1, 20)

        assert found == ([updated, created], False)

    def test_records_of_another_orgs_customer_are_not_listed(
        self, db: Database
    ) -> None:
        jane = add_customer(db, OTHER_ORG)
        add_change(db, jane.id, OTHER_ORG, kind="create")

        assert reads.change_records(db, ORG, jane.id, 1, 20) == ([], False)


class TestCustomerVisitors:
    def test_visitors_bound_to_the_customer_latest_activity_first(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        phone = add_visitor(db, "phone", customer_id=jane.id, at=T0)
        laptop = add_visitor(db, "laptop", customer_id=jane.id, at=T0 + MINUTE)
        add_visitor(db, "anonymous")
        add_visitor(db, "stranger", OTHER_ORG, customer_id=jane.id)

        found = reads.customer_visitors(db, ORG, jane.id, 50)

        assert found == [laptop, phone]


class TestOpeningEvents:
    def test_each_sessions_first_events_come_oldest_first_up_to_the_limit(
        self, db: Database
    ) -> None:
        jane = add_customer(db)
        one = add_session(db, jane.id, session_id="s-1")
        two = add_session(db, jane.id, session_id="s-2")
        first, second, _third = (
            add_event(db, jane.id, session_id="s-1", published_at=T0 + m * MINUTE)
            for m in (0, 1, 2)
        )
        only = add_event(db, jane.id, session_id="s-2")
        add_event(db, None, session_id="s-1")

        found = reads.opening_events(db, ORG, jane.id, [one, two], 2)

        assert found == {one.id: [first, second], two.id: [only]}
