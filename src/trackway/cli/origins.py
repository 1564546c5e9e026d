"""`trackway orgs origins ...`: the web pages that may call the tracking
endpoints from a browser (CORS), per org."""

from typing import Annotated

import typer

from trackway.cli.common import (
    USAGE,
    DatabaseUrl,
    fail,
    load,
    open_database,
    org_id_of,
)
from trackway.domain.errors import Invalid
from trackway.domain.origins import ANY
from trackway.store import origins

origins_app = typer.Typer(
    no_args_is_help=True,
    help="Manage the origins whose web pages may call the tracking endpoints.",
)

Org = Annotated[str, typer.Argument(help="Name of the org.", show_default=False)]
Origin = Annotated[
    str,
    typer.Argument(
        help="An origin such as https://shop.example.com, or '*' for any.",
        show_default=False,
    ),
]
# Servers read the origins again at most this often (api/cors.py).
TAKES_EFFECT = "running servers apply this within 10 seconds"


@origins_app.command("add")
def add_origin(org: Org, origin: Origin, database_url: DatabaseUrl = None) -> None:
    """Let pages at ORIGIN call the org's tracking endpoints."""
    settings = load(database_url)

    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        try:
            added = origins.add_origin(database, org_id, origin)
        except Invalid as error:
            fail(str(error), USAGE)

    typer.echo(f"org '{org}' allows {_shown(added)}; {TAKES_EFFECT}")


@origins_app.command("remove")
def remove_origin(org: Org, origin: Origin, database_url: DatabaseUrl = None) -> None:
    """Stop letting pages at ORIGIN call the org's tracking endpoints."""
    settings = load(database_url)

    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        try:
            removed = origins.remove_origin(database, org_id, origin)
        except Invalid as error:
            fail(str(error), USAGE)

    if not removed:
        listed = f"trackway orgs origins list {org}"
        fail(f"org '{org}' does not allow {origin}; see: {listed}")
    typer.echo(f"org '{org}' no longer allows {origin}; {TAKES_EFFECT}")


@origins_app.command("list")
def list_origins(org: Org, database_url: DatabaseUrl = None) -> None:
    """List the origins the org allows, one a line."""
    settings = load(database_url)

    with open_database(settings) as database:
        allowed = origins.origins_of(database, org_id_of(database, org))

    if not allowed:
        typer.echo(
            f"org '{org}' allows no origin; add one with:"
            f" trackway orgs origins add {org} https://shop.example.com",
            err=True,
        )
    for origin in allowed:
        typer.echo(origin)


def _shown(origin: str) -> str:
    return "pages of any origin (*)" if origin == ANY else origin
