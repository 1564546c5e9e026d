"""Writes fail fast when storage is slow, and a 503 tells the truth.

With Limits, a database admits a bounded number of waiting writes and gives
each a deadline. What a 503 promises is checked against what is stored:
`not_stored` keeps nothing; only `in_doubt` may have been committed.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from backends import sqlite_url
from trackway.domain.errors import Unavailable
from trackway.store.backpressure import BUSY, IN_DOUBT, NOT_STORED, Limits
from trackway.store.database import Database
from trackway.store.migrate import upgrade
from trackway.store.tables import orgs

TIMEOUT_S = 0.5
BOUND = 3
"""Writes that may wait; above PostgreSQL's two connections (pool of 1)."""


@pytest.fixture
def bounded(database_url: str) -> Iterator[Database]:
    """A database with a short timeout and room for BOUND waiting writes."""
    limits = Limits(TIMEOUT_S, BOUND)
    database = Database(database_url, pool_size=1, limits=limits)
    yield database
    database.dispose()


def add_org(name: str, pause_s: float = 0.0) -> Callable[[Connection], str]:
    """A write that inserts org `name`, then takes `pause_s` more."""

    def work(connection: Connection) -> str:
        connection.execute(orgs.insert().values(org_id=name, name=name, created_at=0))
        time.sleep(pause_s)
        return name

    return work


def held(released: threading.Event) -> Callable[[Connection], None]:
    """A write that holds its transaction until `released` is set."""

    def work(connection: Connection) -> None:
        connection.execute(select(1))
        released.wait(10)

    return work


def stored(database: Database, name: str) -> bool:
    query = select(func.count()).where(orgs.c.org_id == name)
    with database.read() as connection:
        return connection.execute(query).scalar_one() == 1


def in_background(database: Database, work: Callable[[Connection], object]) -> None:
    """Run `work` in a thread, whatever it ends with (it may time out too)."""

    def run() -> None:
        with contextlib.suppress(Unavailable):
            database.transact(work)

    threading.Thread(target=run, daemon=True).start()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_write_beyond_the_bound_is_refused_at_once(bounded: Database) -> None:
    released = threading.Event()
    for _ in range(BOUND):
        in_background(bounded, held(released))
    wait_until(lambda: bounded.pending_writes == BOUND)
    started = time.monotonic()

    with pytest.raises(Unavailable) as refused:
        bounded.transact(add_org("late"))

    released.set()
    assert time.monotonic() - started < 0.1
    assert str(refused.value) == BUSY
    assert refused.value.headers == {"Retry-After": "1"}
    wait_until(lambda: bounded.pending_writes == 0)
    assert not stored(bounded, "late")


def test_a_write_that_waits_past_its_deadline_is_503_and_not_stored(
    bounded: Database,
) -> None:
    """Queued behind the SQLite writer, or for a PostgreSQL connection."""
    released = threading.Event()
    for _ in range(BOUND - 1):
        in_background(bounded, held(released))
    wait_until(lambda: bounded.pending_writes == BOUND - 1)
    time.sleep(0.05)
    started = time.monotonic()

    with pytest.raises(Unavailable) as refused:
        bounded.transact(add_org("queued"))

    waited = time.monotonic() - started
    released.set()
    wait_until(lambda: bounded.pending_writes == 0)
    assert str(refused.value) == NOT_STORED
    assert TIMEOUT_S <= waited < 2 * TIMEOUT_S + 0.5
    assert not stored(bounded, "queued")


@pytest.mark.parametrize("call", ["sync", "async"])
def test_a_write_that_overruns_its_deadline_is_answered_as_it_ended(
    bounded: Database, call: str
) -> None:
    """Work ends after the deadline, before twice it: PostgreSQL rolls back
    and says so; SQLite's commit was under way, so it waits and succeeds."""
    work = add_org("slow", pause_s=TIMEOUT_S * 1.4)

    try:
        if call == "sync":
            bounded.transact(work)
        else:
            asyncio.run(bounded.transact_async(work))
    except Unavailable as error:
        answer = str(error)
    else:
        answer = "stored"

    expected = "stored" if bounded.is_sqlite else NOT_STORED
    assert answer == expected
    assert stored(bounded, "slow") == (answer == "stored")


def test_a_sqlite_commit_running_past_twice_the_timeout_is_503_in_doubt(
    tmp_path: Path,
) -> None:
    """The one 503 that may be stored: a retry with the same
    Idempotency-Key is then how the client makes sure. (PostgreSQL rolls
    such a write back instead, as the test above shows.)"""
    url = sqlite_url(tmp_path)
    upgrade(url)
    bounded = Database(url, pool_size=1, limits=Limits(TIMEOUT_S, BOUND))
    work = add_org("stuck", pause_s=TIMEOUT_S * 3)

    try:
        with pytest.raises(Unavailable) as refused:
            asyncio.run(bounded.transact_async(work))

        assert str(refused.value) == IN_DOUBT
        wait_until(lambda: bounded.pending_writes == 0 and stored(bounded, "stuck"))
        assert stored(bounded, "stuck")
    finally:
        bounded.dispose()


def test_writes_pass_again_once_storage_keeps_up(bounded: Database) -> None:
    released = threading.Event()
    for _ in range(BOUND):
        in_background(bounded, held(released))
    wait_until(lambda: bounded.pending_writes == BOUND)
    with pytest.raises(Unavailable):
        bounded.transact(add_org("refused"))

    released.set()
    wait_until(lambda: bounded.pending_writes == 0)
    answer = bounded.transact(add_org("later"))

    assert answer == "later"
    assert stored(bounded, "later")
