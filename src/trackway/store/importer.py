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
`BatchLedger` first reads in a few queries what the batch's rows will ask
about, answers the rules from memory, and writes what they did at the end
of the batch, one executemany per kind of row. On SQLite, what a batch's
ledger knew once committed starts the next batch, which then reads only
what it did not know, unless another connection wrote in between.
"""

import gc
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice

from sqlalchemy import Connection

from trackway import metrics
from trackway.domain.model import EventCall, Identifier, IdentityCall
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.resolution import RaceLost, Resolution, resolve
from trackway.domain.times import now_ms
from trackway.domain.tracking import record_event
from trackway.store.batch_ledger import BatchLedger, Expected, Known
from trackway.store.database import Contention, Database

# Rows per transaction. Each batch costs a few reads and one executemany
# per kind of row whatever its size, and a visitor seen throughout a
# batch is read and written once: 10,000 ran a fifth faster than 5,000
# (20,000 no faster). A live server's writes wait for one batch, about a
# second.
DEFAULT_BATCH_SIZE = 10_000
# For the import's SQLite connection. The page cache (KiB): its 2 MiB
# default makes each batch read the index pages it touches from the OS
# again (a fifth of the system time at 1M rows); bounded, so memory stays
# flat. Checkpoints every 10,000 WAL pages (40 MiB) instead of 1,000: a
# batch writes thousands of pages, so each commit was followed by a
# checkpoint copying them all again (a quarter of the commit's CPU).
_SQLITE_PRAGMAS = ("PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 10000")
# Collections of the youngest generation after this many allocations
# (700 by default): an import allocates millions of short-lived objects
# that reference counting frees, and its caches hold hundreds of
# thousands that each collection would walk again (15% of the import).
_GC_THRESHOLD = (50_000, 20, 100)
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


class _Carry:
    """What the last committed batch's ledger knew, for the next batch.

    Only on SQLite, and only while it is still the database's state: the
    next batch runs on the same connection, on which nothing was written
    since (its `total_changes` did not move), and which saw no other
    connection commit (`PRAGMA data_version` reads the same in both
    transactions; a connection's own commits leave it alone). On
    PostgreSQL each batch reads all it needs, as those reads lock the rows.
    """

    def __init__(self, sqlite: bool) -> None:
        self._sqlite = sqlite
        self._held: tuple[sqlite3.Connection, int, int, Known] | None = None
        self._started: tuple[sqlite3.Connection, int] | None = None

    def start(self, connection: Connection) -> Known | None:
        """Called first in a batch's transaction: what is known, if still
        true. Until `keep()`, nothing is carried, so a failed batch leaves
        nothing behind."""
        held, self._held, self._started = self._held, None, None
        if not self._sqlite:
            return None
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        version = connection.exec_driver_sql("PRAGMA data_version").scalar_one()
        self._started = (driver, version)
        if held is None or held[:3] != (driver, version, driver.total_changes):
            return None
        return held[3]

    def keep(self, ledger: BatchLedger) -> None:
        """Called once the batch that `start()` began has committed."""
        if self._started is not None:
            driver, version = self._started
            self._held = (driver, version, driver.total_changes, ledger.known())


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
    carry = _Carry(database.is_sqlite)
    with fewer_collections():
        for batch in _batches(rows, batch_size):
            _write_batch(database, org_id, batch, policy, identified, totals, carry)
            if on_batch is not None:
                on_batch(len(batch))
    return totals


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the garbage collector's `_GC_THRESHOLD`, then
    restore the thresholds it had."""
    before = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


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
    carry: _Carry,
) -> None:
    """Write one batch, retrying it whole when a concurrent writer won a race.

    What the batch learns about visitors joins `identified` only once it is
    committed, so a retried batch identifies its visitors again.
    """
    for attempt in range(ATTEMPTS):
        learned: dict[str, Person] = {}
        try:
            with database.write() as connection:
                if database.is_sqlite:
                    for pragma in _SQLITE_PRAGMAS:
                        connection.exec_driver_sql(pragma)
                ledger = BatchLedger(connection, carry.start(connection))
                new = _not_stored(ledger, org_id, batch)
                expected = _expected(new, policy)
                ledger.prepare(org_id, expected, policy.session_gap_ms)
                batch_totals = _apply(ledger, org_id, new, policy, identified, learned)
                ledger.flush()
        except (RaceLost, Contention):
            if attempt == ATTEMPTS - 1:
                raise
            continue
        carry.keep(ledger)
        identified.remember(learned)
        metrics.record_batch_size(len(new))
        totals.events += batch_totals.events
        totals.customers_created += batch_totals.customers_created
        totals.present += len(batch) - len(new)
        return


def _not_stored(
    ledger: BatchLedger, org_id: str, batch: list[ImportRow]
) -> list[ImportRow]:
    """The rows whose event is not stored yet (rows without an id are
    never stored yet)."""
    named = [row.event_id for row in batch if row.event_id is not None]
    if not named:
        return batch
    stored = ledger.stored_events(org_id, named)
    return [row for row in batch if row.event_id not in stored]


def _expected(batch: list[ImportRow], policy: Policy) -> Expected:
    """What the rows will ask the ledger about: their visitors, sessions
    and identifiers."""
    expected = Expected()
    retention = policy.anonymous_retention_ms
    for row in batch:
        at = row.event.published_at
        for call in (row.event, row.identity):
            if call is not None and call.tracking_id is not None:
                expected.visits.append((call.tracking_id, call.session_id, at))
        identity = row.identity
        if identity is None:
            continue
        expected.identifiers.update(identity.identifiers)
        if identity.tracking_id is not None:
            since = expected.identified.get(identity.tracking_id, at - retention)
            expected.identified[identity.tracking_id] = min(since, at - retention)
    return expected


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
