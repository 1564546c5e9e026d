"""Calls per window counted in PostgreSQL, shared by every server process.

One upsert adds a call to the row of (org, subject, window) and returns
the new count; the row's lock makes the calls of all processes count one
after another. The first call of a window deletes its subject's older
windows, so the table keeps about one row per subject in use, and the
hourly housekeeping forgets the rows of subjects that fell silent.
"""

import anyio.to_thread
from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import ReturningInsert

from trackway.domain.errors import Unavailable
from trackway.domain.ratelimit import WINDOW_S, Allowance, CounterUnavailable
from trackway.store.database import Contention, Database
from trackway.store.tables import rate_counts


def count_call(db: Database, allowance: Allowance, window_start: int) -> int:
    """Count one call of `allowance` in the window starting at
    `window_start` (epoch seconds); the window's count with it."""
    with db.write() as connection:
        count: int = connection.execute(_add_one(allowance, window_start)).scalar_one()
        if count == 1:
            _forget_before(connection, allowance, window_start)
    return count


def forget_old_counts(connection: Connection, org_id: str, now_s: int) -> None:
    """Delete the org's counts of windows that ended before `now_s`."""
    connection.execute(
        delete(rate_counts).where(
            rate_counts.c.org_id == org_id,
            rate_counts.c.window_start < now_s - WINDOW_S,
        )
    )


class DatabaseCounts:
    """The limiter's counter on the server's own PostgreSQL database."""

    name = "postgresql"

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, allowance: Allowance, window_start: int) -> int:
        try:
            return await anyio.to_thread.run_sync(
                count_call, self._database, allowance, window_start
            )
        except (SQLAlchemyError, Unavailable, Contention) as error:
            raise CounterUnavailable(type(error).__name__) from error

    async def close(self) -> None:
        """The database belongs to the server, which closes it."""


def _add_one(allowance: Allowance, window_start: int) -> ReturningInsert[int]:
    statement = insert(rate_counts).values(
        org_id=allowance.org_id,
        subject=allowance.subject,
        window_start=window_start,
        count=1,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "subject", "window_start"],
        set_={"count": rate_counts.c.count + 1},
    )
    return statement.returning(rate_counts.c.count)


def _forget_before(
    connection: Connection, allowance: Allowance, window_start: int
) -> None:
    connection.execute(
        delete(rate_counts).where(
            rate_counts.c.org_id == allowance.org_id,
            rate_counts.c.subject == allowance.subject,
            rate_counts.c.window_start < window_start,
        )
    )
