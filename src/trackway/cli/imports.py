"""`trackway import FILE`: events with their own times, straight into storage.

Rows go through the rules of the live API (validation, identity
resolution, sessions) and are written in batches, one transaction each.
Rejected rows are listed on stderr with their line numbers (and copied to
`--rejected FILE`); the summary goes to stdout. `--dry-run` checks every
row and stores nothing. Each row's event id comes from the row, so running
the same file again, after an interruption or a fix, stores only the rows
not stored yet. An export file (`trackway export`) is recognised by its
first line and restored as it was.
"""

import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from trackway.checking import Chunk, checked_in_child, chunks
from trackway.cli import restores
from trackway.cli.common import (
    USAGE,
    DatabaseUrl,
    fail,
    load,
    open_database,
    org_id_of,
)
from trackway.cli.progress import Bar
from trackway.domain.errors import Unavailable
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
)
from trackway.rejects import RejectedFile
from trackway.store.accounts import DEFAULT_ORG
from trackway.store.database import Database
from trackway.store.importer import DEFAULT_BATCH_SIZE, ImportRow, import_rows

DEFAULT_USER = "user_id"
# Starting the process that checks rows takes about half a second.
CHILD_CHECKS_FROM_BYTES = 4 * 1024 * 1024
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


RejectedOption = Annotated[
    Path | None,
    typer.Option(
        "--rejected",
        dir_okay=False,
        help="Write the rejected rows, as they were, to this file (CSV with"
        " the header, or NDJSON), to fix and import on their own.",
        show_default=False,
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Check every row and report the bad ones; store nothing."
    ),
]


