"""Server-made ids: 24 lowercase hex characters, ordered by creation time.

Like a Mongo ObjectId: 4 bytes of seconds since the epoch, 5 random bytes
fixed per process, then a 3-byte counter, so ids made in the same second by
one process still sort in the order they were made.
"""

import itertools
import os
import threading
import time

_PROCESS_BYTES = os.urandom(5)
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()


def new_id(at_seconds: float | None = None) -> str:
    """Return a fresh id; `at_seconds` backdates it (imports of old events)."""
    seconds = int(time.time() if at_seconds is None else at_seconds)
    with _lock:
        count = next(_counter) & 0xFFFFFF
    raw = (
        (seconds & 0xFFFFFFFF).to_bytes(4, "big")
        + _PROCESS_BYTES
        + count.to_bytes(3, "big")
    )
    return raw.hex()


def is_id(value: str) -> bool:
    """True when `value` has the shape of a server-made id."""
    if len(value) != 24:
        return False
    return all(c in "0123456789abcdef" for c in value)
