"""Orgs (tenants) and their API keys.

A key reads `tw_<key id>_<secret>`: the key id (24 hex) finds the row, the
secret proves the caller holds the key. Only a SHA-256 of the whole key is
stored, so a copy of the database lets no one call the API.

Org names are unique, but the schema has no global unique index on them:
every unique key starts with `org_id` so the tables can be sharded by org.
The check therefore runs inside the write transaction that inserts.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, text, update

from trackway.domain.errors import Conflict, Invalid, NotFound, Problem
from trackway.domain.ids import new_id
from trackway.domain.ratelimit import check_limit
from trackway.domain.roles import ALL_ROLES, Principal, unknown_roles
from trackway.domain.times import now_ms
from trackway.store.database import Database
from trackway.store.tables import api_keys, orgs

DEFAULT_ORG = "default"
KEY_PREFIX = "tw_"
SECRET_BYTES = 32

# Letters and digits, then also `_`, `.` and `-`: safe in a shell and a URL.
_ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", re.ASCII)
# Any number no other advisory lock of the schema uses.
_ORG_NAMES_LOCK = 7423011
# token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet.
_KEY = re.compile(r"tw_([0-9a-f]{24})_[A-Za-z0-9_-]{43}", re.ASCII)
# Every request checks its key: built once, as building costs more than
# running it.
_KEY_ROWS = select(api_keys).where(api_keys.c.key_id == bindparam("key_id"))


@dataclass(frozen=True, slots=True)
class Org:
    org_id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: everything but its secret."""

    key_id: str
    org_id: str
    org_name: str
    name: str | None
    roles: frozenset[str]
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    rate_limit: int | None
    """Requests per minute of its own; None: the org's limit."""


def create_org(db: Database, name: str) -> str:
    """Create an org and return its id.

    Raises Invalid for a name outside `[A-Za-z0-9][A-Za-z0-9_.-]*` (at most
    128 characters) and Conflict when another org has the name.
    """
    _check_org_name(name)
    with db.write() as connection:
        _lock_org_names(connection)
        return _insert_org(connection, name)


def org_by_name(db: Database, name: str) -> Org | None:
    with db.read() as connection:
        row = connection.execute(select(orgs).where(orgs.c.name == name)).first()
    return None if row is None else Org(row.org_id, row.name, row.created_at)


def org_by_id(db: Database, org_id: str) -> Org | None:
    with db.read() as connection:
        query = select(orgs).where(orgs.c.org_id == org_id)
        row = connection.execute(query).first()
    return None if row is None else Org(row.org_id, row.name, row.created_at)


def list_orgs(db: Database) -> list[Org]:
    """Every org, oldest first."""
    query = select(orgs).order_by(orgs.c.created_at, orgs.c.org_id)
    with db.read() as connection:
        rows = connection.execute(query).all()
    return [Org(row.org_id, row.name, row.created_at) for row in rows]


def create_key(
    db: Database,
    org_id: str,
    roles: Collection[str],
    name: str | None = None,
    expires_at: int | None = None,
    rate_limit: int | None = None,
) -> str:
    """Create a key for the org and return it in plain text.

    The plain key exists only in the return value: show it once. Raises
    Invalid for no roles, an unknown role, a name over 128 characters or
    with a control character, a rate limit out of range, and NotFound for
    an unknown org.
    """
    _check_roles(roles)
    if name is not None and (len(name) > 128 or not name.isprintable()):
        # Listed in a table on a terminal: no line breaks or escapes.
        detail = "a key's name has at most 128 characters, none of them control"
        raise Invalid(Problem(f"{detail} characters"))
    if rate_limit is not None:
        check_limit(rate_limit)
    with db.write() as connection:
        if not _org_exists(connection, org_id):
            raise NotFound(Problem(f"no org with id {org_id!r}"))
        return _insert_key(connection, org_id, roles, name, expires_at, rate_limit)


def list_keys(db: Database, org_id: str | None = None) -> list[KeyInfo]:
    """The keys of one org, or of every org when `org_id` is None."""
    query = select(api_keys, orgs.c.name.label("org_name")).join(
        orgs, orgs.c.org_id == api_keys.c.org_id
    )
    if org_id is not None:
        query = query.where(api_keys.c.org_id == org_id)
    query = query.order_by(api_keys.c.created_at, api_keys.c.key_id)
    with db.read() as connection:
        rows = connection.execute(query).all()
    return [_key_info(row) for row in rows]


def revoke_key(db: Database, key_id: str) -> None:
    """Stop the key from authenticating; revoking twice keeps the first time.

    Raises NotFound when no key has this id.
    """
    with db.write() as connection:
        query = select(api_keys.c.key_id).where(api_keys.c.key_id == key_id)
        if connection.execute(query).first() is None:
            raise NotFound(Problem(f"no key with id {key_id!r}"))
        connection.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now_ms())
        )


def set_key_rate_limit(db: Database, key_id: str, rate_limit: int | None) -> None:
    """Give the key its own requests per minute, or with None hand it
    back to the org's limit. Raises Invalid for a limit out of range and
    NotFound when no key has this id."""
    if rate_limit is not None:
        check_limit(rate_limit)
    with db.write() as connection:
        if not _set_rate_limit(connection, key_id, rate_limit):
            raise NotFound(Problem(f"no key with id {key_id!r}"))


