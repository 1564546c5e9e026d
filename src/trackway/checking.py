"""Checking an import file's rows, in chunks, here or in a second process.

Reading a row and checking it against the rules (`to_row`) costs about as
much as storing it. `chunks()` does that work for a stream of records;
`checked_in_child()` runs it in a child process while this one stores
what came before, on a second core. The child reads the file as a stream
and sends each chunk through a pipe, whose small buffer holds the child
back whenever storing lags behind, so memory stays flat however long the
file. A thread of this process takes chunks off the pipe as they come, up
to `AHEAD_CHUNKS`, so the child goes on checking while this one stores a
batch, instead of stopping once the pipe's 64 KiB are full. Chunks come in
the order of the file, either way.
"""

import multiprocessing
import pickle
import queue
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec

from trackway.domain.errors import Invalid
from trackway.domain.policy import Policy
from trackway.imports import (
    Columns,
    FileError,
    Format,
    Record,
    Rejected,
    Source,
    open_source,
    rejection,
    to_row,
)
from trackway.store.importer import ImportRow, fewer_collections

CHUNK_ROWS = 1000
# Chunks received ahead of the one being stored: two import batches, so
# checking never waits for storing (a chunk is about 500 KB).
AHEAD_CHUNKS = 20
# How long a child that was told to stop may take before it is killed.
STOP_SECONDS = 5.0


@dataclass(slots=True)
class Chunk:
    """The next `read` records of the file: the rows that passed the rules
    and those rejected (in file order each), and the bytes of the file
    read so far. `broken` says why reading stopped early; `failed` holds
    the traceback of a child that crashed."""

    rows: list[ImportRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    position: int = 0
    broken: str | None = None
    failed: str | None = None

    @property
    def last(self) -> bool:
        return self.broken is not None or self.read < CHUNK_ROWS


def chunks(source: Source, columns: Columns, policy: Policy) -> Iterator[Chunk]:
    """The file's records checked, CHUNK_ROWS at a time; the last chunk
    is the first one with fewer."""
    records = source.records()
    while True:
        chunk = Chunk()
        try:
            for record in islice(records, CHUNK_ROWS):
                chunk.read += 1
                _check(chunk, record, columns, policy)
        except FileError as error:
            chunk.broken = str(error)
        chunk.position = source.position()
        yield chunk
        if chunk.last:
            return


def _check(
    chunk: Chunk, record: Record | Rejected, columns: Columns, policy: Policy
) -> None:
    if isinstance(record, Rejected):
        chunk.rejected.append(record)
        return
    try:
        chunk.rows.append(to_row(record, columns, policy))
    except Invalid as error:
        chunk.rejected.append(rejection(record, error))


@contextmanager
def checked_in_child(
    path: Path, format: Format, columns: Columns, policy: Policy
) -> Iterator[Iterator[Chunk]]:
    """The chunks of `path`, read and checked by a child process.

    Leaving the block stops the child, whether or not every chunk was
    taken.
    """
    # spawn: a fresh interpreter, safe whatever threads this one runs.
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_read_and_check,
        args=(sender, path, format, columns, policy),
        name="trackway-import-check",
        daemon=True,
    )
    child.start()
    sender.close()
    ahead = _Ahead(receiver)
    try:
        yield _received(ahead)
    finally:
        ahead.stop()
        receiver.close()
        child.join(STOP_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()


class _Ahead:
    """The child's chunks, as bytes, taken off the pipe by a thread.

    `get()` returns them in order, then None once the child has closed
    its end. After `stop()` the thread takes no more than the one it may
    be receiving, so a child blocked on a full pipe gets a broken pipe
    once the receiver is closed.
    """

    def __init__(self, receiver: Connection) -> None:
        self._receiver = receiver
        self._queue: queue.Queue[bytes | None] = queue.Queue(AHEAD_CHUNKS)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._receive, name="trackway-import-receive", daemon=True
        )
        self._thread.start()

    def get(self) -> bytes | None:
        return self._queue.get()

    def stop(self) -> None:
        """Stop the thread; the receiver may be closed once this returns.

        A thread waiting on the pipe wakes when the child sends its next
        chunk or ends, which a child that reads and checks always does.
        """
        self._stopped.set()
        self._thread.join()

    def _receive(self) -> None:
        try:
            while not self._stopped.is_set():
                if not self._put(self._receiver.recv_bytes()):
                    return
        except (EOFError, OSError):
            self._put(None)

    def _put(self, data: bytes | None) -> bool:
        """Queue `data` unless stopped first; False when stopped."""
        while not self._stopped.is_set():
            try:
                self._queue.put(data, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _received(ahead: _Ahead) -> Iterator[Chunk]:
    while True:
        data = ahead.get()
        if data is None:
            raise RuntimeError("the process checking rows stopped without a word")
        chunk = _decode(data)
        if chunk.failed is not None:
            raise RuntimeError(f"the process checking rows failed:\n{chunk.failed}")
        yield chunk
        if chunk.last:
            return


def _read_and_check(
    sender: Connection, path: Path, format: Format, columns: Columns, policy: Policy
) -> None:
    """The child: every chunk of the file, then the end (or a failure)."""
    try:
        with fewer_collections(), open_source(path, format) as source:
            for chunk in chunks(source, columns, policy):
                sender.send_bytes(_encode(chunk))
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the parent stopped listening, or the user stopped both
    except BaseException:
        sender.send_bytes(_encode(Chunk(failed=traceback.format_exc())))
    finally:
        sender.close()


# msgpack through msgspec builds the rows back several times faster than
# pickle; a chunk it cannot carry (an integer beyond 64 bits in a meta
# value, a rejected row's bytes that are not UTF-8) goes as a pickle.
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Chunk)
_MSGPACK, _PICKLE = b"m", b"p"


def _encode(chunk: Chunk) -> bytes:
    try:
        return _MSGPACK + _encoder.encode(chunk)
    except (msgspec.EncodeError, OverflowError, UnicodeEncodeError):
        return _PICKLE + pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(data: bytes) -> Chunk:
    if data[:1] == _PICKLE:
        chunk = pickle.loads(data[1:])
        assert isinstance(chunk, Chunk)
        return chunk
    return _decoder.decode(memoryview(data)[1:])
