"""Queries behind the read endpoints and the console: customers, sessions,
events, timeline, change history, visitors, search.

Every query filters by org first, so an id guessed from another org finds
nothing. Functions that list what belongs to a customer return None when
the customer does not exist, checked in the same transaction as the list.

Lists fetch one row more than asked for to learn whether another page
follows; nothing here counts rows.
"""

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Text,
    and_,
    cast,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.database import Database
from trackway.store.rows import (
    customer_from_row,
    session_from_row,
    stored_event,
    tracking_event_from_row,
    visitor_from_row,
)
from trackway.store.tables import customers, events, identifiers, sessions, visitors

# One entry of a customer's timeline: a tracking event or a change record.
StoredEvent = TrackingEvent | ChangeRecord

# Where a timeline page ends: (published_at, event_id) of its last event.
Cursor = tuple[int, str]

# What a person types for a phone: digits with spaces, dots, dashes, brackets.
_PHONE_LIKE = re.compile(r"\+?[0-9 ().-]+")


def customer(db: Database, org_id: str, customer_id: str) -> Customer | None:
    with db.read() as conn:
        return _customer(conn, org_id, customer_id)


def customer_by_identifier(
    db: Database, org_id: str, identifier: Identifier
) -> Customer | None:
    """The customer owning an already normalised identifier."""
    owner = (
        select(identifiers.c.customer_id)
        .where(identifiers.c.org_id == org_id)
        .where(identifiers.c.kind == identifier.kind.value)
        .where(identifiers.c.value == identifier.value)
    )
    with db.read() as conn:
        customer_id = conn.execute(owner).scalar_one_or_none()
        if customer_id is None:
            return None
        return _customer(conn, org_id, customer_id)


def customer_sessions(
    db: Database, org_id: str, customer_id: str, page: int, page_size: int
) -> tuple[list[Session], bool] | None:
    """The customer's sessions, latest `lastEventAt` first, and has-next."""
    query = (
        select(sessions)
        .where(sessions.c.org_id == org_id)
        .where(sessions.c.customer_id == customer_id)
        .order_by(sessions.c.last_event_at.desc(), sessions.c.id.desc())
    )
    with db.read() as conn:
        if not _exists(conn, org_id, customer_id):
            return None
        rows = _page_rows(conn, query, page, page_size)
    found = [session_from_row(row) for row in rows[:page_size]]
    return found, len(rows) > page_size


def session_events(
    db: Database,
    org_id: str,
    customer_id: str,
    session_key: str,
    page: int,
    page_size: int,
) -> tuple[list[TrackingEvent], bool] | None:
    """The customer's tracking events in one session, newest first.

    `session_key` is the session's resource id or the client's sessionId.
    None when the customer has no such session (or does not exist).
    """
    with db.read() as conn:
        named = _sessions_named(conn, org_id, customer_id, session_key)
        if not named:
            return None
        query = (
            select(events)
            .where(events.c.org_id == org_id)
            .where(events.c.kind == "tracking")
            .where(_owner(events.c.customer_id) == customer_id)
            .where(or_(*(_in_session(s) for s in named)))
            .order_by(events.c.published_at.desc(), events.c.event_id.desc())
        )
        rows = _page_rows(conn, query, page, page_size)
    found = [tracking_event_from_row(row) for row in rows[:page_size]]
    return found, len(rows) > page_size


def customer_event(
    db: Database, org_id: str, customer_id: str, event_id: str
) -> StoredEvent | None:
    """One event of the customer: a tracking event or a change record."""
    query = (
        select(events)
        .where(events.c.org_id == org_id)
        .where(events.c.event_id == event_id)
        .where(events.c.customer_id == customer_id)
    )
    with db.read() as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else stored_event(row)


def timeline(
    db: Database,
    org_id: str,
    customer_id: str,
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[StoredEvent], Cursor | None] | None:
    """Up to `limit` events strictly older than `cursor`, newest first.

    Ordered by (published_at, event_id) descending, the order of index
    `ix_events_timeline`, so each page is one index range scan however deep
    the walk. The second value is the cursor of the next page, None at the
    end. None when the customer does not exist.
    """
    query = timeline_query(org_id, customer_id, cursor, limit + 1)
    with db.read() as conn:
        if not _exists(conn, org_id, customer_id):
            return None
        rows = conn.execute(query).all()
    found = [stored_event(row) for row in rows[:limit]]
    if len(rows) <= limit:
        return found, None
    last = found[-1]
    return found, (last.published_at, last.id)


def timeline_query(
    org_id: str, customer_id: str, cursor: Cursor | None, limit: int
) -> Select[Any]:
    """The statement behind `timeline`, fetching `limit` rows."""
    key = tuple_(events.c.published_at, events.c.event_id)
    query = (
        select(events)
        .where(events.c.org_id == org_id)
        .where(events.c.customer_id == customer_id)
        .order_by(events.c.published_at.desc(), events.c.event_id.desc())
        .limit(limit)
    )
    if cursor is None:
        return query
    return query.where(key < tuple_(*cursor))


