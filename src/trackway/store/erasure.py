"""Erasure (SPEC 9): forgetting one customer in one transaction.

What goes: the customer row, its identifiers, every event and change
record attributed to it, its sessions, the visitors bound to it together
with their anonymous events and sessions, and the idempotency records that
answered for it. What is scrubbed elsewhere: the `conflict` notes and the
`email` of other visitors, stored responses of other calls, and refused
Segment messages, wherever they mention the customer's id or identifiers.

The anonymous history of a bound visitor goes too: a later call with that
trackingId starts a fresh visitor, and if it were identified that history
would be attributed to whoever it turns out to be.

The scrubbing looks for the id and identifiers as JSON strings with LIKE,
over the org's visitors with a conflict and its idempotency records;
erasure is rare, so a scan of one org's rows is an accepted cost.
"""

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    delete,
    func,
    or_,
    select,
    type_coerce,
    update,
)

from trackway.store.database import Database
from trackway.store.tables import (
    customers,
    events,
    idempotency,
    identifiers,
    rejected_messages,
    sessions,
    visitors,
)

_json = msgspec.json.Encoder()


def erase_customer(db: Database, org_id: str, customer_id: str) -> bool:
    """Forget the customer; False when the org has no such customer."""
    return db.transact(lambda conn: _erase(conn, org_id, customer_id))


def _erase(conn: Connection, org_id: str, customer_id: str) -> bool:
    profile = _lock(conn, org_id, customer_id)
    if profile is None:
        return False
    traces = _traces(conn, org_id, customer_id, profile)
    _delete_history(conn, org_id, customer_id)
    _scrub_others(conn, org_id, customer_id, traces)
    _delete_identity(conn, org_id, customer_id)
    return True


def _lock(conn: Connection, org_id: str, customer_id: str) -> Any:
    """The customer's profile, with its visitors and itself locked.

    Visitors first, then the customer: the order tracking calls take them
    in. A call holding a bound visitor finishes before erasure goes on (and
    its event is erased with the rest); one that comes after finds no
    visitor and starts a fresh one.
    """
    bound = (
        select(visitors.c.tracking_id)
        .where(visitors.c.org_id == org_id)
        .where(visitors.c.customer_id == customer_id)
        .order_by(visitors.c.tracking_id)
        .with_for_update()
    )
    conn.execute(bound).all()
    query = (
        select(customers.c.profile)
        .where(customers.c.org_id == org_id)
        .where(customers.c.customer_id == customer_id)
        .with_for_update()
    )
    return conn.execute(query).scalar_one_or_none()


def _traces(
    conn: Connection, org_id: str, customer_id: str, profile: dict[str, Any]
) -> set[str]:
    """The customer's identifier values, stored and as kept in its profile."""
    query = (
        select(identifiers.c.value)
        .where(identifiers.c.org_id == org_id)
        .where(identifiers.c.customer_id == customer_id)
    )
    found = set(conn.execute(query).scalars())
    found.update(e.get("email") for e in profile.get("emails") or [])
    found.update(p.get("phone") for p in profile.get("phones") or [])
    found.add(profile.get("externalId"))
    return {t for t in found if isinstance(t, str) and t}


def _delete_history(conn: Connection, org_id: str, customer_id: str) -> None:
    bound = (
        select(visitors.c.tracking_id)
        .where(visitors.c.org_id == org_id)
        .where(visitors.c.customer_id == customer_id)
    )
    for table in (events, sessions):
        owned = or_(
            table.c.customer_id == customer_id,
            table.c.customer_id.is_(None) & table.c.tracking_id.in_(bound),
        )
        conn.execute(delete(table).where(table.c.org_id == org_id).where(owned))


def _scrub_others(
    conn: Connection, org_id: str, customer_id: str, traces: set[str]
) -> None:
    mentions = {customer_id, *traces}
    conn.execute(
        update(visitors)
        .where(visitors.c.org_id == org_id)
        .where(visitors.c.conflict.is_not(None))
        .where(_mentions(visitors.c.conflict, mentions))
        .values(conflict=None)
    )
    conn.execute(
        update(visitors)
        .where(visitors.c.org_id == org_id)
        .where(func.lower(visitors.c.email).in_([t.lower() for t in traces]))
        .values(email=None)
    )
    conn.execute(
        delete(rejected_messages)
        .where(rejected_messages.c.org_id == org_id)
        .where(_mentions(rejected_messages.c.message, mentions))
    )
    conn.execute(
        delete(idempotency)
        .where(idempotency.c.org_id == org_id)
        .where(
            or_(
                idempotency.c.customer_id == customer_id,
                _mentions(idempotency.c.body, mentions),
            )
        )
    )


def _delete_identity(conn: Connection, org_id: str, customer_id: str) -> None:
    tables: Iterable[Table] = (visitors, identifiers, customers)
    for table in tables:
        conn.execute(
            delete(table)
            .where(table.c.org_id == org_id)
            .where(table.c.customer_id == customer_id)
        )


def _mentions(column: Any, values: set[str]) -> ColumnElement[bool]:
    """The JSON text in `column` holds one of `values` as a whole string.

    Matching the quoted form keeps a short externalId such as "7" from
    matching every stored answer that happens to contain a 7.
    """
    text = func.lower(type_coerce(column, Text), type_=Text)
    quoted = (_json.encode(v).decode().lower() for v in values)
    return or_(*(text.contains(q, autoescape=True) for q in quoted))
