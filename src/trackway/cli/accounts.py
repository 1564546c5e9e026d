"""`trackway orgs ...` and `trackway keys ...`: tenants and their API keys."""

from typing import Annotated

import typer

from trackway.cli.common import (
    USAGE,
    DatabaseUrl,
    fail,
    load,
    moment,
    open_database,
    print_table,
)
from trackway.domain.errors import Conflict, Invalid, NotFound
from trackway.domain.ratelimit import MAX_LIMIT
from trackway.domain.roles import ALL_ROLES, TRACKING, unknown_roles
from trackway.domain.times import now_ms, parse_datetime
from trackway.store import accounts, origins
from trackway.store.database import Database

orgs_app = typer.Typer(no_args_is_help=True, help="Manage orgs (tenants).")
keys_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")

EVERY_ROLE = "all"
ROLE_CHOICES = ", ".join([EVERY_ROLE, *sorted(ALL_ROLES)])

RateLimit = Annotated[
    int | None,
    typer.Option(
        "--rate-limit",
        min=0,
        max=MAX_LIMIT,
        help="Requests per minute for this key alone, instead of its org's"
        " limit; 0: no limit.",
        show_default=False,
    ),
]
OrgName = Annotated[str, typer.Option("--org", help="Name of the org.")]
Roles = Annotated[
    list[str] | None,
    typer.Option(
        "--role",
        help=f"A role of the key; repeat for more. One of: {ROLE_CHOICES}.",
        show_default=False,
    ),
]


@orgs_app.command("create")
def create_org(name: str, database_url: DatabaseUrl = None) -> None:
    """Create an org."""
    settings = load(database_url)

    with open_database(settings) as database:
        try:
            org_id = accounts.create_org(database, name)
        except Invalid as error:
            fail(str(error), USAGE)
        except Conflict as error:
            fail(f"{error}; see the orgs with: trackway orgs list")

    typer.echo(f"created org '{name}' ({org_id})")
    typer.echo(f"next: trackway keys create --org {name} --role {TRACKING}")


@orgs_app.command("list")
def list_orgs(database_url: DatabaseUrl = None) -> None:
    """List the orgs, oldest first."""
    settings = load(database_url)

    with open_database(settings) as database:
        orgs = accounts.list_orgs(database)
        allowed = origins.allowed_origins(database)

    if not orgs:
        typer.echo("no orgs yet; create one with: trackway orgs create NAME")
        return
    rows = [
        [org.org_id, org.name, moment(org.created_at), _origins(allowed, org)]
        for org in orgs
    ]
    print_table(["ORG ID", "NAME", "CREATED", "ORIGINS"], rows)


def _origins(allowed: dict[str, frozenset[str]], org: accounts.Org) -> str:
    return ",".join(sorted(allowed.get(org.org_id, ()))) or "-"


@keys_app.command("create")
def create_key(
    org: OrgName,
    role: Roles = None,
    name: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    expires_at: Annotated[
        str | None,
        typer.Option(help="ISO date-time from which the key stops working."),
    ] = None,
    rate_limit: RateLimit = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key and print it, and only it, on stdout.

    The key is shown once; only its hash is kept.
    """
    roles = _chosen_roles(role or [])
    expiry = _expiry(expires_at)
    settings = load(database_url)

    with open_database(settings) as database:
        org_id = org_id_of(database, org)
        try:
            key = accounts.create_key(database, org_id, roles, name, expiry, rate_limit)
        except Invalid as error:
            fail(str(error), USAGE)

    typer.echo(key)
    typer.echo(
        f"key for org '{org}' with roles {', '.join(sorted(roles))};"
        " it is shown only now, store it",
        err=True,
    )


@keys_app.command("list")
def list_keys(
    org: Annotated[
        str | None, typer.Option("--org", help="Only the keys of this org.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List API keys (never their secrets)."""
    settings = load(database_url)

    with open_database(settings) as database:
        org_id = None if org is None else org_id_of(database, org)
        keys = accounts.list_keys(database, org_id)

    if not keys:
        typer.echo(
            "no keys yet; create one with:"
            f" trackway keys create --org NAME --role {TRACKING}"
        )
        return
    header = ["KEY ID", "ORG", "NAME", "ROLES", "RATE LIMIT"]
    header += ["CREATED", "EXPIRES", "REVOKED"]
    print_table(header, [_key_row(key) for key in keys])


@keys_app.command("revoke")
def revoke_key(key_id: str, database_url: DatabaseUrl = None) -> None:
    """Revoke a key, named by its id or the whole key; calls with it are
    refused from now on."""
    key_id = accounts.key_id_of(key_id)
    settings = load(database_url)

    with open_database(settings) as database:
        try:
            accounts.revoke_key(database, key_id)
        except NotFound as error:
            fail(f"{error}; see the keys with: trackway keys list")

    typer.echo(f"revoked key {key_id}")


@keys_app.command("rate-limit")
def set_rate_limit(
    key_id: str,
    limit: Annotated[
        int | None,
        typer.Argument(
            min=0,
            max=MAX_LIMIT,
            help="Requests per minute for this key alone; 0: no limit.",
            show_default=False,
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Count the key under its org's limit.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Give a key (its id, or the whole key) a rate limit of its own, or
    --clear it.

    A key with its own limit is counted alone: its calls neither spend
    nor wait on the org's allowance (TRACKWAY_RATE_LIMIT).
    """
    if clear == (limit is not None):
        fail("give either a LIMIT (requests per minute) or --clear", USAGE)
    key_id = accounts.key_id_of(key_id)
    settings = load(database_url)

    with open_database(settings) as database:
        try:
            accounts.set_key_rate_limit(database, key_id, limit)
        except NotFound as error:
            fail(f"{error}; see the keys with: trackway keys list")

    typer.echo(f"key {key_id}: rate limit {shown_limit(limit)}")


def shown_limit(limit: int | None) -> str:
    """A key's rate limit as `keys list` shows it."""
    if limit is None:
        return "org's"
    return "none" if limit == 0 else f"{limit}/min"


def _chosen_roles(names: list[str]) -> frozenset[str]:
    if not names:
        fail(f"give the key at least one --role: {ROLE_CHOICES}", USAGE)
    roles: set[str] = set()
    for name in names:
        roles |= ALL_ROLES if name == EVERY_ROLE else {name}
    unknown = unknown_roles(roles)
    if unknown:
        fail(f"unknown role '{unknown[0]}'; roles are: {ROLE_CHOICES}", USAGE)
    return frozenset(roles)


def _expiry(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        expiry = parse_datetime(value, "--expires-at")
    except Invalid as error:
        fail(f"{error}, such as 2027-01-31T00:00:00Z", USAGE)
    if expiry <= now_ms():
        fail(f"--expires-at {value} is in the past", USAGE)
    return expiry


def org_id_of(database: Database, name: str) -> str:
    """The id of the org named `name`; fails with a next step when none."""
    org = accounts.org_by_name(database, name)
    if org is None:
        fail(f"org '{name}' not found; create it with: trackway orgs create {name}")
    return org.org_id


def _key_row(key: accounts.KeyInfo) -> list[str]:
    return [
        key.key_id,
        key.org_name,
        key.name or "-",
        ",".join(sorted(key.roles)),
        shown_limit(key.rate_limit),
        moment(key.created_at),
        moment(key.expires_at),
        moment(key.revoked_at),
    ]
