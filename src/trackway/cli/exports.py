"""`trackway export`: an org's customers, with everything about them, as
NDJSON (see `trackway.exports` for the format).

The file is written as the database is read, so memory does not grow
with the org. A file named with `--output` appears only once it is
complete (it is written beside, then renamed); a name ending in `.gz` is
gzipped. The summary goes to stderr, so stdout can carry the export.
"""

import gzip
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, cast

import typer

from trackway import exports
from trackway.cli.common import USAGE, DatabaseUrl, fail, load, open_database, org_id_of
from trackway.cli.progress import Bar
from trackway.domain.errors import Invalid
from trackway.domain.ids import is_id
from trackway.domain.times import now_ms, parse_datetime
from trackway.store import reads
from trackway.store.accounts import DEFAULT_ORG
from trackway.store.database import Database
from trackway.store.exporter import (
    Exported,
    ExportedCustomer,
    Selection,
    count_customers,
    export_customers,
)

KINDS = {
    "ExportedCustomer": "customers",
    "Visitor": "visitors",
    "Session": "sessions",
    "TrackingEvent": "events",
    "ChangeRecord": "change records",
}


def export(
    org: Annotated[str, typer.Option(help="Name of the org.")] = DEFAULT_ORG,
    customer: Annotated[
        str | None,
        typer.Option(help="Export only the customer with this id.", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Export only what was written at or after this ISO-8601 time:"
            " customers changed or given events since, with those events.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="File to write (gzipped when it ends in .gz); default stdout.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the org's customers with their visitors, sessions, events and
    change records as NDJSON; `trackway import` reads it back."""
    selection = Selection(customer, _since(since))
    if customer is not None and not is_id(customer):
        fail(f"'{customer}' is not a customer id (24 hex characters)", USAGE)
    settings = load(database_url)

    started = time.monotonic()
    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        _check_customer(database, org_id, customer, org)
        total = count_customers(database, org_id, selection)
        with _sink(output) as sink:
            header = exports.header_line(org, now_ms(), customer, selection.since)
            sink.write(header)
            counts = _write(database, org_id, selection, sink, total)
            counts["bytes"] += len(header)

    _print_summary(counts, output, time.monotonic() - started)


def _since(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_datetime(text, "--since")
    except Invalid as error:
        fail(f"{error} (as 2026-12-03T10:00:00Z)", USAGE)


def _check_customer(
    database: Database, org_id: str, customer: str | None, org: str
) -> None:
    if customer is not None and reads.customer(database, org_id, customer) is None:
        fail(f"org '{org}' has no customer {customer}")


def _write(
    database: Database, org_id: str, selection: Selection, sink: IO[bytes], total: int
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with Bar("exporting", total) as bar:
        for record in export_customers(database, org_id, selection):
            line = exports.encode(record)
            sink.write(line)
            counts["bytes"] += len(line)
            counts[_kind(record)] += 1
            if isinstance(record, ExportedCustomer):
                bar.advance(1)
        bar.finish()
    return counts


def _kind(record: Exported) -> str:
    return KINDS[type(record).__name__]


@contextmanager
def _sink(output: Path | None) -> Iterator[IO[bytes]]:
    """stdout, or a file that gets its name only once complete."""
    if output is None:
        yield typer.get_binary_stream("stdout")
        sys.stdout.flush()
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with _open(partial, gzipped=output.name.endswith(".gz")) as file:
            yield file
        os.replace(partial, output)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    finally:
        partial.unlink(missing_ok=True)


def _open(path: Path, gzipped: bool) -> IO[bytes]:
    if gzipped:
        # GzipFile is a binary file object, though not typed as IO.
        return cast(IO[bytes], gzip.open(path, "wb"))
    return path.open("wb")


def _print_summary(counts: Counter[str], output: Path | None, seconds: float) -> None:
    lines = [
        ("customers", counts["customers"]),
        ("visitors", counts["visitors"]),
        ("sessions", counts["sessions"]),
        ("events", counts["events"]),
        ("change records", counts["change records"]),
        ("bytes", counts["bytes"]),
    ]
    if output is not None:
        lines.append(("file bytes", output.stat().st_size))
    for label, count in lines:
        typer.echo(f"{label + ':':<16}{count}", err=True)
    typer.echo(f"{'time:':<16}{seconds:.1f} s", err=True)
    if output is not None:
        typer.echo(f"written to {output}", err=True)
