"""Reading event files for `trackway import`: CSV or NDJSON, maybe gzipped.

A file is read as a stream of records (one dict per row), so memory does
not grow with its length. Each record is then mapped by `Columns` onto the
same validated calls the live API makes (`event_call`, `identity_call`),
with the server's policy, so an import obeys the rules of a tracking call.

Choices a user should know:

- A row's visitor is its tracking column's value; without one (no such
  column, or an empty cell), its user value, so each user is one visitor
  whose trackingId is the user value; a row with neither is a visitor of
  its own, as an event sent without a trackingId would be.
- An empty cell (or a JSON null) means "not given": no user makes the row
  anonymous, no session puts it in a session by the inactivity gap.
- CSV cells are text; a meta column whose name ends in `Num` or `Bool`
  has its text read as a number or boolean first (`12.5`, `true`), so the
  suffix rules can be met. NDJSON values are taken as they are.
- Bytes that are not UTF-8 reject their row, not the file: the text is
  read with each such byte kept as an escape (Python's `surrogateescape`),
  which `_is_utf8()` finds and `--rejected` writes back as it was.
- An imported event's id is derived from its time, its line number and
  the row's values (`row_event_id`). Importing the same file again finds
  its events stored and stores nothing twice; two identical rows on two
  lines stay two events (a double click).
"""

import csv
import functools
import gzip
import io
import math
import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

from trackway.domain.attributes import suffix_of
from trackway.domain.calls import event_call, identity_call
from trackway.domain.errors import Invalid, Problem
from trackway.domain.ids import derived_id
from trackway.domain.model import IdentityCall
from trackway.domain.policy import Policy
from trackway.domain.times import check_event_time, now_ms, parse_datetime
from trackway.store.importer import ImportRow

GZIP_MAGIC = b"\x1f\x8b"
NDJSON_EVENT_ALIAS = "name"
_INTEGER = re.compile(r"-?\d+", re.ASCII)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", re.ASCII)
# The API refuses JSON integers beyond 64 bits; so does an import.
_INT64 = range(-(2**63), 2**64)
_BOOLEANS = {"true": True, "false": False}
_canonical = msgspec.json.Encoder(order="sorted")


class Format(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


_EXTENSIONS = {
    ".csv": Format.CSV,
    ".ndjson": Format.NDJSON,
    ".jsonl": Format.NDJSON,
}


class FileError(Exception):
    """The file as a whole cannot be read (not a row that can be skipped)."""


# A row as it was in the file: a CSV row's cells, or an NDJSON line.
Raw = list[str] | str | None


@dataclass(frozen=True, slots=True)
class Record:
    """One row as read: its first line in the file, its values by column
    name, and the row as it was (for a file of rejected rows)."""

    line: int
    values: Mapping[str, Any]
    raw: Raw = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that breaks a rule, and why, in words for the user; `raw` is
    the row as it was, when it could be read at all."""

    line: int
    reason: str
    raw: Raw = None


def format_of(path: Path) -> Format | None:
    """The format its extension names (`.csv`, `.ndjson`, `.jsonl`),
    ignoring a final `.gz`; None when the extension says nothing."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


class Source:
    """An open import file: its records, and how far reading has got.

    `size` and `position()` count bytes of the file on disk (compressed
    bytes for gzip), which is what a progress bar can know in advance.
    """

    def __init__(self, path: Path, format: Format) -> None:
        self.format = format
        self._raw = path.open("rb")
        try:
            self.size = path.stat().st_size
            self._text = _text_stream(self._raw)
            self._lines = _Lines(self._text)
            self._csv = None
            if format is Format.CSV:
                self._csv = csv.reader(self._lines, strict=True)
            self.header = None if self._csv is None else self._read_header()
        except BaseException:
            self._raw.close()
            raise

    def position(self) -> int:
        return self._raw.tell()

    def records(self) -> Iterator[Record | Rejected]:
        """Each row as a record, or as rejected when it is not a row at all
        (a broken JSON line, a CSV row of the wrong width)."""
        if self.format is Format.CSV:
            return self._csv_records()
        return self._ndjson_records()

    def close(self) -> None:
        self._text.close()
        self._raw.close()

    def _read_header(self) -> list[str]:
        assert self._csv is not None
        try:
            with _reading(1):
                header = next(self._csv, None)
        except csv.Error as error:
            raise FileError(f"line 1: the header is not valid CSV: {error}") from None
        if not header:
            raise FileError("the file is empty; a CSV import needs a header row")
        if self._lines.escaped:
            raise FileError("line 1: the header is not UTF-8 text")
        return header

    def _csv_records(self) -> Iterator[Record | Rejected]:
        assert self._csv is not None and self.header is not None
        reader = self._csv
        header = self.header
        lines = self._lines
        while True:
            line = reader.line_num + 1
            lines.start()
            # Not `with _reading(line)`: a context manager per row costs
            # a few percent of checking a file.
            try:
                cells = next(reader, None)
            except csv.Error as error:
                # The reader starts afresh on the next line.
                text = "".join(lines.taken).rstrip("\r\n")
                yield Rejected(line, f"is not valid CSV: {error}", text)
                continue
            except _UNREADABLE as error:
                raise _unreadable(line, error) from None
            if cells is None:
                return
            if lines.escaped:
                yield Rejected(line, _NOT_UTF8, cells)
            elif cells:
                yield _csv_record(line, header, cells)

    def _ndjson_records(self) -> Iterator[Record | Rejected]:
        for line, text in self.lines():
            yield _ndjson_record(line, text)

    def lines(self) -> Iterator[tuple[int, str]]:
        """The lines of an NDJSON file that are not blank, numbered from
        1, without their line ends."""
        line = 0
        while True:
            with _reading(line + 1):
                text = self._text.readline()
            if not text:
                return
            line += 1
            if text.strip():
                yield line, text.rstrip("\r\n")


@contextmanager
def open_source(path: Path, format: Format) -> Iterator[Source]:
    """Open `path` for reading as `format`; gzip is recognised by its
    first bytes, whatever the name."""
    try:
        source = Source(path, format)
    except OSError as error:
        raise FileError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        yield source
    finally:
        source.close()


def _text_stream(raw: io.BufferedReader) -> io.TextIOWrapper:
    binary: io.BufferedReader | gzip.GzipFile = raw
    if raw.read(2) == GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=raw, mode="rb")
    raw.seek(0)
    # utf-8-sig: spreadsheet programs start CSV files with a byte-order mark.
    return io.TextIOWrapper(
        binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )


