"""`trackway import FILE`: events with their own times, straight into storage.

Rows go through the rules of the live API (validation, identity
resolution, sessions) and are written in batches, one transaction each.
Rejected rows are listed on stderr with their line numbers; the summary
goes to stdout.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from trackway.cli.common import USAGE, DatabaseUrl, fail, load, open_database
from trackway.domain.errors import Invalid, Unavailable
from trackway.domain.policy import Policy
from trackway.domain.resolution import RaceLost
from trackway.imports import (
    NDJSON_EVENT_ALIAS,
    Columns,
    FileError,
    Format,
    Rejected,
    Source,
    format_of,
    missing_columns,
    open_source,
    rejection,
    to_row,
)
from trackway.store import accounts
from trackway.store.accounts import DEFAULT_ORG
from trackway.store.database import Database
from trackway.store.importer import DEFAULT_BATCH_SIZE, ImportRow, import_rows

DEFAULT_USER = "user_id"
DEFAULT_SESSION = "session_id"


ImportFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="A .csv or .ndjson file, optionally gzipped (.gz).",
    ),
]
FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        help="File format; by default from the extension, .gz set aside.",
        show_default=False,
    ),
]
Identifier = Annotated[
    str | None,
    typer.Option(
        help="Column of an extra identifier of the customer.",
        show_default=False,
    ),
]


@dataclass(slots=True)
class Tally:
    """What the import did, for the summary."""

    read: int = 0
    rejected: int = 0
    stored: int = 0
    created: int = 0
    broken: str | None = None


def import_file(
    file: ImportFile,
    org: Annotated[str, typer.Option(help="Name of the org.")] = DEFAULT_ORG,
    database_url: DatabaseUrl = None,
    format: FormatOption = None,
    event_column: Annotated[
        str,
        typer.Option(help="Column of the event name (NDJSON: or key 'name')."),
    ] = "event",
    time_column: Annotated[
        str,
        typer.Option(help="Column of the event time (ISO-8601; no offset: UTC)."),
    ] = "timestamp",
    user_column: Annotated[
        str | None,
        typer.Option(
            help="Column of the customer's externalId; an empty cell is an"
            f" anonymous event. Default: {DEFAULT_USER} when present;"
            " '' for none.",
            show_default=False,
        ),
    ] = None,
    tracking_column: Annotated[
        str | None,
        typer.Option(
            help="Column of the visitor's trackingId. Default: none, and"
            " each user is one visitor whose trackingId is the user value.",
            show_default=False,
        ),
    ] = None,
    session_column: Annotated[
        str | None,
        typer.Option(
            help="Column of the sessionId; an empty cell is sessioned by"
            f" the inactivity gap. Default: {DEFAULT_SESSION} when present;"
            " '' for none (all by the gap).",
            show_default=False,
        ),
    ] = None,
    email_column: Identifier = None,
    phone_column: Identifier = None,
    meta_column: Annotated[
        list[str] | None,
        typer.Option(
            help="A column to keep as event meta; repeat for more."
            " Default: every column not mapped above.",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per write transaction.")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Import events that carry their own times from a CSV or NDJSON file.

    Each row is an event of its user (identified by externalId before its
    first event), under the same rules as the tracking API. Bad rows are
    listed with their line numbers and skipped; the exit code is then 1.
    """
    chosen = format or format_of(file)
    if chosen is None:
        fail(f"cannot tell the format of {file.name}; add --format csv|ndjson", USAGE)
    settings = load(database_url)
    policy = settings.policy()
    wanted = _Wanted(
        event_column, time_column, user_column, tracking_column,
        session_column, email_column, phone_column, meta_column,
    )  # fmt: skip

    started = time.monotonic()
    with open_database(settings) as database:
        org_id = _org_id(database, org)
        tally = _run(database, org_id, file, chosen, wanted, policy, batch_size)

    _print_summary(tally, time.monotonic() - started)
    if tally.broken:
        fail(f"{tally.broken}; the rows before it were imported")
    if tally.rejected:
        fail(
            f"rejected {_rows(tally.rejected)} (listed above by line number);"
            " fix them and import those rows on their own"
        )


@dataclass(frozen=True, slots=True)
class _Wanted:
    """The column options as typed; None means the option was not given."""

    event: str
    time: str
    user: str | None
    tracking: str | None
    session: str | None
    email: str | None
    phone: str | None
    meta: list[str] | None

    def columns(self, format: Format, header: list[str] | None) -> Columns:
        """The mapping; a default optional column absent from a CSV header
        is left unmapped."""
        return Columns(
            event=self.event,
            time=self.time,
            user=_given(self.user, DEFAULT_USER, header),
            tracking=self.tracking or None,
            session=_given(self.session, DEFAULT_SESSION, header),
            email=self.email or None,
            phone=self.phone or None,
            meta=None if self.meta is None else tuple(self.meta),
            event_alias=_alias(format, self.event),
        )


