"""Group commit: write calls that arrive together share one transaction.

SQLite writes one transaction at a time, and each commit waits for the
disk. Calls that queue up while a commit is in progress are therefore
taken together by one writer thread: each runs inside a savepoint of one
transaction, and one commit makes them all durable. A caller's future
resolves only after that commit, so an answer is never sent for data that
is not on disk.

A group first runs without savepoints, which cost as much as a short
call. Should any call fail, the whole transaction is rolled back and the
group runs again with a savepoint per call: the failing call rolls back
its own savepoint and fails alone, the others are unaffected. (Calls are
already written to run again from the start, as a lost race reruns them.)
A failure of the commit itself fails every call of the group, none of
which is then stored.
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from trackway.domain.errors import Unavailable
from trackway.logs import get_logger

_log = get_logger("trackway.store")

# Enough to amortise one commit over many calls, few enough that the first
# call of a group does not wait long for the last.
MAX_GROUP = 128

Work = Callable[[Connection], Any]
# A call's result, or the error it failed with.
_Outcome = tuple[Any, BaseException | None]
Begin = Callable[[], AbstractContextManager[Connection]]


@dataclass(slots=True)
class _Call:
    work: Work
    retry_on: tuple[type[Exception], ...]
    attempts: int
    future: Future[Any] = field(default_factory=Future)


class GroupCommit:
    """One writer thread that runs queued calls in shared transactions.

    `begin` opens a write transaction that commits when its block ends.
    """

    def __init__(self, begin: Begin, max_group: int = MAX_GROUP) -> None:
        self._begin = begin
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="trackway-group-commit", daemon=True
        )
        self._thread.start()

    def submit(
        self,
        work: Work,
        retry_on: tuple[type[Exception], ...] = (),
        attempts: int = 8,
    ) -> Future[Any]:
        """Queue `work`; the future holds its result once it is committed.

        `work` runs again from a fresh savepoint when it raises one of
        `retry_on`, at most `attempts` times in all.
        """
        call = _Call(work, retry_on, attempts)
        self._queue.put(call)
        return call.future

    def close(self) -> None:
        """Finish the calls already queued, then stop the writer thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            group, closing = self._take()
            if group:
                self._commit(group)

    def _take(self) -> tuple[list[_Call], bool]:
        """The next call, waiting for it, and any that queued behind it;
        True once `close` was asked."""
        group: list[_Call] = []
        call = self._queue.get()
        while call is not None:
            group.append(call)
            if len(group) == self._max_group:
                return group, False
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                return group, False
        return group, True

    def _commit(self, group: list[_Call]) -> None:
        # A call cancelled while queued (its client went away) is dropped;
        # once running, a call can no longer be cancelled.
        group = [call for call in group if call.future.set_running_or_notify_cancel()]
        if not group:
            return
        try:
            outcomes = self._together(group) or self._apart(group)
        except Exception as error:
            # Nothing of the group was stored: each call learns why.
            for call in group:
                call.future.set_exception(error)
            return
        for call, (value, failure) in zip(group, outcomes, strict=True):
            if failure is None:
                call.future.set_result(value)
            else:
                call.future.set_exception(failure)

    def _together(self, group: list[_Call]) -> list[_Outcome] | None:
        """Every call in one transaction without savepoints; None, and
        nothing stored, when any of them fails."""
        try:
            with self._begin() as connection:
                values = [_run_bare(connection, call) for call in group]
        except _CallFailed:
            return None
        return [(value, None) for value in values]

    def _apart(self, group: list[_Call]) -> list[_Outcome]:
        """Every call in a savepoint of one transaction, so each fails alone."""
        with self._begin() as connection:
            return [_run_one(connection, call) for call in group]


class _CallFailed(Exception):
    """A call of a group without savepoints failed: roll the group back."""


def _run_bare(connection: Connection, call: _Call) -> Any:
    """The call's result; a database error is raised on as it is, as the
    transaction itself is then in doubt."""
    try:
        return call.work(connection)
    except DBAPIError:
        raise
    except Exception as error:
        raise _CallFailed() from error


def _run_one(connection: Connection, call: _Call) -> _Outcome:
    """The call's result or its error; its writes are kept only on success.

    A database error is raised on: the transaction itself is then in doubt.
    """
    for attempt in range(call.attempts):
        savepoint = connection.begin_nested()
        try:
            value = call.work(connection)
        except DBAPIError:
            raise
        except call.retry_on as lost:
            savepoint.rollback()
            race = type(lost).__name__
            _log.info("transaction_retried", attempt=attempt, race=race)
            continue
        except Exception as error:
            savepoint.rollback()
            return None, error
        savepoint.commit()
        return value, None
    busy = Unavailable("the data is busy with concurrent changes; try again")
    return None, busy
