"""Fixtures shared by every test folder.

`database_url` and everything built on it (`api`, `database`) run each test
once on SQLite and once on PostgreSQL; see `backends.py`.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import BACKENDS, PostgresDatabases, fresh_url, require_postgres
from harness import Api, make_api
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
def api(database_url: str) -> Iterator[Api]:
    """A server on its own database, with org `acme` and three keys."""
    yield from make_api(database_url)
