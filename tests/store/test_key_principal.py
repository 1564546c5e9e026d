"""A key proven at sign-in, looked up again by its id (the console's
session keeps only the ids), and orgs by id."""

from trackway.domain import roles
from trackway.domain.roles import Principal
from trackway.domain.times import now_ms
from trackway.store.accounts import (
    create_key,
    create_org,
    key_principal,
    org_by_id,
    revoke_key,
)
from trackway.store.database import Database


def key_id(key: str) -> str:
    return key[3:27]


def test_a_valid_key_id_gives_its_principal(database: Database) -> None:
    org_id = create_org(database, "acme")
    key = create_key(database, org_id, [roles.CUSTOMER_READ])

    found = key_principal(database, org_id, key_id(key))

    assert found == Principal(org_id, key_id(key), frozenset({roles.CUSTOMER_READ}))


def test_a_revoked_key_gives_no_principal(database: Database) -> None:
    org_id = create_org(database, "acme")
    key = create_key(database, org_id, [roles.CUSTOMER_READ])
    revoke_key(database, key_id(key))

    assert key_principal(database, org_id, key_id(key)) is None


def test_an_expired_key_gives_no_principal(database: Database) -> None:
    org_id = create_org(database, "acme")
    key = create_key(database, org_id, [roles.ADMIN], expires_at=now_ms() - 1)

    assert key_principal(database, org_id, key_id(key)) is None


def test_a_key_id_under_another_org_gives_no_principal(database: Database) -> None:
    org_id = create_org(database, "acme")
    other = create_org(database, "globex")
    key = create_key(database, org_id, [roles.ADMIN])

    assert key_principal(database, other, key_id(key)) is None


def test_an_org_is_found_by_id_and_an_unknown_id_finds_none(
    database: Database,
) -> None:
    org_id = create_org(database, "acme")

    found = org_by_id(database, org_id)

    assert found is not None
    assert (found.org_id, found.name) == (org_id, "acme")
    assert org_by_id(database, "f" * 24) is None
