"""Writing an export back (`trackway import` of an export file).

Records keep their ids, so importing is idempotent: a record already
stored is left as it is, and an interrupted import run again stores only
what it had not. Batches are one transaction each. What is kept when the
database already holds a record:

- a customer is replaced only by a record of a higher `rev` (newer);
- an identifier owned by another customer stays with it (counted);
- a session keeps the larger count and the wider time span;
- visitors, events and change records are never overwritten.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, func, select, update

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.database import Database
from trackway.store.exporter import Exported, ExportedCustomer
from trackway.store.ledger import SqlLedger, event_values, upsert
from trackway.store.tables import customers, events, sessions, visitors

DEFAULT_BATCH_SIZE = 1000


@dataclass(slots=True)
class RestoreTotals:
    """What a restore did. `present` counts records the database already
    held; `taken` identifiers that another customer owns."""

    records: int = 0
    customers: int = 0
    events: int = 0
    present: int = 0
    taken: int = 0

    def add(self, other: "RestoreTotals") -> None:
        self.records += other.records
        self.customers += other.customers
        self.events += other.events
        self.present += other.present
        self.taken += other.taken


def restore(
    db: Database,
    org_id: str,
    records: Iterable[Exported],
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[RestoreTotals], None] | None = None,
) -> RestoreTotals:
    """Store `records` (of org `org_id`), `batch_size` per transaction;
    `on_batch` hears the totals of each committed batch."""
    totals = RestoreTotals()
    for batch in _batches(records, batch_size):
        with db.write() as connection:
            done = _Batch(connection, org_id).write(batch)
        totals.add(done)
        if on_batch is not None:
            on_batch(done)
    return totals


def _batches(records: Iterable[Exported], size: int) -> Iterator[list[Exported]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class _Batch:
    def __init__(self, connection: Connection, org_id: str) -> None:
        self.connection = connection
        self.org_id = org_id
        self.totals = RestoreTotals()

    def write(self, batch: list[Exported]) -> RestoreTotals:
        self.totals.records = len(batch)
        self._customers([r for r in batch if isinstance(r, ExportedCustomer)])
        self._visitors([r for r in batch if isinstance(r, Visitor)])
        self._sessions([r for r in batch if isinstance(r, Session)])
        happened = [r for r in batch if isinstance(r, TrackingEvent | ChangeRecord)]
        self._events(happened)
        return self.totals

    def _customers(self, found: list[ExportedCustomer]) -> None:
        if not found:
            return
        ids = [record.customer.id for record in found]
        query = select(customers.c.customer_id, customers.c.rev).where(
            customers.c.org_id == self.org_id, customers.c.customer_id.in_(ids)
        )
        stored = {row.customer_id: row.rev for row in self.connection.execute(query)}
        for record in found:
            self._customer(record.customer, stored.get(record.customer.id))
            self._claim(record)

    def _customer(self, customer: Customer, stored_rev: int | None) -> None:
        values = _customer_values(customer, self.org_id)
        if stored_rev is None:
            self.connection.execute(customers.insert().values(values))
        elif stored_rev < customer.rev:
            self.connection.execute(
                update(customers)
                .where(customers.c.org_id == self.org_id)
                .where(customers.c.customer_id == customer.id)
                .values(values)
            )
        else:
            self.totals.present += 1
            return
        self.totals.customers += 1

    def _claim(self, record: ExportedCustomer) -> None:
        ledger = SqlLedger(self.connection)
        owners = ledger.owners(self.org_id, record.identifiers)
        for identifier in record.identifiers:
            owner = owners.get(identifier)
            if owner is None:
                ledger.claim(self.org_id, identifier, record.customer.id)
            elif owner != record.customer.id:
                self.totals.taken += 1

    def _visitors(self, found: list[Visitor]) -> None:
        if not found:
            return
        wanted = [visitor.tracking_id for visitor in found]
        query = select(visitors.c.tracking_id).where(
            visitors.c.org_id == self.org_id, visitors.c.tracking_id.in_(wanted)
        )
        stored = set(self.connection.execute(query).scalars())
        new = [
            _visitor_values(v, self.org_id)
            for v in found
            if v.tracking_id not in stored
        ]
        self.totals.present += len(found) - len(new)
        if new:
            insert = upsert(self.connection, visitors).on_conflict_do_nothing()
            self.connection.execute(insert, new)

    def _sessions(self, found: list[Session]) -> None:
        if not found:
            return
        rows = [{**asdict(s), "org_id": self.org_id} for s in found]
        self.connection.execute(_merge_sessions(self.connection), rows)

    def _events(self, found: list[TrackingEvent | ChangeRecord]) -> None:
        if not found:
            return
        ids = [event.id for event in found]
        query = select(events.c.event_id).where(
            events.c.org_id == self.org_id, events.c.event_id.in_(ids)
        )
        stored = set(self.connection.execute(query).scalars())
        new = [_event_values(e, self.org_id) for e in found if e.id not in stored]
        self.totals.present += len(found) - len(new)
        self.totals.events += len(new)
        if new:
            self.connection.execute(events.insert(), new)


def _merge_sessions(connection: Connection) -> Any:
    """Insert sessions; one already stored keeps the larger count."""
    statement = upsert(connection, sessions)
    stored, new = sessions.c, statement.excluded
    sqlite = connection.dialect.name == "sqlite"
    least = func.min if sqlite else func.least
    greatest = func.max if sqlite else func.greatest
    return statement.on_conflict_do_update(
        index_elements=[stored.org_id, stored.tracking_id, stored.session_id],
        set_={
            "count": greatest(stored.count, new.count),
            "first_event_at": least(stored.first_event_at, new.first_event_at),
            "last_event_at": greatest(stored.last_event_at, new.last_event_at),
            "customer_id": func.coalesce(stored.customer_id, new.customer_id),
        },
    )


def _customer_values(customer: Customer, org_id: str) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "customer_id": customer.id,
        "rev": customer.rev,
        "profile": customer.profile,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "modified_at": customer.modified_at,
        "last_seen_at": customer.last_seen_at,
    }


def _visitor_values(visitor: Visitor, org_id: str) -> dict[str, Any]:
    # A Visitor's fields are the columns of `visitors`.
    return {**asdict(visitor), "org_id": org_id}


def _event_values(event: TrackingEvent | ChangeRecord, org_id: str) -> dict[str, Any]:
    if isinstance(event, TrackingEvent):
        return {**event_values(event), "org_id": org_id}
    return {
        "org_id": org_id,
        "event_id": event.id,
        "kind": event.kind,
        "customer_id": event.customer_id,
        "tracking_id": None,
        "session_id": None,
        "name": None,
        "meta": None,
        "changes": event.changes,
        "real_ip": None,
        "published_at": event.published_at,
        "created_at": event.created_at,
    }
