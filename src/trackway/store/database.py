"""Engines and transactions for SQLite and PostgreSQL.

On SQLite, write transactions start with `BEGIN IMMEDIATE` and are
serialised inside the process, so two writers never deadlock upgrading a
read lock; readers run beside them thanks to WAL.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from trackway.domain.errors import Unavailable
from trackway.logs import get_logger

_log = get_logger("trackway.store")


def normalise_url(url: str) -> str:
    """Pick the driver for a plain `postgresql://` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        # hide_parameters: a logged database error never shows an email.
        self.engine: Engine = create_engine(
            self.url, hide_parameters=True, **_engine_options(self.url)
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends without error.

        Raises Unavailable (503) when the database cannot be reached or
        stays locked; nothing of the transaction is kept then.
        """
        with _unavailable_on_failure():
            if self._write_lock is None:
                with self.engine.begin() as connection:
                    yield connection
                return
            with self._write_lock:
                options = self.engine.execution_options(sqlite_write=True)
                with options.begin() as connection:
                    yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction with one consistent view for several queries."""
        with _unavailable_on_failure(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction whose queries all see the same moment, however
        long it lasts (REPEATABLE READ on PostgreSQL; a SQLite transaction
        already reads one snapshot)."""
        engine = self.engine
        if not self.is_sqlite:
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with _unavailable_on_failure(), engine.begin() as connection:
            yield connection

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Storage that fails to answer is a 503 for the caller, not a 500."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        # Parameters are hidden by the engine, so no personal data is logged.
        _log.warning("storage_unavailable", error=type(error.orig).__name__)
        raise Unavailable() from error


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("sqlite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
