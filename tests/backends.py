"""Fresh databases for tests, on SQLite or on a real PostgreSQL server.

Every test that touches storage runs once per backend. The PostgreSQL half
needs a server: `TRACKWAY_TEST_POSTGRES_URL` names a database on it that
the tests may connect to (they create and drop their own databases beside
it). Without the variable that half is skipped, unless
`TRACKWAY_TEST_REQUIRE_POSTGRES=1` asks for a failure instead, as CI does.

Tests of the rate limit's Redis counter need a Redis at 127.0.0.1:6379;
they skip without one, unless `TRACKWAY_TEST_REQUIRE_REDIS=1` (CI).

Each PostgreSQL test copies a template database migrated once per run, which
takes a few milliseconds instead of running the migrations again.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from trackway.store.database import normalise_url
from trackway.store.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL = "TRACKWAY_TEST_POSTGRES_URL"
REQUIRE_POSTGRES = "TRACKWAY_TEST_REQUIRE_POSTGRES"
HOW_TO_RUN = (
    f"PostgreSQL tests need a server: set {POSTGRES_URL}="
    "postgresql://postgres@127.0.0.1:5432/postgres (see README, Development)"
)


REDIS_URL = "redis://127.0.0.1:6379/0"
REQUIRE_REDIS = "TRACKWAY_TEST_REQUIRE_REDIS"


def require_redis() -> str:
    """The URL of the test Redis; skips (or fails, with
    TRACKWAY_TEST_REQUIRE_REDIS=1 as in CI) when it does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis does not answer at {REDIS_URL} ({type(error).__name__})"
        if os.environ.get(REQUIRE_REDIS) == "1":
            pytest.fail(f"{REQUIRE_REDIS}=1 but {reason}")
        pytest.skip(f"{reason}; start redis-server to run these tests")
    finally:
        client.close()
    return REDIS_URL


def is_setting(name: str) -> bool:
    """A server setting from the environment, not a test variable."""
    return name.startswith("TRACKWAY_") and not name.startswith("TRACKWAY_TEST_")


def require_postgres() -> URL:
    """The admin URL of the test server; skips (or fails) when there is none."""
    given = os.environ.get(POSTGRES_URL, "")
    if not given:
        if os.environ.get(REQUIRE_POSTGRES) == "1":
            pytest.fail(f"{REQUIRE_POSTGRES}=1 but {POSTGRES_URL} is not set")
        pytest.skip(HOW_TO_RUN)
    return make_url(normalise_url(given))


class PostgresDatabases:
    """Creates databases on the test server and drops them afterwards."""

    def __init__(self, admin: URL) -> None:
        self.admin = admin
        self.engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        self._template: str | None = None

    def blank(self) -> str:
        """The URL of a new, empty database."""
        return self._create(None)

    def migrated(self) -> str:
        """The URL of a new database at the latest schema."""
        if self._template is None:
            template = self._create(None)
            upgrade(template)
            self._template = make_url(template).database
        return self._create(self._template)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._template is not None:
            self.drop(self._url_of(self._template))
        self.engine.dispose()

    def _create(self, template: str | None) -> str:
        name = f"trackway_test_{uuid.uuid4().hex[:16]}"
        source = f' TEMPLATE "{template}"' if template else ""
        with self.engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
        return self._url_of(name)

    def _url_of(self, name: str) -> str:
        return self.admin.set(database=name).render_as_string(hide_password=False)


def sqlite_url(folder: Path, name: str = "trackway.db") -> str:
    return f"sqlite:///{folder / name}"


def fresh_url(
    backend: str, folder: Path, postgres: PostgresDatabases | None, migrated: bool
) -> Iterator[str]:
    """A database of its own for one test, dropped when the test ends."""
    if backend == "sqlite":
        url = sqlite_url(folder)
        if migrated:
            upgrade(url)
        yield url
        return
    assert postgres is not None
    url = postgres.migrated() if migrated else postgres.blank()
    try:
        yield url
    finally:
        postgres.drop(url)