class _Lines:
    """The lines of a text, keeping those of the record being read
    (`taken`), so that a row the CSV reader refuses can be written back,
    and whether any of them holds bytes that are not UTF-8 (`escaped`)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.taken: list[str] = []
        self.escaped = False

    def start(self) -> None:
        """Called before each record is read."""
        self.taken.clear()
        self.escaped = False

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self._text)
        self.taken.append(line)
        if not _is_utf8(line):
            self.escaped = True
        return line


# The escapes that stand for bytes that are not UTF-8.
_ESCAPED = re.compile("[\udc80-\udcff]")


def _is_utf8(text: str) -> bool:
    """False when `text`, as read here, holds bytes that are not UTF-8."""
    return text.isascii() or _ESCAPED.search(text) is None


# What stops reading a file altogether.
_UNREADABLE = (OSError, EOFError, zlib.error)


@contextmanager
def _reading(line: int) -> Iterator[None]:
    """Turn what stops reading altogether into a FileError naming the line."""
    try:
        yield
    except _UNREADABLE as error:
        raise _unreadable(line, error) from None


def _unreadable(line: int, error: BaseException) -> FileError:
    return FileError(f"line {line}: cannot read the file: {error}")


_NOT_UTF8 = "is not UTF-8 text"


def _csv_record(line: int, header: list[str], cells: list[str]) -> Record | Rejected:
    if len(cells) != len(header):
        reason = f"has {len(cells)} fields where the header has {len(header)}"
        return Rejected(line, reason, cells)
    return Record(line, dict(zip(header, cells, strict=True)), cells)


def _ndjson_record(line: int, text: str) -> Record | Rejected:
    if not _is_utf8(text):
        return Rejected(line, _NOT_UTF8, text)
    try:
        values = msgspec.json.decode(text)
    except msgspec.DecodeError as error:
        return Rejected(line, f"is not valid JSON: {error}", text)
    if not isinstance(values, dict):
        return Rejected(line, "is not a JSON object", text)
    return Record(line, values, text)


@dataclass(frozen=True, slots=True)
class Columns:
    """Which column holds what. Optional columns are None when unmapped;
    `meta` None means every column not mapped to something else."""

    event: str = "event"
    time: str = "timestamp"
    user: str | None = "user_id"
    tracking: str | None = None
    session: str | None = "session_id"
    email: str | None = None
    phone: str | None = None
    meta: tuple[str, ...] | None = None
    event_alias: str | None = None

    def mapped(self) -> dict[str, str]:
        """Column name by the field of the calls it fills."""
        named = {
            "name": self.event,
            "time": self.time,
            "externalId": self.user,
            "trackingId": self.tracking,
            "sessionId": self.session,
            "email": self.email,
            "phone": self.phone,
        }
        return {field: column for field, column in named.items() if column}


def to_row(record: Record, columns: Columns, policy: Policy) -> ImportRow:
    """The validated calls of one record; Invalid lists every problem.

    Problems name the column they come from, so a user can find the cell.
    """
    name_column = _event_column(record.values, columns)
    try:
        return _calls(record, columns, name_column, policy)
    except Invalid as error:
        where = {**columns.mapped(), "name": name_column}
        problems = [_in_column(p, where) for p in error.problems]
        raise Invalid(*problems) from None


def _calls(
    record: Record, columns: Columns, name_column: str, policy: Policy
) -> ImportRow:
    values = record.values
    tracking = _cell(values, columns.tracking) or _cell(values, columns.user)
    session = _cell(values, columns.session)
    problems: list[Problem] = []
    published_at = _time(values, columns.time, problems)
    body = {
        "name": values.get(name_column),
        "trackingId": tracking,
        "sessionId": session,
        "meta": _meta(values, columns, name_column),
    }
    try:
        event = event_call(body, policy, published_at or 0)
    except Invalid as error:
        problems.extend(error.problems)
    try:
        identity = _identity(values, columns, tracking, session, policy)
    except Invalid as error:
        problems.extend(error.problems)
    if problems:
        raise Invalid(*problems)
    event_id = row_event_id(record, event.published_at)
    return ImportRow(record.line, event, identity, event_id)


def row_event_id(record: Record, published_at: int) -> str:
    """The id of the event a row makes: the same row on the same line
    always makes the same id, whatever the column options."""
    values = _canonical.encode(record.values)
    return derived_id(published_at / 1000, str(record.line).encode(), values)


def _event_column(values: Mapping[str, Any], columns: Columns) -> str:
    alias = columns.event_alias
    if alias and values.get(columns.event) is None and alias in values:
        return alias
    return columns.event


def _time(
    values: Mapping[str, Any], column: str, problems: list[Problem]
) -> int | None:
    value = values.get(column)
    if value is None or value == "":
        problems.append(Problem(f"{column} is required"))
        return None
    try:
        return check_event_time(parse_datetime(value, column), now_ms(), column)
    except Invalid as error:
        problems.extend(error.problems)
        return None


def _identity(
    values: Mapping[str, Any],
    columns: Columns,
    tracking: str | None,
    session: str | None,
    policy: Policy,
) -> IdentityCall | None:
    person = {
        "externalId": _cell(values, columns.user),
        "email": _cell(values, columns.email),
        "phone": _cell(values, columns.phone),
    }
    given = {field: value for field, value in person.items() if value is not None}
    if not given:
        return None
    body = {**given, "trackingId": tracking, "sessionId": session}
    return identity_call(body, policy)


def _cell(values: Mapping[str, Any], column: str | None) -> Any:
    """A cell of an identifier column: None when empty; JSON integers as
    text, since ids are often numbers in exported data."""
    if column is None:
        return None
    value = values.get(column)
    if value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _meta(
    values: Mapping[str, Any], columns: Columns, name_column: str
) -> dict[str, Any]:
    if columns.meta is not None:
        wanted = [column for column in columns.meta if column in values]
    else:
        taken = _taken(columns, name_column)
        wanted = [column for column in values if column not in taken]
    meta = {}
    for column in wanted:
        value = values[column]
        if isinstance(value, str):
            if value == "":
                continue  # an empty CSV cell: nothing was said
            value = _typed_text(column, value)
        meta[column] = value
    return meta


@functools.lru_cache(maxsize=64)
def _taken(columns: Columns, name_column: str) -> frozenset[str]:
    """The columns that are not meta (the same for every row)."""
    return frozenset({*columns.mapped().values(), name_column})


def _typed_text(key: str, text: str) -> Any:
    """Text read as a number or boolean when its key's suffix asks for one;
    text that does not fit (as the API would refuse it) stays text, for the
    rules to refuse by name."""
    suffix = suffix_of(key)
    if suffix == "Num" and _INTEGER.fullmatch(text):
        number = int(text)
        return number if _INT64.start <= number < _INT64.stop else text
    if suffix == "Num" and _NUMBER.fullmatch(text):
        real = float(text)
        return real if math.isfinite(real) else text
    if suffix == "Bool" and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    return text


def _in_column(problem: Problem, columns: dict[str, str]) -> Problem:
    """Add the column a problem was found in to its detail."""
    field, _, rest = (problem.pointer or "").lstrip("/").partition("/")
    column = columns.get(field)
    if field == "meta" and rest:
        column = rest.replace("~1", "/").replace("~0", "~")
    if column is None:
        return problem
    return Problem(f"{problem.detail} (column '{column}')", problem.pointer)


def rejection(record: Record, error: Invalid) -> Rejected:
    """The rejection of a record, in one line for the user; a problem the
    event and the identity call of a row share is said once."""
    reason = "; ".join(dict.fromkeys(p.detail for p in error.problems))
    return Rejected(record.line, reason, record.raw)


def missing_columns(header: list[str], columns: Columns) -> list[str]:
    """Mapped columns (meta included) that a CSV header lacks."""
    wanted = [*columns.mapped().values(), *(columns.meta or ())]
    return [column for column in dict.fromkeys(wanted) if column not in header]
