"""Server-made ids: 24 lowercase hex characters, ordered by creation time.

Like a Mongo ObjectId: 4 bytes of seconds since the epoch, 5 random bytes
fixed per process, then a 3-byte counter, so ids made in the same second by
one process still sort in the order they were made.
"""

import hashlib
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


def derived_id(at_seconds: float, *parts: bytes) -> str:
    """An id made from content: 4 bytes of seconds since the epoch, then 8
    bytes of a BLAKE2b digest of `parts`. The same content gives the same
    id, so a writer can tell that it stored something before."""
    seconds = int(at_seconds) & 0xFFFFFFFF
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return (seconds.to_bytes(4, "big") + digest.digest()).hex()


def is_id(value: str) -> bool:
    """True when `value` has the shape of a server-made id."""
    if len(value) != 24:
        return False
    return all(c in "0123456789abcdef" for c in value)
