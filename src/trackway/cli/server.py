"""`trackway serve` and `trackway db upgrade`."""

import os
import secrets
import socket
import tempfile
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from trackway.cli.common import (
    USAGE,
    DatabaseUrl,
    fail,
    load,
    migrate,
    open_database,
)
from trackway.settings import Settings, env_name
from trackway.store.accounts import DEFAULT_ORG, ensure_default_org

db_app = typer.Typer(no_args_is_help=True, help="Manage the database schema.")

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
Workers = Annotated[
    int,
    typer.Option(min=1, help="Server processes to run (more than 1: PostgreSQL)."),
]


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8080,
    workers: Workers = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the server. Migrates the database first; on a database without
    orgs, creates org `default` and prints its first API key."""
    settings = load(database_url)
    _check_workers(settings, workers)
    _warn_of_a_limit_per_process(settings, workers)
    _check_port_free(host, port)

    # Imported here so the other commands start without the web stack.
    import uvicorn

    from trackway.api.app import create_app
    from trackway.logs import configure_logging

    configure_logging(settings.log_level)
    migrate(settings)
    with open_database(settings, serving=True) as database:
        key = ensure_default_org(database)
        if key is not None:
            _print_first_key(key, f"http://{host}:{port}")
        if workers == 1:
            app = create_app(settings, database)
            uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
            return
    _serve_workers(settings, host, port, workers)


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from trackway.metrics import MULTIPROCESS_DIR

    # Each process builds its own app from the environment, so a URL given
    # by flag must be passed on there, with a folder for shared metrics and
    # one console secret, so a sign-in holds whichever worker answers.
    os.environ[env_name("database_url")] = settings.database_url
    if settings.console_secret is None:
        os.environ[env_name("console_secret")] = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="trackway-metrics-") as shared:
        os.environ[MULTIPROCESS_DIR] = shared
        uvicorn.run(
            "trackway.api.app:from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
        )


def _check_workers(settings: Settings, workers: int) -> None:
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        fail(
            f"--workers {workers} needs PostgreSQL: SQLite lets one process "
            "write at a time, so more processes would only wait on each other. "
            "Use --workers 1, or TRACKWAY_DATABASE_URL=postgresql://...",
            USAGE,
        )


def _warn_of_a_limit_per_process(settings: Settings, workers: int) -> None:
    # Keys with limits of their own are not looked for: serve reads no keys.
    if workers == 1 or settings.rate_limit == 0:
        return
    if settings.rate_limit_store != "memory":
        return
    store = env_name("rate_limit_store")
    typer.echo(
        f"warning: each of the {workers} processes counts the rate limit on its"
        f" own, so together they admit up to {workers} times it; set {store}="
        "redis or postgresql to count once for all",
        err=True,
    )


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
