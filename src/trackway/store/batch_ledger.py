"""`BatchLedger`: the ledger of one import batch, its writes held in memory.

An import batch is one transaction. Before its rows are applied,
`prepare()` reads in a few queries what they will ask about: the visitors
they name, those visitors' sessions named by the rows or around the
batch's times, the owners of their identifiers and those customers, and
which visitors may still have anonymous events stored. The rules
(`resolve()`, `record_event()`) then run against memory, and `flush()`
writes all they did at the end, one executemany per kind of row.

Every read answers as if the held writes were already made, and what
`prepare()` did not read is read from the database when asked, so the
ledger answers exactly as `SqlLedger` would, only sooner. Claims and new
visitors are written as plain inserts: when a concurrent writer took one
meanwhile (PostgreSQL), the insert fails and the batch is retried whole
(`RaceLost`). What is held is bounded by the batch.

Once a batch is committed, what its ledger knows is the database's state
for those keys (`known()`). The next batch may start from it (`Known`),
reading only what it did not know, when nothing else was written in
between; the caller checks that. It keeps only what its own rows ask
about, so what is carried stays bounded by a batch too.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Select
from sqlalchemy.exc import IntegrityError

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.domain.resolution import RaceLost
from trackway.store.batch_writes import (
    EVENT_COLUMNS,
    change_row,
    customer_changes,
    event_row,
    is_duplicate,
    list_parameters,
    named_sessions,
    statements,
)
from trackway.store.bulk import Bulk
from trackway.store.ledger import SqlLedger, customer_values, execute
from trackway.store.rows import customer_from_row, session_from_row, visitor_from_row

VisitorKey = tuple[str, str]
SessionKey = tuple[str, str, str]
CustomerKey = tuple[str, str]
OwnerKey = tuple[str, Identifier]
# A visitor's trackingId and a sessionId it names.
SessionPair = tuple[str, str]
T = TypeVar("T")

# Values per IN list: well under every backend's limit on parameters.
CHUNK = 2000
# (trackingId, sessionId) pairs per read of named sessions: a power of two.
PAIRS = 512


@dataclass(slots=True)
class Expected:
    """What the rows of a batch will ask about.

    `visits`: (visitor, the sessionId it names or None for the gap, the
    event's time) for each event and identity call. `identified`: the
    visitors identity calls may bind, with the earliest time from which
    their anonymous events could be attributed.
    """

    visits: list[tuple[str, str | None, int]] = field(default_factory=list)
    identifiers: set[Identifier] = field(default_factory=set)
    identified: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Known:
    """What a committed batch's ledger knew of the database: each entry is
    a row as stored (None when absent), or a fact about a visitor's
    sessions (all of them held, or all of those in a window)."""

    visitors: dict[VisitorKey, Visitor | None] = field(default_factory=dict)
    sessions: dict[VisitorKey, dict[str, Session | None]] = field(default_factory=dict)
    all_sessions: set[VisitorKey] = field(default_factory=set)
    windows: dict[VisitorKey, tuple[int, int]] = field(default_factory=dict)
    customers: dict[CustomerKey, Customer | None] = field(default_factory=dict)
    owners: dict[OwnerKey, str | None] = field(default_factory=dict)


class BatchLedger(SqlLedger):
    """`SqlLedger` that answers from what one batch read, and holds its
    writes until `flush()`, to be called before the transaction commits.

    Visitors, sessions and events are handed out and kept as the objects
    themselves, not copies: the rules change a visitor only to write it
    back, never change a session or an event they were given, and a batch
    that fails is thrown away whole. Customers, which the rules change
    before deciding whether to write them, are copied.
    """

    def __init__(self, connection: Connection, known: Known | None = None) -> None:
        super().__init__(connection)
        self._known = known or Known()
        self._statements = statements(connection)
        self._sqlite = connection.dialect.name == "sqlite"
        # None: known to be absent from the database.
        self._visitors: dict[VisitorKey, Visitor | None] = {}
        self._new_visitors: dict[VisitorKey, None] = {}
        self._changed_visitors: set[VisitorKey] = set()
        self._sessions: dict[VisitorKey, dict[str, Session | None]] = {}
        self._all_sessions: set[VisitorKey] = set()
        self._windows: dict[VisitorKey, tuple[int, int]] = {}
        self._added: dict[SessionKey, Session] = {}
        self._events: list[TrackingEvent] = []
        self._events_of: dict[VisitorKey, list[TrackingEvent]] = {}
        self._changes: list[ChangeRecord] = []
        self._customers: dict[CustomerKey, Customer | None] = {}
        self._new_customers: dict[CustomerKey, None] = {}
        self._changed_customers: set[CustomerKey] = set()
        self._seen: dict[CustomerKey, int] = {}
        self._owners: dict[OwnerKey, str | None] = {}
        self._claims: dict[OwnerKey, str] = {}
        # Visitors with no anonymous event or session stored since then.
        self._clean: dict[VisitorKey, int] = {}

    # Reading ahead ---------------------------------------------------------

    def stored_events(self, org_id: str, event_ids: list[str]) -> set[str]:
        """Those of `event_ids` stored already."""
        stored: set[str] = set()
        for chunk in _chunks(event_ids):
            params = {"org": org_id, "ids": chunk}
            stored.update(
                row.event_id
                for row in self._rows(self._statements.stored_events, params)
            )
        return stored

    def known(self) -> Known:
        """What this ledger knows of the database; only once flushed and
        committed is that the database's state."""
        return Known(
            self._visitors,
            self._sessions,
            self._all_sessions,
            self._windows,
            self._customers,
            self._owners,
        )

    def prepare(self, org_id: str, expected: Expected, gap: int) -> None:
        """Take what the batch's rows will ask about from what is known,
        and read the rest, in a few queries."""
        named = {visitor for visitor, _, _ in expected.visits}
        self._recall_visitors(org_id, named)
        unknown = [t for t in named if (org_id, t) not in self._visitors]
        self._read_visitors(org_id, sorted(unknown))
        fresh = [t for t in named if self._visitors[(org_id, t)] is None]
        self._read_all_sessions(
            org_id, [t for t in fresh if (org_id, t) not in self._all_sessions]
        )
        stored = {
            (visitor, session)
            for visitor, session, _ in expected.visits
            if session is not None and self._unknown_session(org_id, visitor, session)
        }
        self._read_named_sessions(org_id, sorted(stored))
        times = [at for _, session, at in expected.visits if session is None]
        if times:
            gapped = {t for t, session, _ in expected.visits if session is None}
            window = (min(times) - gap, max(times) + gap)
            low, high = window
            uncovered = [t for t in gapped if not self._held((org_id, t), low, high)]
            self._read_window(org_id, sorted(uncovered), window)
        self._recall_owners(org_id, expected.identifiers)
        self._read_owners(org_id, expected.identifiers)
        self._read_clean(org_id, expected.identified)

    def _recall_visitors(self, org_id: str, named: set[str]) -> None:
        """Take the known visitors among `named`, with what is known of
        their sessions."""
        known = self._known
        for tracking_id in named:
            key = (org_id, tracking_id)
            if key in known.visitors:
                self._visitors[key] = known.visitors[key]
            if key in known.sessions:
                self._sessions[key] = known.sessions[key]
            if key in known.all_sessions:
                self._all_sessions.add(key)
            if key in known.windows:
                self._windows[key] = known.windows[key]

    def _recall_owners(self, org_id: str, wanted: set[Identifier]) -> None:
        """Take the known owners of `wanted`, and those customers."""
        known = self._known
        for identifier in wanted:
            key = (org_id, identifier)
            if key not in known.owners:
                continue
            owner = self._owners[key] = known.owners[key]
            if owner is not None and (org_id, owner) in known.customers:
                self._customers[(org_id, owner)] = known.customers[(org_id, owner)]

    def _unknown_session(self, org_id: str, tracking_id: str, session_id: str) -> bool:
        """True when the session may be stored and is not held. (Visitors
        not stored have all their sessions held, from `_read_all_sessions`.)"""
        key = (org_id, tracking_id)
        if key in self._all_sessions:
            return False
        return session_id not in self._sessions.get(key, {})

    def _held(self, key: VisitorKey, low: int, high: int) -> bool:
        """True when the visitor's sessions from `low` to `high` are all held."""
        if key in self._all_sessions:
            return True
        held = self._windows.get(key)
        return held is not None and held[0] <= low <= high <= held[1]

    def _read_visitors(self, org_id: str, wanted: list[str]) -> None:
        query = self._statements.visitors
        for chunk in _chunks(wanted):
            for row in self._rows(query, {"org": org_id, "ids": chunk}):
                self._visitors[(org_id, row.tracking_id)] = visitor_from_row(row)
        for tracking_id in wanted:
            self._visitors.setdefault((org_id, tracking_id), None)

    def _read_all_sessions(self, org_id: str, wanted: list[str]) -> None:
        """Every session of visitors not stored (normally none at all)."""
        for chunk in _chunks(wanted):
            params = {"org": org_id, "ids": chunk}
            self._keep_sessions(self._rows(self._statements.sessions, params))
        self._all_sessions.update((org_id, t) for t in wanted)

    def _read_named_sessions(self, org_id: str, wanted: list[SessionPair]) -> None:
        """The sessions the rows name, of visitors stored already; a pair
        not found is known to be absent."""
        for start in range(0, len(wanted), PAIRS):
            pairs = wanted[start : start + PAIRS]
            # Rounded up to a power of two, repeating the last pair, so a
            # few statements serve every batch.
            size = 1 << (len(pairs) - 1).bit_length()
            pairs += [pairs[-1]] * (size - len(pairs))
            params: dict[str, str] = {"org": org_id}
            for n, (visitor, session) in enumerate(pairs):
                params[f"t{n}"], params[f"s{n}"] = visitor, session
            self._keep_sessions(self._rows(named_sessions(size), params))
        for visitor, session in wanted:
            self._sessions.setdefault((org_id, visitor), {}).setdefault(session, None)

    def _read_window(
        self, org_id: str, wanted: list[str], window: tuple[int, int]
    ) -> None:
        low, high = window
        for chunk in _chunks(wanted):
            params = {"org": org_id, "ids": chunk, "low": low, "high": high}
            self._keep_sessions(self._rows(self._statements.window, params))
        for tracking_id in wanted:
            self._windows[(org_id, tracking_id)] = window

    def _read_owners(self, org_id: str, wanted: set[Identifier]) -> None:
        """The owners of those of `wanted` not known yet, and the customers
        of all owners not known yet."""
        unknown = {i for i in wanted if (org_id, i) not in self._owners}
        for kind in IdentifierKind:
            values = sorted(i.value for i in unknown if i.kind is kind)
            for chunk in _chunks(values):
                params = {"org": org_id, "kind": kind.value, "values": chunk}
                for row in self._rows(self._statements.owners, params):
                    found = Identifier(kind, row.value)
                    self._owners[(org_id, found)] = row.customer_id
        for identifier in unknown:
            self._owners.setdefault((org_id, identifier), None)
        owners = {
            owner
            for owner in self._owners.values()
            if owner is not None and (org_id, owner) not in self._customers
        }
        for chunk in _chunks(sorted(owners)):
            params = {"org": org_id, "ids": chunk}
            for row in self._rows(self._statements.customers, params):
                self._customers[(org_id, row.customer_id)] = customer_from_row(row)

    def _read_clean(self, org_id: str, wanted: dict[str, int]) -> None:
        if not wanted:
            return
        since = min(wanted.values())
        tracking_ids = sorted(wanted)
        unclean: set[str] = set()
        for chunk in _chunks(tracking_ids):
            params = {"org": org_id, "ids": chunk, "since": since}
            for query in self._statements.anonymous:
                unclean.update(row.tracking_id for row in self._rows(query, params))
        for tracking_id in tracking_ids:
            if tracking_id not in unclean:
                self._clean[(org_id, tracking_id)] = since

    def _keep_sessions(self, rows: Iterable[Any]) -> None:
        for row in rows:
            session = session_from_row(row)
            known = self._sessions.setdefault(_visitor_key(session), {})
            known.setdefault(session.session_id, session)

    def _rows(self, query: Select[Any], params: dict[str, Any]) -> list[Any]:
        if self._sqlite:
            params = list_parameters(params)
        return execute(self.connection, query, params)

    # Identifiers and customers --------------------------------------------

    def owners(self, org_id: str, wanted: list[Identifier]) -> dict[Identifier, str]:
        unknown = [i for i in wanted if (org_id, i) not in self._owners]
        if unknown:
            found = super().owners(org_id, unknown)
            for identifier in unknown:
                self._owners[(org_id, identifier)] = found.get(identifier)
        owned = {i: self._owners[(org_id, i)] for i in wanted}
        return {i: owner for i, owner in owned.items() if owner is not None}

    def claim(self, org_id: str, identifier: Identifier, customer_id: str) -> bool:
        if self.owners(org_id, [identifier]):
            return False
        self._owners[(org_id, identifier)] = customer_id
        self._claims[(org_id, identifier)] = customer_id
        return True

    def release(self, org_id: str, identifier: Identifier, customer_id: str) -> None:
        key = (org_id, identifier)
        if self._claims.get(key) == customer_id:
            del self._claims[key]
        else:
            super().release(org_id, identifier, customer_id)
        if self._owners.get(key) == customer_id:
            self._owners[key] = None

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        key = (org_id, customer_id)
        if key in self._customers:
            known = self._customers[key]
        else:
            known = self._customers[key] = super().customer(org_id, customer_id)
        if known is None:
            return None
        found = replace(known, trait_times=dict(known.trait_times))
        found.last_seen_at = _later(found.last_seen_at, self._seen.get(key))
        return found

    def insert_customer(self, customer: Customer) -> None:
        key = (customer.org_id, customer.id)
        self._customers[key] = replace(customer)
        self._new_customers[key] = None

    def update_customer(self, customer: Customer) -> None:
        key = (customer.org_id, customer.id)
        self._customers[key] = replace(customer)
        if key not in self._new_customers:
            self._changed_customers.add(key)

    def touch_customer(self, org_id: str, customer_id: str, seen_at: int) -> None:
        key = (org_id, customer_id)
        self._seen[key] = max(seen_at, self._seen.get(key, seen_at))

    # Visitors --------------------------------------------------------------

    def visitor(self, org_id: str, tracking_id: str) -> Visitor | None:
        key = (org_id, tracking_id)
        if key not in self._visitors:
            self._visitors[key] = super().visitor(org_id, tracking_id)
        known = self._visitors[key]
        return known

    def insert_visitor(self, visitor: Visitor) -> bool:
        key = _visitor_key(visitor)
        if self.visitor(*key) is not None:
            return False
        self._visitors[key] = visitor
        self._new_visitors[key] = None
        return True

    def update_visitor(self, visitor: Visitor) -> None:
        key = _visitor_key(visitor)
        self._visitors[key] = visitor
        if key not in self._new_visitors:
            self._changed_visitors.add(key)

    # Sessions and events ---------------------------------------------------

    def session(self, org_id: str, tracking_id: str, session_id: str) -> Session | None:
        return self._session(org_id, tracking_id, session_id)

    def _session(
        self, org_id: str, tracking_id: str, session_id: str
    ) -> Session | None:
        """The held session, read when not known."""
        key = (org_id, tracking_id)
        known = self._sessions.setdefault(key, {})
        if session_id not in known:
            if key in self._all_sessions:
                return None
            params = {"org": org_id, "visitor": tracking_id, "session": session_id}
            rows = self._rows(self._statements.session, params)
            known[session_id] = session_from_row(rows[0]) if rows else None
        return known[session_id]

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        key = (org_id, tracking_id)
        low, high = at - gap, at + gap
        if not self._held(key, low, high):
            params = {"org": org_id, "ids": [tracking_id], "low": low}
            found = self._rows(self._statements.window, {**params, "high": high})
            self._keep_sessions(found)
        chosen: Session | None = None
        for session in self._sessions.get(key, {}).values():
            if session is None or session.last_event_at < low:
                continue
            if session.first_event_at > high:
                continue
            if chosen is None or session.last_event_at >= chosen.last_event_at:
                chosen = session
        return chosen

    def add_to_session(self, session: Session, at: int) -> Session:
        org_id, tracking_id, session_id = key = _session_key(session)
        stored = self._session(org_id, tracking_id, session_id)
        if stored is None:
            stored = _empty(session, at)
            self._sessions[(org_id, tracking_id)][session_id] = stored
        added = self._added.get(key)
        if added is None:
            added = self._added[key] = _empty(session, at)
        _count(stored, session.customer_id, at)
        _count(added, session.customer_id, at)
        return stored

    def insert_event(self, event: TrackingEvent) -> None:
        self._events.append(event)
        self._events_of.setdefault(_visitor_key(event), []).append(event)

    def insert_change(self, record: ChangeRecord) -> None:
        self._changes.append(record)

    def attribute_anonymous(
        self, org_id: str, tracking_id: str, customer_id: str, since: int
    ) -> None:
        """As `SqlLedger.attribute_anonymous`: held events and sessions are
        given to the customer here, stored ones by the database, which is
        asked only when `prepare()` did not find the visitor clean."""
        latest: int | None = None
        for event in self._events_of.get((org_id, tracking_id), []):
            if event.customer_id is None and event.published_at >= since:
                event.customer_id = customer_id
            if event.customer_id == customer_id:
                latest = max(event.published_at, latest or event.published_at)
        for session in self._sessions.get((org_id, tracking_id), {}).values():
            if session is None or session.customer_id is not None:
                continue
            if session.last_event_at >= since:
                session.customer_id = customer_id
                added = self._added.get(_session_key(session))
                if added is not None:
                    added.customer_id = added.customer_id or customer_id
        key = (org_id, tracking_id)
        clean_since = self._clean.get(key)
        if clean_since is None or since < clean_since:
            super().attribute_anonymous(org_id, tracking_id, customer_id, since)
            self._clean[key] = since
        if latest is not None:
            self.touch_customer(org_id, customer_id, latest)

    # Writing ---------------------------------------------------------------

    def flush(self) -> None:
        """Write everything held; RaceLost when a concurrent writer stored
        one of the new visitors or identifiers first."""
        try:
            self._flush_inserts()
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            raise RaceLost("a concurrent writer stored the same keys") from error
        self._flush_updates()

    def _flush_inserts(self) -> None:
        made = self._statements
        news = [self._visitors[k] for k in self._new_visitors]
        made.insert_visitors.execute_objects(self.connection, news)
        claims = [
            {"org_id": org_id, "kind": i.kind.value, "value": i.value, "customer_id": c}
            for (org_id, i), c in self._claims.items()
        ]
        self._many(made.insert_identifiers, claims)
        made_customers = [self._new_customer_row(k) for k in self._new_customers]
        self._many(made.insert_customers, made_customers)
        rows = [event_row(e) for e in self._events]
        rows.extend(change_row(r) for r in self._changes)
        made.insert_events.execute_values(self.connection, EVENT_COLUMNS, rows)
        counts = list(self._added.values())
        made.count_sessions.execute_objects(self.connection, counts)
        self._new_visitors.clear()
        self._claims.clear()
        self._new_customers.clear()
        self._events.clear()
        self._events_of.clear()
        self._changes.clear()
        self._added.clear()

    def _flush_updates(self) -> None:
        made = self._statements
        changed = [self._visitors[k] for k in sorted(self._changed_visitors)]
        made.update_visitor.execute_objects(self.connection, [v for v in changed if v])
        updated = [self._customers[k] for k in sorted(self._changed_customers)]
        self._many(made.update_customer, [customer_changes(c) for c in updated if c])
        seen = [
            {"k_org_id": org_id, "k_customer_id": customer_id, "seen": at}
            for (org_id, customer_id), at in sorted(self._seen.items())
        ]
        self._many(made.touch_customer, seen)
        for key, at in self._seen.items():
            customer = self._customers.get(key)
            if customer is not None:
                customer.last_seen_at = _later(customer.last_seen_at, at)
        self._changed_visitors.clear()
        self._changed_customers.clear()
        self._seen.clear()

    def _many(self, statement: Bulk, rows: Sequence[dict[str, Any]]) -> None:
        statement.execute(self.connection, rows)

    def _new_customer_row(self, key: CustomerKey) -> dict[str, Any]:
        customer = self._customers[key]
        assert customer is not None
        customer.last_seen_at = _later(customer.last_seen_at, self._seen.pop(key, None))
        return customer_values(customer)


def _later(stored: int | None, seen: int | None) -> int | None:
    """`lastSeenAt` after a touch at `seen`, as `touch_customer` moves it."""
    if seen is None or (stored is not None and stored >= seen):
        return stored
    return seen


def _visitor_key(item: Visitor | Session | TrackingEvent) -> VisitorKey:
    return (item.org_id, item.tracking_id)


def _session_key(session: Session) -> SessionKey:
    return (session.org_id, session.tracking_id, session.session_id)


def _chunks(values: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


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
