"""How much happened when: counts per day and the events that just arrived.

The console's charts and live page read these. Days are UTC days, numbered
from the epoch (day 0 is 1970-01-01), and ranges are half-open.

Event ids start with the second of the event's time (`new_id(at)` in the
write path), so the org-wide counts walk a range of the primary key instead
of every event the org ever had; the time itself is still compared exactly.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from trackway.domain.model import TrackingEvent
from trackway.store.database import Database
from trackway.store.rows import tracking_event_from_row
from trackway.store.tables import customers, events

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Days:
    """`count` consecutive UTC days from day number `first`."""

    first: int
    count: int

    @classmethod
    def ending_at(cls, moment_ms: int, count: int) -> "Days":
        """The `count` days whose last one holds `moment_ms`."""
        return cls(moment_ms // DAY_MS - count + 1, count)

    @property
    def start_ms(self) -> int:
        return self.first * DAY_MS

    @property
    def end_ms(self) -> int:
        return (self.first + self.count) * DAY_MS


def events_per_day(
    db: Database, org_id: str, days: Days, customer_id: str | None = None
) -> dict[int, int]:
    """Tracking events by day of their event time; days without any are
    left out. All the org's events, or one customer's."""
    day = (events.c.published_at // DAY_MS).label("day")
    query = (
        select(day, func.count())
        .where(events.c.org_id == org_id)
        .where(events.c.kind == "tracking")
        .where(events.c.published_at >= days.start_ms)
        .where(events.c.published_at < days.end_ms)
        .group_by(day)
    )
    if customer_id is None:
        query = query.where(*_ids_within(days))
    else:
        query = query.where(events.c.customer_id == customer_id)
    with db.read() as conn:
        return {int(row[0]): int(row[1]) for row in conn.execute(query)}


def customers_per_day(db: Database, org_id: str, days: Days) -> dict[int, int]:
    """Customers created on each day; days without any are left out."""
    day = (customers.c.created_at // DAY_MS).label("day")
    query = (
        select(day, func.count())
        .where(customers.c.org_id == org_id)
        .where(customers.c.created_at >= days.start_ms)
        .where(customers.c.created_at < days.end_ms)
        .group_by(day)
    )
    with db.read() as conn:
        return {int(row[0]): int(row[1]) for row in conn.execute(query)}


def latest_event_at(db: Database, org_id: str) -> int | None:
    """The time of the org's latest tracking event, or None.

    "Latest" goes by id, so within one second any event of it may answer.
    """
    query = (
        select(events.c.published_at)
        .where(events.c.org_id == org_id)
        .where(events.c.kind == "tracking")
        .order_by(events.c.event_id.desc())
        .limit(1)
    )
    with db.read() as conn:
        found: int | None = conn.execute(query).scalar()
    return found


def latest_customer_at(db: Database, org_id: str) -> int | None:
    """When the org's newest customer was created, or None."""
    query = select(func.max(customers.c.created_at)).where(customers.c.org_id == org_id)
    with db.read() as conn:
        found: int | None = conn.execute(query).scalar()
    return found


def arrivals(
    db: Database, org_id: str, since_ms: int, limit: int, name: str | None = None
) -> list[TrackingEvent]:
    """Up to `limit` tracking events written at or after `since_ms`, the
    latest written first; only those named `name` when it is given."""
    query = (
        select(events)
        .where(events.c.org_id == org_id)
        .where(events.c.created_at >= since_ms)
        .where(events.c.kind == "tracking")
        .order_by(events.c.created_at.desc(), events.c.event_id.desc())
        .limit(limit)
    )
    if name is not None:
        query = query.where(events.c.name == name)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [tracking_event_from_row(row) for row in rows]


def _ids_within(days: Days) -> list[ColumnElement[Any]]:
    last_second = (days.end_ms - 1) // 1000
    return [
        events.c.event_id >= _first_id_of(days.start_ms // 1000),
        events.c.event_id < _first_id_of(last_second + 1),
    ]


def _first_id_of(second: int) -> str:
    """The smallest id that `new_id` can make in `second`."""
    return f"{second:08x}" + "0" * 16
