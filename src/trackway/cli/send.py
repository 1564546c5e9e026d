"""`trackway send ...`: one tracking call to a running server.

Behaves like the reference client: any answer other than 2xx is printed as
`<status> <body text>` on stderr and the command fails.
"""

import json
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote

import httpx
import typer

from trackway.cli.common import USAGE, fail
from trackway.domain.roles import TRACKING

send_app = typer.Typer(
    no_args_is_help=True,
    help="Send one tracking call; the JSON body comes from --file or stdin.",
)

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_S = 30.0

Url = Annotated[
    str,
    typer.Option(envvar="TRACKWAY_URL", help="Base URL of the server."),
]
Key = Annotated[
    str | None,
    typer.Option(
        envvar="TRACKWAY_KEY",
        help=f"API key with the {TRACKING} role (the variable keeps it"
        " out of the process list).",
        show_default=False,
    ),
]
BodyFile = Annotated[
    str,
    typer.Option("--file", "-f", help="File with the JSON body; '-' is stdin."),
]


@send_app.command("identity-event")
def identity_event(
    url: Url = DEFAULT_URL, key: Key = None, file: BodyFile = "-"
) -> None:
    """POST /v1/tracking/identityEvent with {"identity": {...}, "event": {...}};
    prints the identity resource."""
    _send("identityEvent", url, key, file)


@send_app.command("identity")
def identity(url: Url = DEFAULT_URL, key: Key = None, file: BodyFile = "-") -> None:
    """POST /v1/tracking/identity with an identity object; prints the
    identity resource."""
    _send("identity", url, key, file)


@send_app.command("event")
def event(url: Url = DEFAULT_URL, key: Key = None, file: BodyFile = "-") -> None:
    """POST /v1/tracking/event with an event object; prints the ids the
    server used: {"trackingId": ..., "sessionId": ...}."""
    _send("event", url, key, file)


def _send(endpoint: str, url: str, key: str | None, file: str) -> None:
    if not key:
        fail(
            "no API key: pass --key or set TRACKWAY_KEY (the server prints one"
            " on its first start; or run: trackway keys create --org NAME"
            f" --role {TRACKING})",
            USAGE,
        )
    body = _read_body(file)
    target = f"{url.rstrip('/')}/v1/tracking/{endpoint}"

    response = _post(target, key, body, url)

    if not response.is_success:
        typer.echo(f"{response.status_code} {response.text}", err=True)
        raise typer.Exit(1)
    typer.echo(_answer(response))


def _post(target: str, key: str, body: bytes, url: str) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
    }
    try:
        return httpx.post(target, content=body, headers=headers, timeout=TIMEOUT_S)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        fail(f"'{url}' is not a server URL such as {DEFAULT_URL}", USAGE)
    except httpx.TransportError as error:
        fail(
            f"cannot reach the server at {url} ({error or type(error).__name__});"
            " check that it runs (make run, or trackway serve) and that --url"
            " or TRACKWAY_URL points to it"
        )


def _read_body(file: str) -> bytes:
    if file != "-":
        try:
            return Path(file).read_bytes()
        except OSError as error:
            fail(f"cannot read {file}: {error.strerror}", USAGE)
    if sys.stdin.isatty():
        fail("give the JSON body with --file FILE, or pipe it on stdin", USAGE)
    return typer.get_binary_stream("stdin").read()


def _answer(response: httpx.Response) -> str:
    """The JSON answer, indented; for an event (204, no body) the ids the
    server used, which come back only as headers."""
    if not response.content:
        ids = {
            "trackingId": unquote(response.headers.get("X-Tracking-Id", "")),
            "sessionId": unquote(response.headers.get("X-Session-Id", "")),
        }
        return json.dumps(ids, indent=2)
    try:
        return json.dumps(response.json(), indent=2, ensure_ascii=False)
    except ValueError:
        return response.text
