"""Reading an org's customers out, whole, as one stream (`trackway export`).

One snapshot transaction runs five queries side by side, each ordered by
customer id and read through a server-side cursor (`stream_results`), and
walks them together like a merge join: each customer comes out followed
by its visitors, sessions and events. Memory holds one fetch of each
cursor, whatever the size of the org, and every query is a range scan of
an index that starts with (org_id, customer_id).

Customer ids are 24 lowercase hex characters, which every collation
orders the same way, so the database's order is Python's order here.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, func, or_, select

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.database import Database
from trackway.store.rows import (
    customer_from_row,
    session_from_row,
    stored_event,
    visitor_from_row,
)
from trackway.store.tables import customers, events, identifiers, sessions, visitors

FETCH_ROWS = 500


@dataclass(frozen=True, slots=True)
class Selection:
    """Which customers, and which of their events, an export holds.

    `customer_id` keeps one customer. `since` (epoch ms) keeps what was
    written at or after it: customers whose record changed then or that
    got events then, with those events and change records only, and all
    their sessions and visitors (their current state).
    """

    customer_id: str | None = None
    since: int | None = None


@dataclass(frozen=True, slots=True)
class ExportedCustomer:
    """A customer and the identifiers that find it."""

    customer: Customer
    identifiers: list[Identifier]


Exported = ExportedCustomer | Visitor | Session | TrackingEvent | ChangeRecord


def export_customers(
    db: Database, org_id: str, selection: Selection = Selection()
) -> Iterator[Exported]:
    """Each selected customer, then its visitors, sessions and events
    (oldest first), customer after customer in id order."""
    with db.snapshot() as connection:
        chosen = _chosen(org_id, selection)
        claims, bound, sessioned = (
            _Walk(connection, _children(table, org_id, chosen, order))
            for table, order in _CHILDREN
        )
        happened = _Walk(connection, _events(org_id, chosen, selection.since))
        query = chosen.order_by(customers.c.customer_id)
        for row in _stream(connection, query):
            customer_id = row.customer_id
            owned = [_identifier(r) for r in claims.rows_of(customer_id)]
            yield ExportedCustomer(customer_from_row(row), owned)
            yield from map(visitor_from_row, bound.rows_of(customer_id))
            yield from map(session_from_row, sessioned.rows_of(customer_id))
            yield from map(stored_event, happened.rows_of(customer_id))


def count_customers(db: Database, org_id: str, selection: Selection) -> int:
    """How many customers `export_customers` would give (for a progress
    bar; the export itself may see a few more or fewer)."""
    chosen = _chosen(org_id, selection).subquery()
    with db.read() as connection:
        found = connection.execute(select(func.count()).select_from(chosen))
        return int(found.scalar_one())


_CHILDREN = (
    (identifiers, (identifiers.c.kind, identifiers.c.value)),
    (visitors, (visitors.c.tracking_id,)),
    (sessions, (sessions.c.last_event_at, sessions.c.id)),
)


def _chosen(org_id: str, selection: Selection) -> Select[Any]:
    query = select(customers).where(customers.c.org_id == org_id)
    if selection.customer_id is not None:
        query = query.where(customers.c.customer_id == selection.customer_id)
    if selection.since is not None:
        written = (
            select(events.c.customer_id)
            .where(events.c.org_id == org_id)
            .where(events.c.created_at >= selection.since)
        )
        query = query.where(
            or_(
                customers.c.updated_at >= selection.since,
                customers.c.customer_id.in_(written),
            )
        )
    return query


def _children(
    table: Any, org_id: str, chosen: Select[Any], order: tuple[Any, ...]
) -> Select[Any]:
    owners = chosen.with_only_columns(customers.c.customer_id)
    return (
        select(table)
        .where(table.c.org_id == org_id)
        .where(table.c.customer_id.in_(owners))
        .order_by(table.c.customer_id, *order)
    )


def _events(org_id: str, chosen: Select[Any], since: int | None) -> Select[Any]:
    order = (events.c.published_at, events.c.event_id)
    query = _children(events, org_id, chosen, order)
    if since is not None:
        query = query.where(events.c.created_at >= since)
    return query


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Row[Any]]:
    options = {"stream_results": True, "yield_per": FETCH_ROWS}
    return iter(connection.execute(query.execution_options(**options)))


class _Walk:
    """A cursor ordered by customer id, read one customer at a time."""

    def __init__(self, connection: Connection, query: Select[Any]) -> None:
        self._rows = _stream(connection, query)
        self._next: Row[Any] | None = next(self._rows, None)

    def rows_of(self, customer_id: str) -> Iterator[Row[Any]]:
        """The rows of `customer_id`, skipping rows of customers before it
        (none are expected: the queries select the same customers)."""
        while self._next is not None and self._next.customer_id <= customer_id:
            row = self._next
            self._next = next(self._rows, None)
            if row.customer_id == customer_id:
                yield row


def _identifier(row: Row[Any]) -> Identifier:
    return Identifier(IdentifierKind(row.kind), row.value)
