"""What every command shares: settings, the database, failing helpfully.

Exit codes: 2 when what was typed cannot work (a bad setting, an unknown
role), 1 when it could have worked but did not (a name in use, a server
that refused or did not answer).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from trackway.domain.errors import Unavailable
from trackway.domain.times import format_ms
from trackway.settings import Settings, SettingsError, load_settings
from trackway.store import accounts
from trackway.store.database import Database

USAGE = 2

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; overrides TRACKWAY_DATABASE_URL.",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` on stderr and end the command with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load(database_url: str | None = None) -> Settings:
    """Settings from TRACKWAY_*, with --database-url on top; exit 2 when
    bad."""
    try:
        return load_settings(database_url=database_url)
    except SettingsError as error:
        fail(f"{error} (fix it, then retry)", USAGE)


def migrate(settings: Settings) -> None:
    """Bring the schema up to date, or fail saying what to check."""
    # Alembic takes a third of a second to import; most commands never
    # migrate.
    from trackway.store.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, ImportError) as error:
        shown = shown_url(settings.database_url)
        fail(
            f"cannot migrate the database {shown}: {reason(error)}\n"
            "Check TRACKWAY_DATABASE_URL or --database-url."
        )


@contextmanager
def open_database(settings: Settings, serving: bool = False) -> Iterator[Database]:
    """The database of `settings`, with its errors turned into next steps.

    `serving`: with the server's storage limits (timeouts, a bound on
    waiting writes); other commands wait as long as their work takes.
    """
    shown = shown_url(settings.database_url)
    limits = settings.storage_limits() if serving else None
    try:
        database = Database(settings.database_url, settings.database_pool_size, limits)
    except (ArgumentError, ImportError) as error:
        fail(f"cannot open the database {shown}: {reason(error)}", USAGE)
    try:
        yield database
    except (SQLAlchemyError, Unavailable) as error:
        fail(
            f"the database {shown} failed: {reason(error.__cause__ or error)}\n"
            "If its schema is missing or old, run: trackway db upgrade"
        )
    finally:
        database.dispose()


def org_id_of(database: Database, name: str) -> str:
    """The id of the org named `name`, or fail saying how to create it."""
    org = accounts.org_by_name(database, name)
    if org is None:
        fail(
            f"org '{name}' not found; create it with: trackway orgs create {name}"
            " (or name another with --org)"
        )
    return org.org_id


def shown_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def reason(error: BaseException) -> str:
    """The driver's own words when there are some; SQLAlchemy's are long."""
    lines = str(getattr(error, "orig", None) or error).splitlines()
    return lines[0] if lines else type(error).__name__


def moment(ms: int | None) -> str:
    return "-" if ms is None else format_ms(ms)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell, two spaces apart."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        pairs = zip(line, widths, strict=True)
        padded = [cell.ljust(width) for cell, width in pairs]
        typer.echo("  ".join(padded).rstrip())
