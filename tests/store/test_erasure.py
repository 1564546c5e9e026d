"""Erasure: after `erase_customer` no table holds anything of the customer."""

from typing import Any

import pytest
from sqlalchemy import func, select

from factories import (
    MINUTE,
    ORG,
    OTHER_ORG,
    T0,
    add_change,
    add_customer,
    add_event,
    add_idempotency,
    add_session,
    add_visitor,
)
from trackway.domain.model import Customer
from trackway.store import reads
from trackway.store.database import Database
from trackway.store.erasure import erase_customer
from trackway.store.tables import (
    customers,
    events,
    idempotency,
    identifiers,
    metadata,
    sessions,
    visitors,
)

NAME = "Jane Erasable"
EMAIL = "jane.erasable@example.com"
PHONE = "+14155550123"
EXTERNAL_ID = "crm-erasable-42"
IP = "203.0.113.77"

JANE = {
    "name": NAME,
    "externalId": EXTERNAL_ID,
    "emails": [{"type": "other", "email": EMAIL, "verified": False}],
    "phones": [{"type": "other", "phone": PHONE, "verified": False}],
    "custom": {"loyaltyStr": "gold"},
}
JOHN = {
    "name": "John Keeps",
    "emails": [{"type": "other", "email": "john@example.com", "verified": False}],
}


@pytest.fixture
def db(database: Database) -> Database:
    return database


def test_erasure_leaves_no_trace_of_the_customer_in_any_table(
    db: Database,
) -> None:
    jane = _jane_with_history(db)

    erased = erase_customer(db, ORG, jane.id)

    assert erased is True
    assert _traces_left(db, [jane.id, NAME, EMAIL, PHONE, EXTERNAL_ID, IP]) == []


def test_the_trace_scan_finds_what_erasure_must_remove(db: Database) -> None:
    """The scan of the test above would see the customer if it were there."""
    jane = _jane_with_history(db)

    left = _traces_left(db, [jane.id, NAME, EMAIL, PHONE, EXTERNAL_ID, IP])

    assert {where.split(".")[0] for where in left} == {
        "customers",
        "identifiers",
        "events",
        "sessions",
        "visitors",
        "idempotency",
    }


def test_erasure_keeps_other_customers_and_their_history(db: Database) -> None:
    jane = _jane_with_history(db)
    john = add_customer(db, profile=JOHN)
    add_visitor(db, "johns-phone", customer_id=john.id, email="john@example.com")
    add_session(db, john.id, tracking_id="johns-phone", session_id="j-1")
    johns_event = add_event(db, john.id, tracking_id="johns-phone", real_ip=IP)
    add_change(db, john.id, kind="create")
    add_idempotency(db, "johns-call", customer_id=john.id, body="{}")

    erase_customer(db, ORG, jane.id)

    assert reads.customer(db, ORG, john.id) == john
    assert _count(db, identifiers, john.id) == 1
    assert _count(db, events, john.id) == 2
    assert _count(db, sessions, john.id) == 1
    assert _count(db, visitors, john.id) == 1
    assert _count(db, idempotency, john.id) == 1
    assert reads.customer_event(db, ORG, john.id, johns_event.id) == johns_event


def test_erasure_forgets_the_bound_visitors(db: Database) -> None:
    """A later call with the trackingId must find no visitor to continue."""
    jane = add_customer(db, profile=JANE)
    add_visitor(db, "janes-laptop", customer_id=jane.id, email=EMAIL)

    erase_customer(db, ORG, jane.id)

    with db.read() as conn:
        left = conn.execute(select(visitors.c.tracking_id)).scalars().all()
    assert left == []


def test_erasure_removes_anonymous_history_of_the_bound_visitors(
    db: Database,
) -> None:
    """Else a fresh visitor with that trackingId would inherit it."""
    jane = add_customer(db, profile=JANE)
    add_visitor(db, "kiosk", customer_id=jane.id)
    add_session(db, None, tracking_id="kiosk", session_id="later")
    add_event(db, None, tracking_id="kiosk", session_id="later")
    add_session(db, None, tracking_id="stranger", session_id="s")
    strangers = add_event(db, None, tracking_id="stranger", session_id="s")

    erase_customer(db, ORG, jane.id)

    with db.read() as conn:
        left = conn.execute(select(events.c.event_id)).scalars().all()
        tracked = conn.execute(select(sessions.c.tracking_id)).scalars().all()
    assert left == [strangers.id]
    assert tracked == ["stranger"]


