"""The import write path: rows that carry their own time, in batches.

Each row is an event, and a row that names a person is also an identity
call, applied just before its event exactly as `identityEvent` would: the
same `resolve()` and `record_event()` as the live API, on the same ledger.
The identity call runs at the event's own time, so the customer, its
change record and the session it opens are dated like the event.

A visitor is identified again only when its person differs from the one
it was last identified as during this import. The map that remembers this
keeps the most recently seen visitors only (`REMEMBERED_VISITORS`), so
memory stays bounded; a visitor it forgot is identified again, which
changes nothing stored.

A row may carry its event's id. A row whose event is already stored is
skipped whole (no identity call, no session count), so importing the same
rows again stores nothing twice.

One write transaction per batch: a batch is stored whole or not at all,
and batches committed before a failure stay stored. Inside it, a
`BatchLedger` holds the writes that every event makes (the event row, its
session's count, the visitor, the customer's lastSeenAt) and writes them
together before any read that could see them, and at the end.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select

from trackway import metrics
from trackway.domain.model import (
    Customer,
    EventCall,
    Identifier,
    IdentityCall,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.resolution import RaceLost, Resolution, resolve
from trackway.domain.times import now_ms
from trackway.domain.tracking import record_event
from trackway.store.database import Database
from trackway.store.ledger import SqlLedger, event_values, upsert
from trackway.store.rows import session_from_row
from trackway.store.tables import events, sessions

DEFAULT_BATCH_SIZE = 1000
ATTEMPTS = 3
REMEMBERED_VISITORS = 100_000

Person = tuple[Identifier, ...]
OnBatch = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated row: its event and, when it names a person, the
    identity call that says who did it. `line` is where it starts in the
    file (for messages)."""

    line: int
    event: EventCall
    identity: IdentityCall | None = None
    event_id: str | None = None


@dataclass(slots=True)
class ImportTotals:
    """What an import stored; `present` counts rows whose event was
    already stored."""

    events: int = 0
    customers_created: int = 0
    present: int = 0


class _Remembered(OrderedDict[str, Person]):
    """The person of each visitor identified lately, up to a bound."""

    def __init__(self, bound: int = REMEMBERED_VISITORS) -> None:
        super().__init__()
        self.bound = bound

    def remember(self, learned: dict[str, Person]) -> None:
        for visitor, person in learned.items():
            self[visitor] = person
            self.move_to_end(visitor)
        while len(self) > self.bound:
            self.popitem(last=False)


