"""`trackway rejected list`: refused Segment messages of the last week."""

from typing import Annotated

import msgspec
import typer

from trackway.cli.accounts import org_id_of
from trackway.cli.common import DatabaseUrl, load, moment, open_database, print_table
from trackway.store import rejected

rejected_app = typer.Typer(
    no_args_is_help=True,
    help="See the Segment messages the server refused (kept 7 days).",
)

MAX_REASON = 80


@rejected_app.command("list")
def list_rejected(
    org: Annotated[
        str | None, typer.Option("--org", help="Only the messages of this org.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="How many, newest first.")
    ] = 50,
    show_messages: Annotated[
        bool,
        typer.Option(
            "--messages",
            help="Print each refusal as a JSON line, with the message as sent.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List refused messages, newest first, with the reason for each."""
    settings = load(database_url)

    with open_database(settings) as database:
        org_id = None if org is None else org_id_of(database, org)
        found = rejected.recent(database, org_id, 0, limit)

    if not found:
        typer.echo("no refused messages in the last 7 days")
        return
    if show_messages:
        for refused in found:
            typer.echo(msgspec.json.encode(_line(refused)).decode())
        return
    header = ["RECEIVED", "ORG", "INDEX", "MESSAGE ID", "REASON"]
    print_table(header, [_row(refused) for refused in found])


def _row(refused: rejected.RejectedMessage) -> list[str]:
    reason = refused.reason
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return [
        moment(refused.received_at),
        refused.org_name,
        str(refused.index),
        refused.message_id or "-",
        reason,
    ]


def _line(refused: rejected.RejectedMessage) -> dict[str, object]:
    return {
        "receivedAt": moment(refused.received_at),
        "org": refused.org_name,
        "index": refused.index,
        "messageId": refused.message_id,
        "reason": refused.reason,
        "message": refused.message,
    }
