"""Slow storage: calls are refused at once with 503, never left to pile up.

The server bounds the writes that wait for storage and how long each waits;
`/readyz` stops waiting for a storage that hangs, and says ready again as
soon as it answers.
"""

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from backends import sqlite_url
from harness import Api, make_api
from trackway.store.backpressure import BUSY, Limits
from trackway.store.migrate import upgrade
from trackway.store.tables import events

TIMEOUT_S = 0.5


@pytest.fixture
def bounded_api(database_url: str) -> Iterator[Api]:
    """A server that lets one write wait for storage, for TIMEOUT_S."""
    yield from make_api(database_url, limits=Limits(TIMEOUT_S, 1))


def hold_storage(api: Api) -> Callable[[], None]:
    """Take the one write slot until the returned function is called."""
    released = threading.Event()

    def held(connection: Connection) -> None:
        connection.execute(select(1))
        released.wait(10)

    thread = threading.Thread(target=api.database.transact, args=(held,))
    thread.start()
    while api.database.pending_writes == 0:
        time.sleep(0.01)

    def release() -> None:
        released.set()
        thread.join()

    return release


def events_stored(api: Api) -> int:
    with api.database.read() as connection:
        count = connection.execute(select(func.count()).select_from(events))
        return int(count.scalar_one())


def test_a_write_while_too_many_wait_is_503_at_once(bounded_api: Api) -> None:
    release = hold_storage(bounded_api)
    started = time.monotonic()

    response = bounded_api.post("/v1/tracking/event", {"name": "page-viewed"})

    release()
    assert time.monotonic() - started < TIMEOUT_S
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert (error["code"], error["detail"]) == ("unavailable", BUSY)
    assert events_stored(bounded_api) == 0


def test_writes_are_taken_again_once_storage_keeps_up(bounded_api: Api) -> None:
    release = hold_storage(bounded_api)
    bounded_api.post("/v1/tracking/event", {"name": "page-viewed"})
    release()

    response = bounded_api.post("/v1/tracking/event", {"name": "page-viewed"})

    assert response.status_code == 204
    assert events_stored(bounded_api) == 1


def test_readyz_is_503_within_the_timeout_while_storage_hangs(
    bounded_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = threading.Event()

    def hanging_ping() -> bool:
        answers.wait(10)
        return True

    with monkeypatch.context() as patched:
        patched.setattr(bounded_api.database, "ping", hanging_ping)
        started = time.monotonic()
        hanging = bounded_api.client.get("/readyz")
        waited = time.monotonic() - started
    answers.set()

    back = bounded_api.client.get("/readyz")

    assert hanging.status_code == 503
    assert hanging.headers["retry-after"] == "5"
    assert TIMEOUT_S <= waited < TIMEOUT_S + 1
    assert back.status_code == 200


def test_readyz_is_503_while_another_process_keeps_sqlite_locked(
    tmp_path: Path,
) -> None:
    """Reads still answer then, but no write can commit: not ready."""
    url = sqlite_url(tmp_path)
    upgrade(url)
    other_process = sqlite3.connect(tmp_path / "trackway.db", isolation_level=None)
    server = make_api(url, limits=Limits(TIMEOUT_S, 1))
    api = next(server)

    other_process.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    locked = api.client.get("/readyz")
    waited = time.monotonic() - started
    other_process.execute("ROLLBACK")
    unlocked = api.client.get("/readyz")

    server.close()
    other_process.close()
    assert locked.status_code == 503
    assert waited < TIMEOUT_S + 1
    assert unlocked.status_code == 200
