"""Group commit: calls queued together share one transaction and commit.

Each test runs a `GroupCommit` over the write transactions of its own
SQLite `Database`, with one table `marks(name)`, and holds the writer
thread on a first call so that the calls behind it queue up.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
)
from sqlalchemy.exc import OperationalError

from trackway.domain.errors import Unavailable
from trackway.store.database import Database
from trackway.store.group_commit import GroupCommit

metadata = MetaData()
marks = Table("marks", metadata, Column("name", String, primary_key=True))


class Lost(Exception):
    """A race the call may win on its next attempt."""


class Store:
    """A SQLite database, with a count of the transactions committed."""

    def __init__(self, path: Path) -> None:
        self.database = Database(f"sqlite:///{path}")
        metadata.create_all(self.database.engine)
        self.commits = 0
        self.fail_commit = False

        @event.listens_for(self.database.engine, "commit")
        def _commit(_connection: Connection) -> None:
            if self.fail_commit:
                raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
            self.commits += 1

    def names(self) -> set[str]:
        with self.database.read() as connection:
            return set(connection.scalars(select(marks.c.name)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "marks.db")
    yield store
    store.database.dispose()


@pytest.fixture
def group(store: Store) -> Iterator[GroupCommit]:
    group = GroupCommit(store.database.write)
    yield group
    group.close()


def mark(name: str) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(insert(marks).values(name=name))
        return name

    return work


def held(group: GroupCommit) -> tuple[threading.Event, Future[Any]]:
    """A first call that keeps the writer busy until the event is set."""
    started, release = threading.Event(), threading.Event()

    def work(connection: Connection) -> str:
        started.set()
        release.wait(10)
        return mark("first")(connection)

    future = group.submit(work)
    started.wait(10)
    return release, future


def test_calls_queued_behind_a_commit_share_the_next_one(
    store: Store, group: GroupCommit
) -> None:
    release, first = held(group)
    queued = [group.submit(mark(f"m-{n}")) for n in range(5)]

    release.set()
    results = [future.result(10) for future in (first, *queued)]

    assert results == ["first", "m-0", "m-1", "m-2", "m-3", "m-4"]
    assert store.commits == 2


def test_a_result_is_given_only_once_it_is_committed(
    store: Store, group: GroupCommit
) -> None:
    future = group.submit(mark("durable"))

    future.result(10)

    assert store.names() == {"durable"}


def test_a_failing_call_stores_nothing_and_its_group_the_rest(
    store: Store, group: GroupCommit
) -> None:
    def broken(connection: Connection) -> None:
        connection.execute(insert(marks).values(name="half-written"))
        raise ValueError("a bug in the call")

    release, first = held(group)
    failing = group.submit(broken)
    after = group.submit(mark("after"))
    release.set()

    with pytest.raises(ValueError, match="a bug in the call"):
        failing.result(10)
    assert (first.result(10), after.result(10)) == ("first", "after")
    assert store.names() == {"first", "after"}


def test_a_group_whose_calls_all_succeed_takes_no_savepoints(
    store: Store, group: GroupCommit
) -> None:
    statements: list[str] = []
    event.listen(
        store.database.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_: statements.append(sql.split()[0]),
    )
    release, first = held(group)
    queued = [group.submit(mark(f"m-{n}")) for n in range(3)]

    release.set()
    for future in (first, *queued):
        future.result(10)

    assert "SAVEPOINT" not in statements
    assert store.names() == {"first", "m-0", "m-1", "m-2"}


def test_a_call_that_loses_a_race_runs_again_from_a_clean_savepoint(
    store: Store, group: GroupCommit
) -> None:
    attempts: list[int] = []

    def flaky(connection: Connection) -> str:
        attempts.append(len(attempts))
        connection.execute(insert(marks).values(name=f"try-{len(attempts)}"))
        if len(attempts) < 3:
            raise Lost()
        return "won"

    result = group.submit(flaky, retry_on=(Lost,)).result(10)

    assert result == "won"
    assert store.names() == {"try-3"}


def test_a_call_that_keeps_losing_is_unavailable(
    store: Store, group: GroupCommit
) -> None:
    def always_lost(_connection: Connection) -> None:
        raise Lost()

    future = group.submit(always_lost, retry_on=(Lost,), attempts=3)

    with pytest.raises(Unavailable):
        future.result(10)


def test_a_failed_commit_fails_every_call_of_its_group(
    store: Store, group: GroupCommit
) -> None:
    release, first = held(group)
    queued = [group.submit(mark(f"m-{n}")) for n in range(3)]
    store.fail_commit = True

    release.set()

    for future in (first, *queued):
        with pytest.raises(Unavailable):
            future.result(10)
    store.fail_commit = False
    assert store.names() == set()


def test_close_finishes_the_calls_already_queued(store: Store) -> None:
    group = GroupCommit(store.database.write)
    release, first = held(group)
    queued = [group.submit(mark(f"m-{n}")) for n in range(3)]

    release.set()
    group.close()

    assert all(future.done() for future in (first, *queued))
    assert store.names() == {"first", "m-0", "m-1", "m-2"}


def test_a_call_cancelled_while_queued_is_never_run(
    store: Store, group: GroupCommit
) -> None:
    release, _first = held(group)
    dropped = group.submit(mark("dropped"))
    kept = group.submit(mark("kept"))

    assert dropped.cancel()
    release.set()

    assert kept.result(10) == "kept"
    assert store.names() == {"first", "kept"}


def test_a_running_call_cannot_be_cancelled_and_is_stored(
    store: Store, group: GroupCommit
) -> None:
    release, first = held(group)

    assert not first.cancel()
    release.set()

    assert first.result(10) == "first"
    assert group.submit(mark("after")).result(10) == "after"
