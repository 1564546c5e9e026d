"""Engines and transactions for SQLite and PostgreSQL.

On SQLite, write transactions start with `BEGIN IMMEDIATE` and are
serialised inside the process, so two writers never deadlock upgrading a
read lock; readers run beside them thanks to WAL. Calls to `transact`
that arrive together share one transaction and one commit (see
`group_commit`).

On PostgreSQL, transactions run at READ COMMITTED and take row locks in
one order (visitor, then customer). A transaction the server aborts to break
a deadlock is run again from the start by `transact`, so the race shows up
as a short wait, never as an error.

A server's database has `Limits` (see `backpressure`): a bound on writes
waiting for storage and a deadline on each, after which the write is
cancelled or rolled back rather than committed behind a 503.
"""

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from trackway.domain.errors import Unavailable
from trackway.logs import get_logger
from trackway.store.backpressure import (
    Admission,
    Deadline,
    Limits,
    await_committed,
    bounded,
    in_doubt,
    not_stored,
    wait_committed,
)
from trackway.store.group_commit import GroupCommit

_log = get_logger("trackway.store")

T = TypeVar("T")

ATTEMPTS = 8
# SQLite's wait for another process's write lock, without Limits.
BUSY_TIMEOUT_S = 30.0
# Deadlock detected, serialization failure: the server undid the whole
# transaction, and running it again is safe.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


class Contention(Exception):
    """The transaction lost a race and was rolled back; run it again."""


def normalise_url(url: str) -> str:
    """Pick the driver for a plain `postgresql://` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    def __init__(
        self, url: str, pool_size: int = 5, limits: Limits | None = None
    ) -> None:
        """`pool_size`: PostgreSQL connections this process keeps open; it
        may open as many again under a burst. `limits`: how long and how
        many calls may wait for storage (None, as for the CLI: unbounded)."""
        self.url = normalise_url(url)
        self.limits = limits
        options = _engine_options(self.url, pool_size, limits)
        # hide_parameters: a logged database error never shows an email.
        self.engine: Engine = create_engine(self.url, hide_parameters=True, **options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock() if self.is_sqlite else None
        # The engine whose transactions begin IMMEDIATE (see _begin below).
        self._writes = self.engine.execution_options(sqlite_write=True)
        self._group_commit: GroupCommit | None = None
        self._starting = threading.Lock()
        self._admission = None if limits is None else Admission(limits.max_pending)
        if self.is_sqlite:
            _configure_sqlite(self.engine, _busy_timeout_s(limits))

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
            with self._write_lock, self._writes.begin() as connection:
                yield connection

    def transact(
        self,
        work: Callable[[Connection], T],
        retry_on: tuple[type[Exception], ...] = (),
    ) -> T:
        """Run `work` in a write transaction, again from the start if it
        loses a race (a deadlock, or one of `retry_on` raised by `work`).

        After ATTEMPTS losses the caller gets Unavailable (503): the data
        is contended, not wrong, and a retry later will pass. With Limits,
        also 503 when too many writes wait, or past the deadline.
        """
        races: tuple[type[Exception], ...] = (Contention, *retry_on)
        with self._admitted():
            deadline = Deadline(self._timeout_s())
            if not self.is_sqlite:
                return self._transact_here(work, races, deadline)
            # One writer at a time anyway: share its transaction and commit.
            future = self._submit(work, races, deadline)
            return wait_committed(future, deadline, self._timeout_s())

    async def transact_async(
        self,
        work: Callable[[Connection], T],
        retry_on: tuple[type[Exception], ...] = (),
    ) -> T:
        """`transact` for the event loop. On SQLite the loop awaits the
        group commit instead of holding a thread while it waits."""
        races: tuple[type[Exception], ...] = (Contention, *retry_on)
        with self._admitted():
            deadline = Deadline(self._timeout_s())
            if not self.is_sqlite:
                return await self._transact_in_thread(work, races, deadline)
            future = self._submit(work, races, deadline)
            return await await_committed(future, deadline, self._timeout_s())

    def _transact_here(
        self,
        work: Callable[[Connection], T],
        races: tuple[type[Exception], ...],
        deadline: Deadline,
    ) -> T:
        for attempt in range(ATTEMPTS):
            deadline.check()
            try:
                return self._attempt(work, deadline)
            except races as lost:
                race = type(lost).__name__
                _log.info("transaction_retried", attempt=attempt, race=race)
                # Jitter, so two losers do not meet again at once.
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise Unavailable("the data is busy with concurrent changes; try again")

    def _attempt(self, work: Callable[[Connection], T], deadline: Deadline) -> T:
        committing = False
        try:
            with self.write() as connection:
                result = work(connection)
                # Its caller is answered 503 past the deadline: roll back
                # rather than commit behind that answer.
                deadline.check()
                committing = True
        except Unavailable as error:
            if committing:
                raise in_doubt() from error
            raise
        return result

    async def lookup(self, read: Callable[..., T], *args: Any) -> T:
        """`read(*args)`, a read of a few indexed rows, for the event loop.

        On SQLite it runs right here: a lookup in a local file costs less
        than the trip to a worker thread and back, and under WAL a reader
        never waits for the writer. On PostgreSQL the network round trip
        would stall the loop, so it runs in a worker thread.
        """
        if self.is_sqlite:
            return read(*args)
        return await anyio.to_thread.run_sync(read, *args)

    async def _transact_in_thread(
        self,
        work: Callable[[Connection], T],
        races: tuple[type[Exception], ...],
        deadline: Deadline,
    ) -> T:
        """`_transact_here` in anyio's pool, the one the server's other
        blocking calls share; given up on after twice the timeout (a
        PostgreSQL that hangs answers no statement_timeout)."""
        left = deadline.left()
        patience = None if left is None else left + (self._timeout_s() or 0)
        with anyio.move_on_after(patience):
            return await anyio.to_thread.run_sync(
                self._transact_here,
                work,
                races,
                deadline,
                abandon_on_cancel=self.limits is not None,
            )
        raise in_doubt()

    def _submit(
        self,
        work: Callable[[Connection], T],
        races: tuple[type[Exception], ...],
        deadline: Deadline,
    ) -> Future[T]:
        if self.limits is not None:
            work = bounded(work, deadline)
        return self._group().submit(work, races, ATTEMPTS)

    def _admitted(self) -> AbstractContextManager[None]:
        return nullcontext() if self._admission is None else self._admission.slot()

    def _timeout_s(self) -> float | None:
        return None if self.limits is None else self.limits.timeout_s

    @property
    def pending_writes(self) -> int:
        """Writes of this process waiting for storage (0 without Limits)."""
        return 0 if self._admission is None else self._admission.pending

    def _group(self) -> GroupCommit:
        """The writer thread, started by the first call that needs it."""
        with self._starting:
            if self._group_commit is None:
                self._group_commit = GroupCommit(self.write)
            return self._group_commit

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
        """True when storage answers. On SQLite that means a write could
        commit: the probe takes the write lock (after this process's own
        writes), so a file another process keeps locked is not ready,
        although reads of it still answer."""
        try:
            # engine.connect() connects at once, so it stays inside the try.
            probe: AbstractContextManager[Connection] = (
                self.write() if self.is_sqlite else self.engine.connect()
            )
            with probe as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        with self._starting:
            if self._group_commit is not None:
                self._group_commit.close()
                self._group_commit = None
        self.engine.dispose()


# PostgreSQL refusing writes because it is (now) a read-only standby, as
# after a failover: the client should retry, as for a lost connection.
_READ_ONLY_SQLSTATE = "25006"


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Storage that fails to answer is a 503 for the caller, not a 500."""
    try:
        yield
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES:
            raise Contention() from error
        if not _is_outage(error):
            raise
        # Parameters are hidden by the engine, so no personal data is logged.
        _log.warning("storage_unavailable", error=type(error.orig).__name__)
        raise Unavailable() from error
    except PoolTimeout as error:
        # Every connection stayed busy for pool_timeout: nothing was sent.
        _log.warning("storage_unavailable", error="PoolTimeout")
        raise not_stored() from error


