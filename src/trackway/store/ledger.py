"""The domain's `Ledger` on SQLAlchemy Core, for SQLite and PostgreSQL.

Claims and session counts are single `INSERT ... ON CONFLICT` statements, so
two transactions racing for one identifier or one session each get a clear
answer from the database instead of a duplicate row.
"""

from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.schema import Table

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.rows import customer_from_row, session_from_row, visitor_from_row
from trackway.store.tables import customers, events, identifiers, sessions, visitors


def upsert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT that understands ON CONFLICT."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_if_absent(
    connection: Connection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert the row unless its key is taken; True when this call inserted it.

    On PostgreSQL a concurrent insert of the same key makes this wait for
    the other transaction, then answer False if it committed. RETURNING
    tells the outcome on both backends (psycopg reports no rowcount here).
    """
    statement = upsert(connection, table).values(values).on_conflict_do_nothing()
    first_key = next(iter(table.primary_key.columns))
    return connection.execute(statement.returning(first_key)).first() is not None


class SqlLedger:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._locks = connection.dialect.name == "postgresql"

    def owners(self, org_id: str, wanted: list[Identifier]) -> dict[Identifier, str]:
        if not wanted:
            return {}
        pairs = [
            and_(identifiers.c.kind == i.kind.value, identifiers.c.value == i.value)
            for i in wanted
        ]
        query = select(
            identifiers.c.kind, identifiers.c.value, identifiers.c.customer_id
        ).where(identifiers.c.org_id == org_id, or_(*pairs))
        rows = self.connection.execute(query)
        return {
            Identifier(IdentifierKind(r.kind), r.value): r.customer_id for r in rows
        }

    def claim(self, org_id: str, identifier: Identifier, customer_id: str) -> bool:
        values = {
            "org_id": org_id,
            "kind": identifier.kind.value,
            "value": identifier.value,
            "customer_id": customer_id,
        }
        return insert_if_absent(self.connection, identifiers, values)

    def release(self, org_id: str, identifier: Identifier, customer_id: str) -> None:
        self.connection.execute(
            delete(identifiers).where(
                identifiers.c.org_id == org_id,
                identifiers.c.kind == identifier.kind.value,
                identifiers.c.value == identifier.value,
                identifiers.c.customer_id == customer_id,
            )
        )

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        query = select(customers).where(
            customers.c.org_id == org_id, customers.c.customer_id == customer_id
        )
        if self._locks:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else customer_from_row(row)

    def insert_customer(self, customer: Customer) -> None:
        self.connection.execute(customers.insert().values(_customer_values(customer)))

    def update_customer(self, customer: Customer) -> None:
        self.connection.execute(
            update(customers)
            .where(
                customers.c.org_id == customer.org_id,
                customers.c.customer_id == customer.id,
            )
            .values(
                rev=customer.rev,
                profile=customer.profile,
                updated_at=customer.updated_at,
                modified_at=customer.modified_at,
                trait_times=customer.trait_times,
            )
        )

    def touch_customer(self, org_id: str, customer_id: str, seen_at: int) -> None:
        last_seen = customers.c.last_seen_at
        self.connection.execute(
            update(customers)
            .where(
                customers.c.org_id == org_id,
                customers.c.customer_id == customer_id,
                or_(last_seen.is_(None), last_seen < seen_at),
            )
            .values(last_seen_at=seen_at)
        )

    def visitor(self, org_id: str, tracking_id: str) -> Visitor | None:
        query = select(visitors).where(
            visitors.c.org_id == org_id, visitors.c.tracking_id == tracking_id
        )
        if self._locks:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else visitor_from_row(row)

    def insert_visitor(self, visitor: Visitor) -> bool:
        return insert_if_absent(self.connection, visitors, _visitor_values(visitor))

    def update_visitor(self, visitor: Visitor) -> None:
        self.connection.execute(
            update(visitors)
            .where(
                visitors.c.org_id == visitor.org_id,
                visitors.c.tracking_id == visitor.tracking_id,
            )
            .values(_visitor_values(visitor))
        )

    def session(self, org_id: str, tracking_id: str, session_id: str) -> Session | None:
        query = select(sessions).where(
            sessions.c.org_id == org_id,
            sessions.c.tracking_id == tracking_id,
            sessions.c.session_id == session_id,
        )
        row = self.connection.execute(query).first()
        return None if row is None else session_from_row(row)

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        query = (
            select(sessions)
            .where(
                sessions.c.org_id == org_id,
                sessions.c.tracking_id == tracking_id,
                sessions.c.last_event_at >= at - gap,
                sessions.c.first_event_at <= at + gap,
            )
            .order_by(sessions.c.last_event_at.desc())
            .limit(1)
        )
        row = self.connection.execute(query).first()
        return None if row is None else session_from_row(row)

    def add_to_session(self, session: Session, at: int) -> Session:
        statement = upsert(self.connection, sessions).values(
            org_id=session.org_id,
            tracking_id=session.tracking_id,
            session_id=session.session_id,
            id=session.id,
            customer_id=session.customer_id,
            first_event_at=at,
            last_event_at=at,
            count=1,
        )
        stored = sessions.c
        least, greatest = self._least_greatest()
        statement = statement.on_conflict_do_update(
            index_elements=[stored.org_id, stored.tracking_id, stored.session_id],
            set_={
                "count": stored.count + 1,
                "first_event_at": least(stored.first_event_at, at),
                "last_event_at": greatest(stored.last_event_at, at),
                "customer_id": func.coalesce(stored.customer_id, session.customer_id),
            },
        ).returning(*sessions.c)
        row = self.connection.execute(statement).one()
        return session_from_row(row)

    def _least_greatest(self) -> tuple[Any, Any]:
        # SQLite's two-argument min()/max() are PostgreSQL's least()/greatest().
        if self.connection.dialect.name == "sqlite":
            return func.min, func.max
        return func.least, func.greatest

    def insert_event(self, event: TrackingEvent) -> None:
        self.connection.execute(events.insert().values(event_values(event)))

    def insert_change(self, record: ChangeRecord) -> None:
        self.connection.execute(
            events.insert().values(
                org_id=record.org_id,
                event_id=record.id,
                kind=record.kind,
                customer_id=record.customer_id,
                changes=record.changes,
                published_at=record.published_at,
                created_at=record.created_at,
            )
        )

    def attribute_anonymous(
        self, org_id: str, tracking_id: str, customer_id: str, since: int
    ) -> None:
        params = {
            "org": org_id,
            "visitor": tracking_id,
            "customer": customer_id,
            "since": since,
        }
        self.connection.execute(_ATTRIBUTE_SESSIONS, params)
        self.connection.execute(_ATTRIBUTE_EVENTS, params)
        latest = self.connection.execute(_LATEST_OF_VISITOR, params).scalar()
        if latest is not None:
            self.touch_customer(org_id, customer_id, latest)


def _unindexed(customer_id: Any) -> Any:
    """A customer id column as `''` when null, which no index answers.

    Both queries of `attribute_anonymous` are about one visitor, whose
    events `ix_events_visitor` finds; left to itself, SQLite's planner
    (which has no statistics) prefers `ix_events_timeline` and walks
    every anonymous event of the org, or every event of the customer.
    """
    return func.coalesce(customer_id, "")


# The statements of `attribute_anonymous`, built once: an import runs
# them for every visitor it identifies.
_ATTRIBUTE_SESSIONS = (
    update(sessions)
    .where(
        sessions.c.org_id == bindparam("org"),
        sessions.c.tracking_id == bindparam("visitor"),
        sessions.c.customer_id.is_(None),
        sessions.c.last_event_at >= bindparam("since"),
    )
    .values(customer_id=bindparam("customer"))
)
_ATTRIBUTE_EVENTS = (
    update(events)
    .where(
        events.c.org_id == bindparam("org"),
        events.c.tracking_id == bindparam("visitor"),
        _unindexed(events.c.customer_id) == "",
        events.c.published_at >= bindparam("since"),
    )
    .values(customer_id=bindparam("customer"))
)
_LATEST_OF_VISITOR = select(func.max(events.c.published_at)).where(
    events.c.org_id == bindparam("org"),
    events.c.tracking_id == bindparam("visitor"),
    _unindexed(events.c.customer_id) == bindparam("customer"),
)


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


def _customer_values(customer: Customer) -> dict[str, Any]:
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