def customers_by_id(
    db: Database, org_id: str, customer_ids: Collection[str]
) -> dict[str, Customer]:
    """The customers of the org among `customer_ids`, by id."""
    if not customer_ids:
        return {}
    query = (
        select(customers)
        .where(customers.c.org_id == org_id)
        .where(customers.c.customer_id.in_(set(customer_ids)))
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    return {row.customer_id: customer_from_row(row) for row in rows}


def search_customers(
    db: Database, org_id: str, text: str, page: int, page_size: int
) -> tuple[list[Customer], bool]:
    """Customers whose name, email, phone or externalId holds `text`, and
    has-next; every customer when `text` is blank.

    Matching ignores case (ASCII case only on SQLite) and finds the text
    anywhere in the value; a phone typed with spaces or dashes matches its
    digits. A customer id matches itself. Most recent activity comes first
    (`lastSeenAt`, customers never seen last).
    """
    query = select(customers).where(customers.c.org_id == org_id)
    wanted = text.strip()
    if wanted:
        query = query.where(_matching(db, org_id, wanted))
    query = query.order_by(
        customers.c.last_seen_at.desc().nulls_last(),
        customers.c.modified_at.desc(),
        customers.c.customer_id.desc(),
    )
    with db.read() as conn:
        rows = _page_rows(conn, query, page, page_size)
    found = [customer_from_row(row) for row in rows[:page_size]]
    return found, len(rows) > page_size


def customer_visitors(
    db: Database, org_id: str, customer_id: str, limit: int
) -> list[Visitor]:
    """Up to `limit` visitors bound to the customer, latest activity first."""
    query = (
        select(visitors)
        .where(visitors.c.org_id == org_id)
        .where(visitors.c.customer_id == customer_id)
        .order_by(visitors.c.updated_at.desc(), visitors.c.tracking_id)
        .limit(limit)
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [visitor_from_row(row) for row in rows]


def change_records(
    db: Database, org_id: str, customer_id: str, page: int, page_size: int
) -> tuple[list[ChangeRecord], bool]:
    """The customer's create and update records, newest first, and has-next."""
    query = (
        select(events)
        .where(events.c.org_id == org_id)
        .where(events.c.customer_id == customer_id)
        .where(events.c.kind.in_(("create", "update")))
        .order_by(events.c.published_at.desc(), events.c.event_id.desc())
    )
    with db.read() as conn:
        rows = _page_rows(conn, query, page, page_size)
    found = [stored_event(row) for row in rows[:page_size]]
    return [r for r in found if isinstance(r, ChangeRecord)], len(rows) > page_size


def opening_events(
    db: Database, org_id: str, customer_id: str, chosen: list[Session], limit: int
) -> dict[str, list[TrackingEvent]]:
    """The first `limit` tracking events of each session, oldest first,
    keyed by the session's resource id; one consistent read for all."""
    found: dict[str, list[TrackingEvent]] = {}
    with db.read() as conn:
        for session in chosen:
            query = (
                select(events)
                .where(events.c.org_id == org_id)
                .where(events.c.kind == "tracking")
                .where(_owner(events.c.customer_id) == customer_id)
                .where(_in_session(session))
                .order_by(events.c.published_at, events.c.event_id)
                .limit(limit)
            )
            rows = conn.execute(query).all()
            found[session.id] = [tracking_event_from_row(row) for row in rows]
    return found


def _customer(conn: Connection, org_id: str, customer_id: str) -> Customer | None:
    query = (
        select(customers)
        .where(customers.c.org_id == org_id)
        .where(customers.c.customer_id == customer_id)
    )
    row = conn.execute(query).one_or_none()
    return None if row is None else customer_from_row(row)


def _exists(conn: Connection, org_id: str, customer_id: str) -> bool:
    query = (
        select(customers.c.customer_id)
        .where(customers.c.org_id == org_id)
        .where(customers.c.customer_id == customer_id)
    )
    return conn.execute(query).first() is not None


def _page_rows(
    conn: Connection, query: Select[Any], page: int, page_size: int
) -> list[Row[Any]]:
    """Rows of page `page` (from 1), plus the first row of the next page."""
    paged = query.offset((page - 1) * page_size).limit(page_size + 1)
    return list(conn.execute(paged).all())


def _sessions_named(
    conn: Connection, org_id: str, customer_id: str, key: str
) -> list[Session]:
    # A client's sessionId may look like a resource id, and two visitors of
    # one customer may reuse a sessionId, so every match counts.
    query = (
        select(sessions)
        .where(sessions.c.org_id == org_id)
        .where(sessions.c.customer_id == customer_id)
        .where(or_(sessions.c.id == key, sessions.c.session_id == key))
    )
    return [session_from_row(row) for row in conn.execute(query)]


def _owner(customer_id: Any) -> Any:
    """The customer id column, read so that no index answers for it.

    A session's events are found by `ix_events_visitor` (visitor, session,
    time); SQLite's planner, which has no statistics, would rather walk
    every event of the customer by `ix_events_timeline` and keep the
    session's, a cost that grows with the customer's history.
    """
    return func.coalesce(customer_id, "")


def _in_session(session: Session) -> Any:
    return and_(
        events.c.tracking_id == session.tracking_id,
        events.c.session_id == session.session_id,
    )


def _matching(db: Database, org_id: str, text: str) -> ColumnElement[bool]:
    folded = text.lower()
    patterns = [folded]
    digits = re.sub(r"[^0-9]", "", text)
    if _PHONE_LIKE.fullmatch(text) and len(digits) >= 3:
        patterns.append(digits)
    values = func.lower(identifiers.c.value)
    owners = (
        select(identifiers.c.customer_id)
        .where(identifiers.c.org_id == org_id)
        .where(or_(*(values.contains(p, autoescape=True) for p in patterns)))
    )
    name = func.lower(_profile_name(db))
    return or_(
        customers.c.customer_id == text,
        customers.c.customer_id.in_(owners),
        name.contains(folded, autoescape=True),
    )


def _profile_name(db: Database) -> ColumnElement[Any]:
    # The profile is JSON kept as text; each backend reads a key of it.
    profile = type_coerce(customers.c.profile, Text)
    if db.is_sqlite:
        return func.json_extract(profile, "$.name")
    name: ColumnElement[Any] = cast(profile, JSONB)["name"].astext
    return name
