"""Fixtures shared by every test folder.

`database_url` and everything built on it (`api`, `database`) run each test
once on SQLite and once on PostgreSQL; see `backends.py`.
"""

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from backends import (
    BACKENDS,
    PostgresDatabases,
    fresh_url,
    require_postgres,
    require_redis,
)
from harness import Api, make_api
from live import Server, running_server
from trackway.store.database import Database


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Creates test databases on the PostgreSQL server of the run."""
    databases = PostgresDatabases(require_postgres())
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the storage backend this run of the test uses."""
    name: str = request.param
    return name


def _postgres(request: pytest.FixtureRequest, backend: str) -> PostgresDatabases | None:
    if backend != "postgresql":
        return None
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return databases


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[str]:
    """The URL of a database of this test's own, at the latest schema."""
    postgres = _postgres(request, backend)
    yield from fresh_url(backend, tmp_path, postgres, migrated=True)


@pytest.fixture
def blank_database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[str]:
    """The URL of an empty database of this test's own (no schema yet)."""
    postgres = _postgres(request, backend)
    yield from fresh_url(backend, tmp_path, postgres, migrated=False)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An engine on this test's own migrated database."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def second_database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[str]:
    """Another migrated database on the same backend, for a second server."""
    postgres = _postgres(request, backend)
    folder = tmp_path / "second"
    folder.mkdir()
    yield from fresh_url(backend, folder, postgres, migrated=True)


@pytest.fixture
def postgres_database_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """An empty PostgreSQL database, for what only PostgreSQL allows."""
    url = postgres_databases.blank()
    yield url
    postgres_databases.drop(url)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix on the test Redis of this test's own, whose keys are
    deleted when it ends (the server is shared with other runs)."""
    client = redis.Redis.from_url(require_redis())
    prefix = f"trackway-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def server(tmp_path: Path, blank_database_url: str) -> Iterator[Server]:
    """`trackway serve` as a real process on this test's own database."""
    with running_server(blank_database_url, tmp_path) as running:
        yield running


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """A server on its own database, with org `acme` and three keys."""
    yield from make_api(database_url)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per reason for skipped tests, instead of one per test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        _, _, reason = report.longrepr
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count} skipped: {reason}")
