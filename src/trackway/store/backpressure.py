"""Failing fast when storage is slow or down, instead of piling up.

A server's `Database` admits at most `max_pending` writes at once; one
more is refused at once with 503. Each admitted write has a deadline of
`timeout_s`, and a 503 it gets says whether it was stored:

- `not_stored`: the call timed out before its transaction could commit
  (still queued, or PostgreSQL was about to commit after the deadline and
  rolled back instead). Nothing of it is kept; a retry is always safe.
- `in_doubt`: the commit was under way and did not finish within a
  second `timeout_s`, or the connection broke during it. The call may be
  stored; a retry with the same `Idempotency-Key` (or Segment
  `messageId`) stores it exactly once.

So a call is answered within twice its timeout, and a 2xx still means
committed.
"""

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from trackway.domain.errors import Unavailable

NOT_STORED = "storage did not answer in time; nothing was stored; try again shortly"
IN_DOUBT = (
    "storage did not confirm the write in time; it may be stored: retry "
    "with the same Idempotency-Key (or messageId) to store it once"
)
BUSY = "too many writes are waiting for storage; try again shortly"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a call may wait for storage, and how many writes may."""

    timeout_s: float
    max_pending: int

    @property
    def timeout_ms(self) -> int:
        return math.ceil(self.timeout_s * 1000)


class Deadline:
    """The moment a call stops waiting; None never comes."""

    def __init__(self, seconds: float | None) -> None:
        self._at = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        """Seconds left (never below 0), None without a deadline."""
        if self._at is None:
            return None
        return max(0.0, self._at - time.monotonic())

    def passed(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def check(self) -> None:
        """Raise `not_stored` once the deadline has passed."""
        if self.passed():
            raise not_stored()


class Admission:
    """Counts the writes waiting for storage, refusing any beyond `bound`."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._pending >= self._bound:
                raise Unavailable(BUSY, retry_after_s=1)
            self._pending += 1
        try:
            yield
        finally:
            with self._lock:
                self._pending -= 1


def not_stored() -> Unavailable:
    return Unavailable(NOT_STORED)


def in_doubt() -> Unavailable:
    return Unavailable(IN_DOUBT)


def bounded(
    work: Callable[[Connection], T], deadline: Deadline
) -> Callable[[Connection], T]:
    """`work`, refused once `deadline` has passed."""

    def within_deadline(connection: Connection) -> T:
        # Taken from the queue after its caller stopped waiting: skip it.
        deadline.check()
        return work(connection)

    return within_deadline


def wait_committed(future: Future[T], deadline: Deadline, grace: float | None) -> T:
    """The result of a queued write, or 503 saying whether it was stored:
    cancelled while still queued at the deadline, else waited for `grace`
    more, as its commit is under way."""
    try:
        return future.result(deadline.left())
    except TimeoutError:
        if future.done():
            return future.result()
        if future.cancel():
            raise not_stored() from None
    try:
        return future.result(grace)
    except TimeoutError:
        if future.done():
            return future.result()
        raise in_doubt() from None


async def await_committed(
    future: Future[T], deadline: Deadline, grace: float | None
) -> T:
    """`wait_committed` for the event loop, which it does not block."""
    waiting = asyncio.wrap_future(future)
    try:
        return await asyncio.wait_for(asyncio.shield(waiting), deadline.left())
    except TimeoutError:
        if future.done():
            return future.result()
        if future.cancel():
            raise not_stored() from None
    try:
        return await asyncio.wait_for(waiting, grace)
    except TimeoutError:
        if future.done():
            return future.result()
        raise in_doubt() from None