def import_rows(
    database: Database,
    org_id: str,
    rows: Iterable[ImportRow],
    policy: Policy,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> ImportTotals:
    """Store `rows` in order, one transaction per `batch_size` rows.

    `on_batch` hears the number of rows of each committed batch, skipped
    rows included. Reads `rows` lazily, so memory stays bounded by one
    batch (plus the bounded map of identified visitors).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    totals = ImportTotals()
    identified = _Remembered()
    for batch in _batches(rows, batch_size):
        _write_batch(database, org_id, batch, policy, identified, totals)
        if on_batch is not None:
            on_batch(len(batch))
    return totals


def _batches(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _write_batch(
    database: Database,
    org_id: str,
    batch: list[ImportRow],
    policy: Policy,
    identified: _Remembered,
    totals: ImportTotals,
) -> None:
    """Write one batch, retrying it whole when a concurrent writer won a race.

    What the batch learns about visitors joins `identified` only once it is
    committed, so a retried batch identifies its visitors again.
    """
    for attempt in range(ATTEMPTS):
        learned: dict[str, Person] = {}
        try:
            with database.write() as connection:
                ledger = BatchLedger(connection)
                new = _not_stored(connection, org_id, batch)
                batch_totals = _apply(ledger, org_id, new, policy, identified, learned)
                ledger.flush()
        except RaceLost:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        identified.remember(learned)
        metrics.record_batch_size(len(new))
        totals.events += batch_totals.events
        totals.customers_created += batch_totals.customers_created
        totals.present += len(batch) - len(new)
        return


def _not_stored(
    connection: Connection, org_id: str, batch: list[ImportRow]
) -> list[ImportRow]:
    """The rows whose event is not stored yet (rows without an id are
    never stored yet)."""
    named = [row.event_id for row in batch if row.event_id is not None]
    if not named:
        return batch
    query = select(events.c.event_id).where(
        events.c.org_id == org_id, events.c.event_id.in_(named)
    )
    stored = set(connection.execute(query).scalars())
    return [row for row in batch if row.event_id not in stored]


def _apply(
    ledger: Ledger,
    org_id: str,
    batch: list[ImportRow],
    policy: Policy,
    identified: _Remembered,
    learned: dict[str, Person],
) -> ImportTotals:
    totals = ImportTotals()
    for row in batch:
        event = row.event
        if row.identity is not None:
            resolution = _identify(ledger, org_id, row, policy, identified, learned)
            if resolution is not None:
                event = _inherit(event, resolution)
                if resolution.status == "created":
                    totals.customers_created += 1
        record_event(ledger, org_id, event, now_ms(), policy, row.event_id)
        totals.events += 1
    return totals


def _identify(
    ledger: Ledger,
    org_id: str,
    row: ImportRow,
    policy: Policy,
    identified: _Remembered,
    learned: dict[str, Person],
) -> Resolution | None:
    """Resolve the row's identity unless its visitor already is that person.

    None when nothing had to be done.
    """
    identity = row.identity
    assert identity is not None
    person = tuple(identity.identifiers)
    visitor = identity.tracking_id
    if visitor is not None:
        known = learned.get(visitor, identified.get(visitor))
        if known == person:
            return None
        learned[visitor] = person
    at = row.event.published_at
    return resolve(ledger, org_id, identity, at, policy, written_at=now_ms())


def _inherit(event: EventCall, resolution: Resolution) -> EventCall:
    """As in `identityEvent`: the event takes the identity's ids when it
    names none."""
    return replace(
        event,
        tracking_id=event.tracking_id or resolution.visitor.tracking_id,
        session_id=event.session_id or resolution.session_id,
    )


VisitorKey = tuple[str, str]
SessionKey = tuple[str, str, str]

# `SqlLedger.session_around` with bound parameters: compiled once, as an
# import asks it for every event sessioned by the inactivity gap.
_SESSION_AROUND = (
    select(sessions)
    .where(
        sessions.c.org_id == bindparam("org"),
        sessions.c.tracking_id == bindparam("visitor"),
        sessions.c.last_event_at >= bindparam("low"),
        sessions.c.first_event_at <= bindparam("high"),
    )
    .order_by(sessions.c.last_event_at.desc())
    .limit(1)
)


class BatchLedger(SqlLedger):
    """`SqlLedger` that keeps the per-event writes of one batch in memory.

    Every read answers as if the held writes were already made: visitors
    and sessions touched in the batch are answered from memory, and the
    held writes go to the database before a query that would see them
    (a session search, a customer read, the attribution of anonymous
    events). Session counts are written as increments, so a concurrent
    writer's events are added to, never overwritten. What is held is
    bounded by the batch. Call `flush()` before the transaction commits.
    """

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._visitors: dict[VisitorKey, Visitor] = {}
        self._changed_visitors: set[VisitorKey] = set()
        self._sessions: dict[SessionKey, Session] = {}
        self._added: dict[SessionKey, Session] = {}
        self._events: list[dict[str, Any]] = []
        self._seen: dict[tuple[str, str], int] = {}
        self._session_upsert: Any = None

    def flush(self) -> None:
        """Write everything held."""
        self._flush_events()
        self._flush_sessions()
        self._flush_seen()
        for key in self._changed_visitors:
            super().update_visitor(self._visitors[key])
        self._changed_visitors.clear()

    def visitor(self, org_id: str, tracking_id: str) -> Visitor | None:
        known = self._visitors.get((org_id, tracking_id))
        if known is None:
            known = super().visitor(org_id, tracking_id)
            if known is None:
                return None
            self._visitors[(org_id, tracking_id)] = known
        return replace(known)

    def insert_visitor(self, visitor: Visitor) -> bool:
        inserted = super().insert_visitor(visitor)
        if inserted:
            self._visitors[(visitor.org_id, visitor.tracking_id)] = replace(visitor)
        return inserted

    def update_visitor(self, visitor: Visitor) -> None:
        key = (visitor.org_id, visitor.tracking_id)
        self._visitors[key] = replace(visitor)
        self._changed_visitors.add(key)

    def insert_event(self, event: TrackingEvent) -> None:
        self._events.append(event_values(event))

    def touch_customer(self, org_id: str, customer_id: str, seen_at: int) -> None:
        key = (org_id, customer_id)
        self._seen[key] = max(seen_at, self._seen.get(key, seen_at))

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        self._flush_seen()
        return super().customer(org_id, customer_id)

    def session(self, org_id: str, tracking_id: str, session_id: str) -> Session | None:
        key = (org_id, tracking_id, session_id)
        known = self._sessions.get(key)
        if known is None:
            known = super().session(org_id, tracking_id, session_id)
            if known is None:
                return None
            self._sessions[key] = known
        return replace(known)

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        self._flush_sessions()
        window = {"org": org_id, "visitor": tracking_id, "low": at - gap}
        row = self.connection.execute(_SESSION_AROUND, {**window, "high": at + gap})
        found = _session_or_none(row.first())
        if found is not None:
            key = (org_id, tracking_id, found.session_id)
            self._sessions[key] = replace(found)
        return found

    def add_to_session(self, session: Session, at: int) -> Session:
        key = (session.org_id, session.tracking_id, session.session_id)
        stored = self._sessions.get(key)
        if stored is None:
            stored = super().session(*key) or _empty(session, at)
            self._sessions[key] = stored
        added = self._added.get(key)
        if added is None:
            added = self._added[key] = _empty(session, at)
        _count(stored, session.customer_id, at)
        _count(added, session.customer_id, at)
        return replace(stored)

    def attribute_anonymous(
        self, org_id: str, tracking_id: str, customer_id: str, since: int
    ) -> None:
        self.flush()
        super().attribute_anonymous(org_id, tracking_id, customer_id, since)
        # The visitor's sessions may have changed owner in the database.
        for key in [k for k in self._sessions if k[:2] == (org_id, tracking_id)]:
            del self._sessions[key]

    def _flush_events(self) -> None:
        if self._events:
            self.connection.execute(events.insert(), self._events)
            self._events.clear()

    def _flush_sessions(self) -> None:
        if not self._added:
            return
        if self._session_upsert is None:
            self._session_upsert = self._counting_upsert()
        # A Session's fields are the columns of `sessions`.
        rows = [asdict(s) for s in self._added.values()]
        self.connection.execute(self._session_upsert, rows)
        self._added.clear()

    def _counting_upsert(self) -> Any:
        """Add held counts to stored sessions, creating the new ones."""
        statement = upsert(self.connection, sessions)
        stored, new = sessions.c, statement.excluded
        least, greatest = self._least_greatest()
        return statement.on_conflict_do_update(
            index_elements=[stored.org_id, stored.tracking_id, stored.session_id],
            set_={
                "count": stored.count + new.count,
                "first_event_at": least(stored.first_event_at, new.first_event_at),
                "last_event_at": greatest(stored.last_event_at, new.last_event_at),
                "customer_id": func.coalesce(stored.customer_id, new.customer_id),
            },
        )

    def _flush_seen(self) -> None:
        for (org_id, customer_id), seen_at in self._seen.items():
            super().touch_customer(org_id, customer_id, seen_at)
        self._seen.clear()


def _session_or_none(row: Row[Any] | None) -> Session | None:
    return None if row is None else session_from_row(row)


def _empty(session: Session, at: int) -> Session:
    return replace(session, first_event_at=at, last_event_at=at, count=0)


def _count(session: Session, customer_id: str | None, at: int) -> None:
    """Add one event at `at` to `session`, as `SqlLedger.add_to_session`
    does to a stored row."""
    session.count += 1
    session.first_event_at = min(session.first_event_at, at)
    session.last_event_at = max(session.last_event_at, at)
    if session.customer_id is None:
        session.customer_id = customer_id