def _set_rate_limit(connection: Connection, key_id: str, limit: int | None) -> bool:
    """Whether a key with this id was there to change."""
    query = update(api_keys).where(api_keys.c.key_id == key_id)
    result = connection.execute(query.values(rate_limit=limit))
    return result.rowcount > 0


def key_id_of(given: str) -> str:
    """The key id that `given` names: a whole key stands for its id, so an
    operator may paste the key itself (to revoke a leaked one, say)."""
    match = _KEY.fullmatch(given.strip())
    return given if match is None else match.group(1)


def authenticate(db: Database, token: str) -> Principal | None:
    """The principal a key stands for; None unless it is valid right now.

    A token without the key's shape is refused before any query.
    """
    match = _KEY.fullmatch(token)
    if match is None:
        return None
    with db.read() as connection:
        rows = connection.execute(_KEY_ROWS, {"key_id": match.group(1)}).all()
    digest = _hash(token)
    now = now_ms()
    for row in rows:
        if not hmac.compare_digest(row.secret_hash, digest):
            continue
        if not _usable(row, now):
            return None
        return _principal(row)
    return None


def _principal(row: Row[Any]) -> Principal:
    return Principal(row.org_id, row.key_id, frozenset(row.roles), row.rate_limit)


def _usable(row: Row[Any], now: int) -> bool:
    """Neither revoked nor expired at `now`."""
    if row.revoked_at is not None:
        return False
    return row.expires_at is None or row.expires_at > now


def key_principal(db: Database, org_id: str, key_id: str) -> Principal | None:
    """The principal of a key already proven once (the console keeps its id
    after sign-in); None once it is revoked or expired, or if unknown."""
    query = select(api_keys).where(
        api_keys.c.org_id == org_id, api_keys.c.key_id == key_id
    )
    with db.read() as connection:
        row = connection.execute(query).first()
    if row is None or not _usable(row, now_ms()):
        return None
    return _principal(row)


def ensure_default_org(db: Database) -> str | None:
    """On a database without orgs, create org `default` and a key for it.

    Returns the plain key (every role) when it made one, else None. Safe
    when several processes start at once: the check runs in the write
    transaction.
    """
    with db.write() as connection:
        _lock_org_names(connection)
        if connection.execute(select(orgs.c.org_id).limit(1)).first():
            return None
        org_id = _insert_org(connection, DEFAULT_ORG)
        return _insert_key(connection, org_id, ALL_ROLES, "first key", None)


def _insert_org(connection: Connection, name: str) -> str:
    query = select(orgs.c.org_id).where(orgs.c.name == name)
    if connection.execute(query).first() is not None:
        raise Conflict(Problem(f"an org named {name!r} exists already"))
    org_id = new_id()
    connection.execute(
        orgs.insert().values(org_id=org_id, name=name, created_at=now_ms())
    )
    return org_id


def _insert_key(
    connection: Connection,
    org_id: str,
    roles: Collection[str],
    name: str | None,
    expires_at: int | None,
    rate_limit: int | None = None,
) -> str:
    key_id = new_id()
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    connection.execute(
        api_keys.insert().values(
            org_id=org_id,
            key_id=key_id,
            name=name,
            secret_hash=_hash(key),
            roles=sorted(roles),
            created_at=now_ms(),
            expires_at=expires_at,
            rate_limit=rate_limit,
        )
    )
    return key


def _hash(key: str) -> str:
    # The secret is 256 random bits, so guessing it from its hash is out of
    # reach; a slow password hash would only slow down every request.
    return hashlib.sha256(key.encode()).hexdigest()


def _lock_org_names(connection: Connection) -> None:
    # SQLite write transactions are already serialised (BEGIN IMMEDIATE);
    # PostgreSQL needs a lock so two transactions cannot both see a name free.
    if connection.dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:key)")
        connection.execute(lock, {"key": _ORG_NAMES_LOCK})


def _org_exists(connection: Connection, org_id: str) -> bool:
    query = select(orgs.c.org_id).where(orgs.c.org_id == org_id)
    return connection.execute(query).first() is not None


def _check_org_name(name: str) -> None:
    if _ORG_NAME.fullmatch(name) is None:
        raise Invalid(
            Problem(
                f"org name {name!r} must be 1 to 128 letters, digits, '_', '.'"
                " or '-', starting with a letter or digit"
            )
        )


def _check_roles(roles: Collection[str]) -> None:
    if not roles:
        raise Invalid(Problem("a key needs at least one role"))
    unknown = unknown_roles(roles)
    if unknown:
        valid = ", ".join(sorted(ALL_ROLES))
        raise Invalid(Problem(f"unknown role {unknown[0]!r}; roles are: {valid}"))


def _key_info(row: Row[Any]) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        org_id=row.org_id,
        org_name=row.org_name,
        name=row.name,
        roles=frozenset(row.roles),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rate_limit=row.rate_limit,
    )
