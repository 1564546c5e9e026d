"""`trackway serve` and `trackway db upgrade`."""

import os
import socket
from typing import Annotated

import typer

from trackway.cli.common import DatabaseUrl, fail, load, migrate, open_database
from trackway.store.accounts import DEFAULT_ORG, ensure_default_org

db_app = typer.Typer(no_args_is_help=True, help="Manage the database schema.")

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8080,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the server. Migrates the database first; on a database without
    orgs, creates org `default` and prints its first API key."""
    settings = load(database_url)
    _check_port_free(host, port)

    # Imported here so the other commands start without the web stack.
    import uvicorn

    from trackway.api.app import create_app
    from trackway.logs import configure_logging

    configure_logging(settings.log_level)
    migrate(settings)
    with open_database(settings) as database:
        key = ensure_default_org(database)
        if key is not None:
            _print_first_key(key, f"http://{host}:{port}")
        app = create_app(settings, database)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrl = None) -> None:
    """Create the schema, or bring it up to this version of Trackway."""
    settings = load(database_url)

    migrate(settings)

    typer.echo("the database schema is at the latest version")


def _check_port_free(host: str, port: int) -> None:
    """Fail with a hint before migrating when the address is taken."""
    try:
        socket.create_server((host, port)).close()
    except OSError as error:
        why = os.strerror(error.errno) if error.errno else str(error)
        fail(
            f"cannot listen on {host}:{port}: {why}; "
            "stop what uses it, or pick another port with --port "
            "(make run PORT=9000)"
        )


def _print_first_key(key: str, url: str) -> None:
    # On stderr: stdout carries the JSON log lines.
    banner = f"""
First start: created org '{DEFAULT_ORG}' and an API key with every role.
The key is shown only now; store it somewhere safe:

    {key}

Server:  {url}
Docs:    README.md, and the API description at {url}/openapi.json
"""
    typer.echo(banner, err=True)