def _is_outage(error: DBAPIError) -> bool:
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return getattr(error.orig, "sqlstate", None) == _READ_ONLY_SQLSTATE


def _engine_options(url: str, pool_size: int, limits: Limits | None) -> dict[str, Any]:
    if url.startswith("sqlite"):
        busy = _busy_timeout_s(limits)
        return {"connect_args": {"check_same_thread": False, "timeout": busy}}
    # pool_pre_ping: a connection the database dropped (a restart) is
    # replaced at checkout, so service comes back by itself.
    options = {"pool_pre_ping": True, "pool_size": pool_size, "max_overflow": pool_size}
    if limits is None:
        return options
    return {
        **options,
        "pool_timeout": limits.timeout_s,
        "connect_args": _postgres_timeouts(url, limits),
    }


def _postgres_timeouts(url: str, limits: Limits) -> dict[str, Any]:
    """libpq settings that bound a connect and each statement."""
    given = make_url(url).query.get("options", "")
    timeout = f"-c statement_timeout={limits.timeout_ms}"
    return {
        # libpq counts whole seconds, and takes 2 for anything less.
        "connect_timeout": max(2, math.ceil(limits.timeout_s)),
        "options": f"{given} {timeout}".strip(),
    }


def _busy_timeout_s(limits: Limits | None) -> float:
    if limits is None:
        return BUSY_TIMEOUT_S
    return min(BUSY_TIMEOUT_S, limits.timeout_s)


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={math.ceil(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("sqlite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
