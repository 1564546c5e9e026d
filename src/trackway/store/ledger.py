"""The domain's `Ledger` on SQLAlchemy Core, for SQLite and PostgreSQL.

Claims and session counts are single `INSERT ... ON CONFLICT` statements, so
two transactions racing for one identifier or one session each get a clear
answer from the database instead of a duplicate row.
"""

from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.schema import Table

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store import prepared
from trackway.store.rows import customer_from_row, session_from_row, visitor_from_row
from trackway.store.tables import customers, events, identifiers, sessions, visitors


def upsert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT that understands ON CONFLICT."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def execute(
    connection: Connection, statement: Any, parameters: dict[str, Any]
) -> list[Any]:
    """The rows of a statement built once (none for most writes); on
    SQLite through `prepared`, which spares the engine's per-call work."""
    if connection.dialect.name == "sqlite":
        return prepared.run(connection, statement, parameters)
    result = connection.execute(statement, parameters)
    return list(result) if result.returns_rows else []


def insert_if_absent(
    connection: Connection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert the row unless its key is taken; True when this call inserted it.

    On PostgreSQL a concurrent insert of the same key makes this wait for
    the other transaction, then answer False if it committed. RETURNING
    tells the outcome on both backends (psycopg reports no rowcount here).
    """
    statement = _insert_if_absent(connection.dialect.name, table)
    return bool(execute(connection, statement, values))


@cache
def _insert_if_absent(dialect: str, table: Table) -> Any:
    """Built once per dialect and table: building costs more than running."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first_key = next(iter(table.primary_key.columns))
    return insert(table).on_conflict_do_nothing().returning(first_key)


# Statements of the hot path, built once: building one per call costs more
# than running it. Where-clause parameters are prefixed `key_` so they do
# not clash with the columns an UPDATE sets.
_INSERT_EVENT = events.insert()
_VISITOR = select(visitors).where(
    visitors.c.org_id == bindparam("key_org"),
    visitors.c.tracking_id == bindparam("key_tracking"),
)
_UPDATE_VISITOR = update(visitors).where(
    visitors.c.org_id == bindparam("key_org"),
    visitors.c.tracking_id == bindparam("key_tracking"),
)
_UPDATE_CUSTOMER = update(customers).where(
    customers.c.org_id == bindparam("key_org"),
    customers.c.customer_id == bindparam("key_customer"),
)
_TOUCH_CUSTOMER = _UPDATE_CUSTOMER.where(
    or_(
        customers.c.last_seen_at.is_(None),
        customers.c.last_seen_at < bindparam("key_seen"),
    )
)


def _count_in_session(dialect: Any, least: Any, greatest: Any) -> Any:
    """An event counted in its session row, made on the first event."""
    stored = sessions.c
    at: Any = bindparam("key_at")
    return (
        dialect.insert(sessions)
        .on_conflict_do_update(
            index_elements=[stored.org_id, stored.tracking_id, stored.session_id],
            set_={
                "count": stored.count + 1,
                "first_event_at": least(stored.first_event_at, at),
                "last_event_at": greatest(stored.last_event_at, at),
                "customer_id": func.coalesce(
                    stored.customer_id, bindparam("key_customer")
                ),
            },
        )
        .returning(*sessions.c)
    )


_COUNT_IN_SESSION = {
    "sqlite": _count_in_session(sqlite, func.min, func.max),
    "postgresql": _count_in_session(postgresql, func.least, func.greatest),
}


def _unindexed(customer_id: Any) -> Any:
    """A customer id column as `''` when null, which no index answers.

    The queries below are about one visitor, whose events
    `ix_events_visitor` finds; left to itself, SQLite's planner (which has
    no statistics) prefers `ix_events_timeline` and walks every anonymous
    event of the org, or every event of the customer.
    """
    return func.coalesce(customer_id, "")


# A visitor's anonymous sessions and events since a moment, given to a
# customer (`customer_id` is the value set).
_ATTRIBUTE_SESSIONS = update(sessions).where(
    sessions.c.org_id == bindparam("key_org"),
    sessions.c.tracking_id == bindparam("key_tracking"),
    sessions.c.customer_id.is_(None),
    sessions.c.last_event_at >= bindparam("key_since"),
)
_ATTRIBUTE_EVENTS = update(events).where(
    events.c.org_id == bindparam("key_org"),
    events.c.tracking_id == bindparam("key_tracking"),
    _unindexed(events.c.customer_id) == "",
    events.c.published_at >= bindparam("key_since"),
)
_OWNER = select(identifiers.c.customer_id).where(
    identifiers.c.org_id == bindparam("key_org"),
    identifiers.c.kind == bindparam("key_kind"),
    identifiers.c.value == bindparam("key_value"),
)
_RELEASE = delete(identifiers).where(
    identifiers.c.org_id == bindparam("key_org"),
    identifiers.c.kind == bindparam("key_kind"),
    identifiers.c.value == bindparam("key_value"),
    identifiers.c.customer_id == bindparam("key_customer"),
)
_CUSTOMER = select(customers).where(
    customers.c.org_id == bindparam("key_org"),
    customers.c.customer_id == bindparam("key_customer"),
)
_INSERT_CUSTOMER = customers.insert()
_SESSION = select(sessions).where(
    sessions.c.org_id == bindparam("key_org"),
    sessions.c.tracking_id == bindparam("key_tracking"),
    sessions.c.session_id == bindparam("key_session"),
)
_SESSION_AROUND = (
    select(sessions)
    .where(
        sessions.c.org_id == bindparam("key_org"),
        sessions.c.tracking_id == bindparam("key_tracking"),
        sessions.c.last_event_at >= bindparam("key_from"),
        sessions.c.first_event_at <= bindparam("key_to"),
    )
    .order_by(sessions.c.last_event_at.desc())
    .limit(1)
)
_LATEST_OF_CUSTOMER = select(func.max(events.c.published_at).label("latest")).where(
    events.c.org_id == bindparam("key_org"),
    events.c.tracking_id == bindparam("key_tracking"),
    _unindexed(events.c.customer_id) == bindparam("key_customer"),
)


class SqlLedger:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._locks = connection.dialect.name == "postgresql"

    def owners(self, org_id: str, wanted: list[Identifier]) -> dict[Identifier, str]:
        # One prebuilt lookup per identifier (a call has one to three)
        # costs less than building a query for all of them.
        found: dict[Identifier, str] = {}
        for identifier in wanted:
            key = _identifier_key(org_id, identifier)
            rows = execute(self.connection, _OWNER, key)
            if rows:
                found[identifier] = rows[0].customer_id
        return found

    def claim(self, org_id: str, identifier: Identifier, customer_id: str) -> bool:
        values = {
            "org_id": org_id,
            "kind": identifier.kind.value,
            "value": identifier.value,
            "customer_id": customer_id,
        }
        return insert_if_absent(self.connection, identifiers, values)

    def release(self, org_id: str, identifier: Identifier, customer_id: str) -> None:
        key = _identifier_key(org_id, identifier)
        execute(self.connection, _RELEASE, {**key, "key_customer": customer_id})

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        query = _CUSTOMER.with_for_update() if self._locks else _CUSTOMER
        key = {"key_org": org_id, "key_customer": customer_id}
        rows = execute(self.connection, query, key)
        return customer_from_row(rows[0]) if rows else None

    def insert_customer(self, customer: Customer) -> None:
        execute(self.connection, _INSERT_CUSTOMER, customer_values(customer))

    def update_customer(self, customer: Customer) -> None:
        values = {
            "key_org": customer.org_id,
            "key_customer": customer.id,
            "rev": customer.rev,
            "profile": customer.profile,
            "updated_at": customer.updated_at,
            "modified_at": customer.modified_at,
            "trait_times": customer.trait_times,
        }
        execute(self.connection, _UPDATE_CUSTOMER, values)

    def touch_customer(self, org_id: str, customer_id: str, seen_at: int) -> None:
        key = {"key_org": org_id, "key_customer": customer_id}
        seen = {"key_seen": seen_at, "last_seen_at": seen_at}
        execute(self.connection, _TOUCH_CUSTOMER, {**key, **seen})

    def visitor(self, org_id: str, tracking_id: str) -> Visitor | None:
        query = _VISITOR.with_for_update() if self._locks else _VISITOR
        key = {"key_org": org_id, "key_tracking": tracking_id}
        rows = execute(self.connection, query, key)
        return visitor_from_row(rows[0]) if rows else None

    def insert_visitor(self, visitor: Visitor) -> bool:
        return insert_if_absent(self.connection, visitors, _visitor_values(visitor))

    def update_visitor(self, visitor: Visitor) -> None:
        key = {"key_org": visitor.org_id, "key_tracking": visitor.tracking_id}
        values = _visitor_values(visitor)
        execute(self.connection, _UPDATE_VISITOR, {**values, **key})

    def session(self, org_id: str, tracking_id: str, session_id: str) -> Session | None:
        key = {
            "key_org": org_id,
            "key_tracking": tracking_id,
            "key_session": session_id,
        }
        rows = execute(self.connection, _SESSION, key)
        return session_from_row(rows[0]) if rows else None

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        key = {
            "key_org": org_id,
            "key_tracking": tracking_id,
            "key_from": at - gap,
            "key_to": at + gap,
        }
        rows = execute(self.connection, _SESSION_AROUND, key)
        return session_from_row(rows[0]) if rows else None

    def add_to_session(self, session: Session, at: int) -> Session:
        values = {
            "org_id": session.org_id,
            "tracking_id": session.tracking_id,
            "session_id": session.session_id,
            "id": session.id,
            "customer_id": session.customer_id,
            "first_event_at": at,
            "last_event_at": at,
            "count": 1,
        }
        extra = {"key_at": at, "key_customer": session.customer_id}
        statement = _COUNT_IN_SESSION[self.connection.dialect.name]
        [row] = execute(self.connection, statement, {**values, **extra})
        return session_from_row(row)

    def _least_greatest(self) -> tuple[Any, Any]:
        # SQLite's two-argument min()/max() are PostgreSQL's least()/greatest().
        if self.connection.dialect.name == "sqlite":
            return func.min, func.max
        return func.least, func.greatest

    def insert_event(self, event: TrackingEvent) -> None:
        execute(self.connection, _INSERT_EVENT, event_values(event))

    def insert_change(self, record: ChangeRecord) -> None:
        execute(self.connection, _INSERT_EVENT, change_values(record))

    def attribute_anonymous(
        self, org_id: str, tracking_id: str, customer_id: str, since: int
    ) -> None:
        key = {"key_org": org_id, "key_tracking": tracking_id}
        given = {**key, "key_since": since, "customer_id": customer_id}
        execute(self.connection, _ATTRIBUTE_SESSIONS, given)
        execute(self.connection, _ATTRIBUTE_EVENTS, given)
        [row] = execute(
            self.connection, _LATEST_OF_CUSTOMER, {**key, "key_customer": customer_id}
        )
        latest = row.latest
        if latest is not None:
            self.touch_customer(org_id, customer_id, latest)


def event_values(event: TrackingEvent) -> dict[str, Any]:
    """The `events` row of a tracking event."""
    return {
        "org_id": event.org_id,
        "event_id": event.id,
        "kind": "tracking",
        "customer_id": event.customer_id,
        "tracking_id": event.tracking_id,
        "session_id": event.session_id,
        "name": event.name,
        "meta": event.meta,
        "real_ip": event.real_ip,
        "published_at": event.published_at,
        "created_at": event.created_at,
        "changes": None,
    }


def change_values(record: ChangeRecord) -> dict[str, Any]:
    """The `events` row of a change record (every column, as one prebuilt
    INSERT serves both kinds of event)."""
    return {
        "org_id": record.org_id,
        "event_id": record.id,
        "kind": record.kind,
        "customer_id": record.customer_id,
        "tracking_id": None,
        "session_id": None,
        "name": None,
        "meta": None,
        "real_ip": None,
        "published_at": record.published_at,
        "created_at": record.created_at,
        "changes": record.changes,
    }


def _identifier_key(org_id: str, identifier: Identifier) -> dict[str, str]:
    return {
        "key_org": org_id,
        "key_kind": identifier.kind.value,
        "key_value": identifier.value,
    }


def customer_values(customer: Customer) -> dict[str, Any]:
    """The `customers` row of a customer."""
    return {
        "org_id": customer.org_id,
        "customer_id": customer.id,
        "rev": customer.rev,
        "profile": customer.profile,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "modified_at": customer.modified_at,
        "last_seen_at": customer.last_seen_at,
        "trait_times": customer.trait_times,
    }


def _visitor_values(visitor: Visitor) -> dict[str, Any]:
    return {
        "org_id": visitor.org_id,
        "tracking_id": visitor.tracking_id,
        "identity_id": visitor.identity_id,
        "customer_id": visitor.customer_id,
        "remember": visitor.remember,
        "bound_session_id": visitor.bound_session_id,
        "pending": visitor.pending,
        "conflict": visitor.conflict,
        "email": visitor.email,
        "status": visitor.status,
        "status_at": visitor.status_at,
        "session_id": visitor.session_id,
        "session_at": visitor.session_at,
        "created_at": visitor.created_at,
        "updated_at": visitor.updated_at,
    }
