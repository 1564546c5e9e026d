"""Forgetting anonymous history past its retention (SPEC 10).

An event never attributed to a customer can only go to one within
`anonymous_retention_ms` of its time; after that it is kept for nothing
and is deleted, then the anonymous sessions it leaves empty, then the
anonymous visitors left without any session.

The purge never blocks ingest: it deletes BATCH rows at a time, each batch
its own short transaction found by an index range, and between batches it
rests as long as the batch took, so writes get at least half the time.
Every statement says again that the row belongs to no customer, so a row
attributed meanwhile (PostgreSQL re-checks a row it waited for) stays.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult, Delete, delete, exists, select, tuple_
from sqlalchemy.sql.dml import ReturningDelete

from trackway.store.database import Database
from trackway.store.tables import events, sessions, visitors

BATCH = 1000
# The shortest rest between batches, so the writer thread gets the lock.
MIN_REST_S = 0.001


@dataclass(slots=True)
class Purged:
    """What one org's purge deleted, and in how many transactions."""

    events: int = 0
    sessions: int = 0
    visitors: int = 0
    transactions: int = 0


def forget_anonymous(
    database: Database, org_id: str, before: int, batch: int = BATCH
) -> Purged:
    """Delete the org's anonymous events published before `before` (ms),
    then the anonymous sessions and visitors they leave empty."""
    purged = Purged()

    def events_batch(connection: Connection) -> int:
        return _delete_events(connection, org_id, before, batch)

    def sessions_batch(connection: Connection) -> int:
        gone, visitors_gone = _delete_sessions(connection, org_id, before, batch)
        purged.visitors += visitors_gone
        return gone

    purged.events = _in_batches(database, events_batch, batch, purged)
    purged.sessions = _in_batches(database, sessions_batch, batch, purged)
    return purged


def _in_batches(
    database: Database,
    step: Callable[[Connection], int],
    batch: int,
    purged: Purged,
) -> int:
    """Run `step` in transactions of its own until one deletes less than
    a full batch; the rows deleted in all."""
    total = 0
    while True:
        started = time.monotonic()
        with database.write() as connection:
            deleted = step(connection)
        purged.transactions += 1
        total += deleted
        if deleted < batch:
            return total
        _rest(time.monotonic() - started)


def _rest(batch_took_s: float) -> None:
    time.sleep(max(MIN_REST_S, batch_took_s))


def old_events(org_id: str, before: int, batch: int) -> Delete:
    """Delete up to `batch` anonymous events published before `before`."""
    anonymous = (
        events.c.org_id == org_id,
        events.c.customer_id.is_(None),
        events.c.kind == "tracking",
        events.c.published_at < before,
    )
    # The range of ix_events_timeline (org_id, customer_id, published_at).
    oldest = select(events.c.event_id).where(*anonymous).limit(batch)
    return delete(events).where(*anonymous, events.c.event_id.in_(oldest))


def empty_sessions(org_id: str, before: int, batch: int) -> ReturningDelete[Any]:
    """Delete up to `batch` anonymous sessions that ended before `before`
    and hold no event any more, returning their trackingIds."""
    ended = (
        sessions.c.org_id == org_id,
        sessions.c.customer_id.is_(None),
        sessions.c.last_event_at < before,
    )
    empty = ~exists().where(
        events.c.org_id == org_id,
        events.c.tracking_id == sessions.c.tracking_id,
        events.c.session_id == sessions.c.session_id,
    )
    # The range of ix_sessions_customer (org_id, customer_id, last_event_at).
    oldest = (
        select(sessions.c.tracking_id, sessions.c.session_id)
        .where(*ended, empty)
        .limit(batch)
    )
    key = tuple_(sessions.c.tracking_id, sessions.c.session_id)
    return (
        delete(sessions)
        .where(*ended, key.in_(oldest))
        .returning(sessions.c.tracking_id)
    )


def idle_visitors(org_id: str, before: int, tracking_ids: list[str]) -> Delete:
    """Delete those of the visitors that are anonymous, unseen since
    `before` and without any session (by primary key)."""
    no_session = ~exists().where(
        sessions.c.org_id == org_id,
        sessions.c.tracking_id == visitors.c.tracking_id,
    )
    return delete(visitors).where(
        visitors.c.org_id == org_id,
        visitors.c.tracking_id.in_(tracking_ids),
        visitors.c.customer_id.is_(None),
        visitors.c.updated_at < before,
        no_session,
    )


def _delete_events(connection: Connection, org_id: str, before: int, batch: int) -> int:
    return _count(connection.execute(old_events(org_id, before, batch)))


def _delete_sessions(
    connection: Connection, org_id: str, before: int, batch: int
) -> tuple[int, int]:
    """How many sessions, and then visitors, one batch deleted."""
    rows = connection.execute(empty_sessions(org_id, before, batch)).all()
    tracking_ids = sorted({row.tracking_id for row in rows})
    if not tracking_ids:
        return 0, 0
    statement = idle_visitors(org_id, before, tracking_ids)
    return len(rows), _count(connection.execute(statement))


def _count(result: CursorResult[Any]) -> int:
    return max(0, result.rowcount)
