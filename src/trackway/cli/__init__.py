"""The `trackway` command.

Each family of commands is a module of this package, assembled onto `app`
here; a new command is a function in its own module and one line below.
"""

import typer

from trackway.cli import accounts, exports, imports, origins, rejected, send, server

app = typer.Typer(
    name="trackway",
    help="Trackway: a self-hosted customer tracking server.",
    no_args_is_help=True,
    add_completion=False,
    # Rich tracebacks print local variables, and those can hold API keys.
    pretty_exceptions_enable=False,
)

app.command("serve")(server.serve)
app.add_typer(server.db_app, name="db")
app.add_typer(accounts.orgs_app, name="orgs")
accounts.orgs_app.add_typer(origins.origins_app, name="origins")
app.add_typer(accounts.keys_app, name="keys")
app.add_typer(send.send_app, name="send")
app.add_typer(rejected.rejected_app, name="rejected")
app.command("import")(imports.import_file)
app.command("export")(exports.export)


def main() -> None:
    app(prog_name="trackway")
