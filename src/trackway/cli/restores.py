"""`trackway import EXPORT_FILE`: an export of `trackway export`, restored.

Records keep their ids and times, so the read API answers as it did when
the file was made, and running the same import again stores nothing
twice. Lines that are not records are reported by line number (and
copied to `--rejected FILE`) and skipped.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer

from trackway import exports
from trackway.cli.common import fail, open_database, org_id_of
from trackway.cli.progress import Bar
from trackway.imports import FileError, Format, Rejected, open_source
from trackway.rejects import RejectedFile
from trackway.settings import Settings
from trackway.store.database import Database
from trackway.store.exporter import Exported
from trackway.store.restorer import RestoreTotals, restore


def is_export_file(file: Path) -> bool:
    """True when the first line of `file` (maybe gzipped) is the header
    of an export file."""
    try:
        with open_source(file, Format.NDJSON) as source:
            first = next(source.lines(), None)
    except FileError:
        return False
    return first is not None and exports.is_export(first[1])


@dataclass(slots=True)
class _Tally:
    read: int = 0
    rejected: int = 0
    broken: str | None = None
    totals: RestoreTotals | None = None


def restore_file(
    file: Path,
    org: str,
    settings: Settings,
    dry_run: bool,
    rejected: Path | None,
    batch_size: int,
) -> None:
    """Restore the export `file` into `org`; exit 1 when lines were bad."""
    started = time.monotonic()
    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        tally = _restore(database, org_id, file, dry_run, rejected, batch_size)

    _print_summary(tally, dry_run, time.monotonic() - started)
    if tally.broken:
        fail(f"{tally.broken}; the lines before it were read")
    if tally.rejected:
        fail(
            f"rejected {tally.rejected} line(s) (listed above by line number);"
            " the other records were restored"
        )


def _restore(
    database: Database,
    org_id: str,
    file: Path,
    dry_run: bool,
    rejected: Path | None,
    batch_size: int,
) -> _Tally:
    tally = _Tally()
    try:
        with open_source(file, Format.NDJSON) as source:
            lines = source.lines()
            _, first = next(lines)
            _check_header(first)
            rejects = None
            if rejected is not None:
                rejects = RejectedFile(rejected, Format.NDJSON, first)
            with Bar("restoring", source.size, source.position) as bar:
                records = _records(lines, org_id, tally, bar, rejects)
                if dry_run:
                    for _ in records:
                        bar.advance(1)
                else:
                    tally.totals = restore(
                        database,
                        org_id,
                        records,
                        batch_size,
                        lambda done: bar.advance(done.records),
                    )
                bar.finish()
            if rejects is not None:
                rejects.close()
    except FileError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write {rejected}: {error.strerror or error}")
    return tally


def _check_header(first: str) -> None:
    try:
        exports.read_header(first)
    except exports.FormatError as error:
        fail(f"line 1: {error}")


def _records(
    lines: Iterator[tuple[int, str]],
    org_id: str,
    tally: _Tally,
    bar: Bar,
    rejects: RejectedFile | None,
) -> Iterator[Exported]:
    while True:
        try:
            numbered = next(lines, None)
        except FileError as error:
            tally.broken = str(error)
            return
        if numbered is None:
            return
        number, text = numbered
        tally.read += 1
        try:
            yield exports.decode(text, org_id)
        except exports.FormatError as error:
            tally.rejected += 1
            bar.say(f"line {number}: is not an export record: {error}")
            if rejects is not None:
                rejects.write(Rejected(number, str(error), text))


def _print_summary(tally: _Tally, dry_run: bool, seconds: float) -> None:
    totals = tally.totals or RestoreTotals()
    lines: list[tuple[str, object]] = [("records read", tally.read)]
    if not dry_run:
        lines += [
            ("customers restored", totals.customers),
            ("events and change records restored", totals.events),
            ("already stored", totals.present),
            ("identifiers kept by other customers", totals.taken),
        ]
    lines += [("lines rejected", tally.rejected), ("time", f"{seconds:.1f} s")]
    for label, value in lines:
        typer.echo(f"{label}: {value}")
    if dry_run:
        typer.echo("dry run: nothing was stored")