def test_erasure_clears_conflicts_that_name_the_customer(db: Database) -> None:
    jane = add_customer(db, profile=JANE)
    john = add_customer(db, profile=JOHN)
    conflict = {"at": T0, "owners": [{"kind": "email", "customerId": jane.id}]}
    add_visitor(db, "johns-phone", customer_id=john.id, conflict=conflict)
    unrelated = {"at": T0, "owners": [{"kind": "phone", "customerId": "b" * 24}]}
    add_visitor(db, "other", customer_id=john.id, conflict=unrelated)

    erase_customer(db, ORG, jane.id)

    with db.read() as conn:
        rows = conn.execute(select(visitors.c.tracking_id, visitors.c.conflict))
        conflicts = {tracking_id: found for tracking_id, found in rows}
    assert conflicts == {"johns-phone": None, "other": unrelated}


def test_a_short_identifier_spares_answers_that_merely_contain_it(
    db: Database,
) -> None:
    seven = add_customer(db, profile={"externalId": "7"})
    john = add_customer(db, profile=JOHN)
    add_idempotency(db, "johns-call", customer_id=john.id, body='{"n": "x7", "m": 7}')

    erase_customer(db, ORG, seven.id)

    assert _count(db, idempotency, john.id) == 1


def test_unknown_customer_is_not_erased(db: Database) -> None:
    add_customer(db, profile=JANE)

    erased = erase_customer(db, ORG, "ffffffffffffffffffffffff")

    assert erased is False
    assert _rows(db, customers) == 1


def test_customer_of_another_org_is_not_erased(db: Database) -> None:
    jane = add_customer(db, OTHER_ORG, JANE)
    add_event(db, jane.id, OTHER_ORG, real_ip=IP)
    add_visitor(db, "janes-laptop", OTHER_ORG, customer_id=jane.id)

    erased = erase_customer(db, ORG, jane.id)

    assert erased is False
    assert (_rows(db, customers), _rows(db, events), _rows(db, visitors)) == (1, 1, 1)


def test_erasure_in_one_org_leaves_a_same_id_customer_of_another(
    db: Database,
) -> None:
    jane = add_customer(db, profile=JANE)
    twin = add_customer(db, OTHER_ORG, JOHN, customer_id=jane.id)
    add_event(db, twin.id, OTHER_ORG)

    erase_customer(db, ORG, jane.id)

    assert reads.customer(db, OTHER_ORG, twin.id) == twin
    assert _rows(db, events) == 1


def _jane_with_history(db: Database) -> Customer:
    """Jane, with every kind of row that can speak of her."""
    jane = add_customer(db, profile=JANE, last_seen_at=T0 + MINUTE)
    changes = {"attributes": {"name": {"op": "add", "before": None, "after": NAME}}}
    add_change(db, jane.id, kind="create", published_at=T0 - 10 * MINUTE)
    add_change(db, jane.id, changes=changes, published_at=T0 - MINUTE)
    add_visitor(db, "janes-laptop", customer_id=jane.id, email=EMAIL)
    add_session(db, jane.id, tracking_id="janes-laptop", session_id="s-1")
    add_event(db, jane.id, tracking_id="janes-laptop", session_id="s-1", real_ip=IP)
    # An event far in the past still goes.
    add_event(db, jane.id, tracking_id="janes-laptop", published_at=0, real_ip=IP)
    add_event(db, None, tracking_id="janes-laptop", session_id="s-9", real_ip=IP)
    add_session(db, None, tracking_id="janes-laptop", session_id="s-9")
    body = f'{{"data": {{"attributes": {{"email": "{EMAIL}"}}}}}}'
    add_idempotency(db, "janes-call", customer_id=jane.id, body=body)
    # Answered for someone else, yet it shows her email.
    add_idempotency(db, "mixed-call", body=body.upper())
    conflict = {"at": T0, "owners": [{"kind": "email", "customerId": jane.id}]}
    add_visitor(db, "shared-pc", customer_id=None, email=EMAIL, conflict=conflict)
    return jane


def _traces_left(db: Database, needles: list[str]) -> list[str]:
    """`table.column` of every stored value containing one of `needles`."""
    found: list[str] = []
    with db.read() as conn:
        for table in metadata.sorted_tables:
            names = [c.name for c in table.columns]
            quoted = ", ".join(f'"{n}"' for n in names)
            rows = conn.exec_driver_sql(f"SELECT {quoted} FROM {table.name}")
            for row in rows:
                found.extend(
                    f"{table.name}.{name}"
                    for name, value in zip(names, row, strict=True)
                    if _mentions(value, needles)
                )
    return found


def _mentions(value: Any, needles: list[str]) -> bool:
    text = str(value).casefold()
    return any(needle.casefold() in text for needle in needles)


def _count(db: Database, table: Any, customer_id: str) -> int:
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.org_id == ORG)
        .where(table.c.customer_id == customer_id)
    )
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def _rows(db: Database, table: Any) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(table)
        return int(conn.execute(query).scalar_one())