@dataclass(slots=True)
class Tally:
    """What the import did, for the summary."""

    read: int = 0
    rejected: int = 0
    valid: int = 0
    stored: int = 0
    present: int = 0
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
    dry_run: DryRun = False,
    rejected: RejectedOption = None,
) -> None:
    """Import events that carry their own times from a CSV or NDJSON file,
    or an export file of `trackway export`.

    Each row is an event of its user (identified by externalId before its
    first event), under the same rules as the tracking API. Bad rows are
    listed with their line numbers and skipped; the exit code is then 1.
    Running the same file again stores only the rows not yet stored.
    """
    chosen = format or format_of(file)
    if chosen is None:
        fail(f"cannot tell the format of {file.name}; add --format csv|ndjson", USAGE)
    settings = load(database_url)
    if chosen is Format.NDJSON and restores.is_export_file(file):
        restores.restore_file(file, org, settings, dry_run, rejected, batch_size)
        return
    policy = settings.policy()
    wanted = _Wanted(
        event_column, time_column, user_column, tracking_column,
        session_column, email_column, phone_column, meta_column,
    )  # fmt: skip
    plan = _Plan(file, chosen, wanted, policy, batch_size, dry_run, rejected)

    started = time.monotonic()
    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        tally = _run(database, org_id, plan)

    _print_summary(tally, plan, time.monotonic() - started)
    if tally.broken:
        done = "checked" if dry_run else "imported"
        fail(f"{tally.broken}; the rows before it were {done}")
    if tally.rejected:
        kept = f"; they are in {rejected}" if rejected else ""
        fail(
            f"rejected {_rows(tally.rejected)} (listed above by line"
            f" number{kept}); fix them and import those rows on their own,"
            " or fix them in place and run the same import again"
        )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to import and how, as the options say."""

    file: Path
    format: Format
    wanted: "_Wanted"
    policy: Policy
    batch_size: int
    dry_run: bool
    rejected: Path | None


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


def _run(database: Database, org_id: str, plan: _Plan) -> Tally:
    tally = Tally()
    try:
        with open_source(plan.file, plan.format) as source:
            columns = plan.wanted.columns(plan.format, source.header)
            _check_header(source.header, columns)
            with _rejects(plan, source.header) as rejects:
                _import(database, org_id, plan, source, columns, tally, rejects)
    except FileError as error:
        fail(str(error))  # only while opening: nothing is stored yet
    except RaceLost:
        fail(f"concurrent writes kept changing the same customers; {_partial(tally)}")
    except (SQLAlchemyError, Unavailable):
        typer.echo(f"error: {_partial(tally)}", err=True)
        raise
    return tally


def _import(
    database: Database,
    org_id: str,
    plan: _Plan,
    source: Source,
    columns: Columns,
    tally: Tally,
    rejects: RejectedFile | None,
) -> None:
    # The bar shows how far checking has read (asked only once it runs).
    with (
        Bar("importing", source.size, lambda: checker.position) as bar,
        _checked(plan, source, columns) as checked,
    ):
        checker = _Checker(tally, bar, rejects)
        rows = checker.valid_rows(checked)
        if plan.dry_run:
            for _ in rows:
                bar.advance(1)
            bar.finish()
            return

        def stored(count: int) -> None:
            bar.advance(count)

        totals = import_rows(
            database, org_id, rows, plan.policy, plan.batch_size, stored
        )
        bar.finish()
    tally.stored = totals.events
    tally.present = totals.present
    tally.created = totals.customers_created


def _checked(
    plan: _Plan, source: Source, columns: Columns
) -> AbstractContextManager[Iterator[Chunk]]:
    """The file's rows checked in chunks: by a second process when the file
    is large enough to repay starting one and there is a core for it (an
    import then checks and stores at once), else here."""
    big = source.size >= CHILD_CHECKS_FROM_BYTES
    if big and not plan.dry_run and (os.cpu_count() or 1) > 1:
        return checked_in_child(plan.file, plan.format, columns, plan.policy)
    return nullcontext(chunks(source, columns, plan.policy))


def _rejects(plan: _Plan, header: list[str] | None) -> RejectedFile | nullcontext[None]:
    if plan.rejected is None:
        return nullcontext()
    try:
        return RejectedFile(plan.rejected, plan.format, header)
    except OSError as error:
        fail(f"cannot write {plan.rejected}: {error.strerror or error}", USAGE)


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


@dataclass(slots=True)
class _Checker:
    """Counts and reports rows as they are checked; `position` is how far
    into the file (bytes on disk) checking has read."""

    tally: Tally
    bar: Bar
    rejects: RejectedFile | None
    position: int = 0

    def valid_rows(self, checked: Iterator[Chunk]) -> Iterator[ImportRow]:
        """The rows that pass the rules; the others are reported and
        counted. A file that stops being readable ends the rows there, so
        what was read is still stored, and the problem is reported."""
        for chunk in checked:
            self.tally.read += chunk.read
            for rejected in chunk.rejected:
                self.reject(rejected)
            self.tally.valid += len(chunk.rows)
            self.position = chunk.position
            if chunk.broken is not None:
                self.tally.broken = chunk.broken
            yield from chunk.rows

    def reject(self, rejected: Rejected) -> None:
        self.tally.rejected += 1
        self.bar.say(f"line {rejected.line}: {rejected.reason}")
        if self.rejects is not None:
            self.rejects.write(rejected)


def _partial(tally: Tally) -> str:
    return (
        f"the import stopped after {tally.read} rows (whole batches are"
        " stored); run the same import again to store the rest: rows"
        " already stored are skipped"
    )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _print_summary(tally: Tally, plan: _Plan, seconds: float) -> None:
    lines: list[tuple[str, object]] = [("rows read", tally.read)]
    if plan.dry_run:
        lines.append(("rows valid", tally.valid))
    else:
        lines.append(("events stored", tally.stored))
        lines.append(("already stored", tally.present))
        lines.append(("customers created", tally.created))
    lines.append(("rows rejected", tally.rejected))
    lines.append(("time", f"{seconds:.1f} s"))
    for label, value in lines:
        typer.echo(f"{label + ':':<19}{value}")
    if plan.dry_run:
        typer.echo("dry run: nothing was stored")