def _given(option: str | None, default: str, header: list[str] | None) -> str | None:
    if option is not None:
        return option or None
    if header is not None and default not in header:
        return None
    return default


def _alias(format: Format, event: str) -> str | None:
    if format is Format.NDJSON and event == "event":
        return NDJSON_EVENT_ALIAS
    return None


def _run(
    database: Database,
    org_id: str,
    file: Path,
    format: Format,
    wanted: _Wanted,
    policy: Policy,
    batch_size: int,
) -> Tally:
    tally = Tally()
    try:
        with open_source(file, format) as source, _progress(source) as progress:
            columns = wanted.columns(format, source.header)
            _check_header(source.header, columns)
            rows = _valid_rows(source, columns, policy, tally, progress)

            def stored(count: int) -> None:
                tally.stored += count
                progress.advance(count)

            totals = import_rows(database, org_id, rows, policy, batch_size, stored)
            progress.finish()
    except FileError as error:
        fail(str(error))  # only while opening: nothing is stored yet
    except RaceLost:
        fail(f"concurrent writes kept changing the same customers; {_partial(tally)}")
    except (SQLAlchemyError, Unavailable):
        typer.echo(f"error: {_partial(tally)}", err=True)
        raise
    tally.created = totals.customers_created
    return tally


def _check_header(header: list[str] | None, columns: Columns) -> None:
    if header is None:
        return
    missing = missing_columns(header, columns)
    if missing:
        fail(
            f"the file has no column {', '.join(map(repr, missing))}; its"
            f" columns are {', '.join(header)} (map them with --event-column,"
            " --time-column, ...; see trackway import --help)",
            USAGE,
        )


def _valid_rows(
    source: Source,
    columns: Columns,
    policy: Policy,
    tally: Tally,
    progress: "_Progress",
) -> Iterator[ImportRow]:
    """The rows that pass the rules; the others are reported and counted.

    A file that stops being readable ends the rows there, so what was read
    is still stored, and the problem is reported like a rejection.
    """
    records = source.records()
    while True:
        try:
            record = next(records, None)
        except FileError as error:
            tally.broken = str(error)
            return
        if record is None:
            return
        tally.read += 1
        if isinstance(record, Rejected):
            _reject(record, tally, progress)
            continue
        try:
            row = to_row(record, columns, policy)
        except Invalid as error:
            _reject(rejection(record, error), tally, progress)
            continue
        yield row


def _reject(rejected: Rejected, tally: Tally, progress: "_Progress") -> None:
    tally.rejected += 1
    progress.say(f"line {rejected.line}: {rejected.reason}")


class _Progress:
    """A bar on stderr over the bytes of the file, shown only on a
    terminal; messages printed through it do not tear the bar."""

    def __init__(self, source: Source, console: Console) -> None:
        self._source = source
        self._console = console
        self._bar = Progress(
            TextColumn("importing"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[events]} events"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("import", total=source.size, events=0)
        self._events = 0

    def __enter__(self) -> "_Progress":
        self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.stop()

    def advance(self, events: int) -> None:
        self._events += events
        position = self._source.position()
        self._bar.update(self._task, completed=position, events=self._events)

    def finish(self) -> None:
        self._bar.update(self._task, completed=self._source.size)

    def say(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)


def _progress(source: Source) -> _Progress:
    # soft_wrap: a long message stays one line, whatever the width.
    console = Console(stderr=True, soft_wrap=True)
    return _Progress(source, console)


def _org_id(database: Database, name: str) -> str:
    org = accounts.org_by_name(database, name)
    if org is None:
        fail(
            f"org '{name}' not found; create it with: trackway orgs create {name}"
            " (or name another with --org)"
        )
    return org.org_id


def _partial(tally: Tally) -> str:
    return (
        f"the import stopped after storing {tally.stored} events (whole"
        " batches); importing the same rows again would store them twice"
    )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _print_summary(tally: Tally, seconds: float) -> None:
    lines = [
        ("rows read", tally.read),
        ("events stored", tally.stored),
        ("customers created", tally.created),
        ("rows rejected", tally.rejected),
    ]
    for label, count in lines:
        typer.echo(f"{label + ':':<19}{count}")
    typer.echo(f"{'time:':<19}{seconds:.1f} s")
