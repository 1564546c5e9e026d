"""Orgs and API keys: keys are shown once, kept as hashes, checked strictly."""

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from trackway.domain import roles
from trackway.domain.errors import Conflict, Invalid, NotFound, Unavailable
from trackway.domain.ids import is_id
from trackway.domain.times import now_ms
from trackway.store.accounts import (
    authenticate,
    create_key,
    create_org,
    ensure_default_org,
    list_keys,
    list_orgs,
    org_by_name,
    revoke_key,
)
from trackway.store.database import Database
from trackway.store.tables import api_keys

KEY_SHAPE = re.compile(r"tw_[0-9a-f]{24}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def db(database: Database) -> Database:
    return database


@pytest.fixture
def org_id(db: Database) -> str:
    return create_org(db, "acme")


def test_create_org_returns_a_server_made_id(db: Database) -> None:
    org_id = create_org(db, "acme")

    assert is_id(org_id)
    found = org_by_name(db, "acme")
    assert found is not None
    assert (found.org_id, found.name) == (org_id, "acme")


def test_org_name_in_use_is_a_conflict_naming_it(db: Database) -> None:
    create_org(db, "acme")

    with pytest.raises(Conflict, match="'acme'"):
        create_org(db, "acme")

    assert [org.name for org in list_orgs(db)] == ["acme"]


@pytest.mark.parametrize("name", ["", " acme", "two words", "-x", "a" * 129])
def test_org_name_outside_the_allowed_shape_is_invalid(db: Database, name: str) -> None:
    with pytest.raises(Invalid, match="org name"):
        create_org(db, name)


def test_org_by_unknown_name_is_none(db: Database) -> None:
    assert org_by_name(db, "nobody") is None


def test_list_orgs_returns_oldest_first(db: Database) -> None:
    create_org(db, "first")
    create_org(db, "second")

    names = [org.name for org in list_orgs(db)]

    assert names == ["first", "second"]


def test_created_key_has_the_documented_shape(db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.TRACKING])

    assert KEY_SHAPE.fullmatch(key)


def test_key_is_stored_only_as_a_sha256_of_the_whole_key(
    db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING], name="web")
    secret = key[28:]

    with db.read() as connection:
        row = connection.execute(select(api_keys)).one()

    stored = " ".join(str(value) for value in row)
    assert key not in stored
    assert secret not in stored
    assert hashlib.sha256(key.encode()).hexdigest() == row.secret_hash


def test_valid_key_authenticates_as_its_org_with_its_roles(
    db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING, roles.CUSTOMER_READ])

    principal = authenticate(db, key)

    assert principal is not None
    assert principal.org_id == org_id
    assert principal.key_id == key[3:27]
    assert principal.roles == {roles.TRACKING, roles.CUSTOMER_READ}


def test_revoked_key_does_not_authenticate(db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.TRACKING])

    revoke_key(db, key[3:27])

    assert authenticate(db, key) is None


def test_key_revoked_by_another_process_is_refused_by_the_next_check(
    db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING])
    assert authenticate(db, key) is not None
    other_process = Database(db.url)

    revoke_key(other_process, key[3:27])

    assert authenticate(db, key) is None
    other_process.dispose()


def test_a_key_check_on_a_database_that_cannot_be_read_is_unavailable(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-dir" / "trackway.db"
    unreachable = Database(f"sqlite:///{missing}")

    with pytest.raises(Unavailable):
        authenticate(unreachable, "tw_" + "0" * 24 + "_" + "x" * 43)

    unreachable.dispose()


def test_expired_key_does_not_authenticate(db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.TRACKING], expires_at=now_ms() - 1)

    assert authenticate(db, key) is None


def test_key_before_its_expiry_authenticates(db: Database, org_id: str) -> None:
    later = now_ms() + 60_000
    key = create_key(db, org_id, [roles.TRACKING], expires_at=later)

    assert authenticate(db, key) is not None


def test_known_key_id_with_another_secret_does_not_authenticate(
    db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING])
    forged = key[:28] + ("A" if key[28] != "A" else "B") + key[29:]

    assert authenticate(db, forged) is None


def test_well_shaped_key_never_issued_does_not_authenticate(db: Database) -> None:
    token = "tw_" + "0" * 24 + "_" + "x" * 43

    assert authenticate(db, token) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "tw_",
        "not-a-key",
        "tw_" + "0" * 24 + "_" + "x" * 42,
        "tw_" + "0" * 24 + "_" + "x" * 44,
        "tw_" + "G" * 24 + "_" + "x" * 43,
        "TW_" + "0" * 24 + "_" + "x" * 43,
        "tw_" + "0" * 24 + "_" + "x" * 42 + "\n",
    ],
)
def test_malformed_token_is_refused_without_a_query(tmp_path: Path, token: str) -> None:
    """A database that cannot be opened proves no query was made."""
    missing = tmp_path / "no-such-dir" / "trackway.db"
    unreachable = Database(f"sqlite:///{missing}")

    assert authenticate(unreachable, token) is None

    unreachable.dispose()


def test_key_needs_at_least_one_role(db: Database, org_id: str) -> None:
    with pytest.raises(Invalid, match="at least one role"):
        create_key(db, org_id, [])


def test_unknown_role_is_invalid_and_lists_the_roles(db: Database, org_id: str) -> None:
    with pytest.raises(Invalid, match=r"'org\.god'.*org\.tracking"):
        create_key(db, org_id, [roles.TRACKING, "org.god"])

    assert list_keys(db) == []


def test_key_name_over_128_characters_is_invalid(db: Database, org_id: str) -> None:
    with pytest.raises(Invalid, match="128"):
        create_key(db, org_id, [roles.TRACKING], name="n" * 129)


@pytest.mark.parametrize("name", ["two\nlines", "red \x1b[31m", "tab\there"])
def test_key_name_with_a_control_character_is_invalid(
    db: Database, org_id: str, name: str
) -> None:
    with pytest.raises(Invalid, match="control"):
        create_key(db, org_id, [roles.TRACKING], name=name)


def test_key_for_unknown_org_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        create_key(db, "0" * 24, [roles.TRACKING])


def test_list_keys_describes_keys_of_one_org_without_secrets(
    db: Database, org_id: str
) -> None:
    other = create_org(db, "other")
    key = create_key(db, org_id, [roles.TRACKING], name="web")
    create_key(db, other, [roles.ADMIN])

    listed = list_keys(db, org_id)

    assert [(k.key_id, k.org_name, k.name) for k in listed] == [
        (key[3:27], "acme", "web")
    ]
    assert listed[0].roles == {roles.TRACKING}
    assert listed[0].revoked_at is None
    assert key[28:] not in repr(listed)


def test_list_keys_without_org_lists_every_org(db: Database, org_id: str) -> None:
    create_key(db, org_id, [roles.TRACKING])
    create_key(db, create_org(db, "other"), [roles.ADMIN])

    orgs = [k.org_name for k in list_keys(db)]

    assert orgs == ["acme", "other"]


def test_revoking_twice_keeps_the_first_revocation_time(
    db: Database, org_id: str
) -> None:
    key_id = create_key(db, org_id, [roles.TRACKING])[3:27]
    revoke_key(db, key_id)
    first = list_keys(db)[0].revoked_at

    revoke_key(db, key_id)

    assert first is not None
    assert list_keys(db)[0].revoked_at == first


def test_revoking_an_unknown_key_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="no key"):
        revoke_key(db, "0" * 24)


def test_first_start_creates_org_default_with_an_all_roles_key(
    db: Database,
) -> None:
    key = ensure_default_org(db)

    assert key is not None
    principal = authenticate(db, key)
    default = org_by_name(db, "default")
    assert principal is not None and default is not None
    assert principal.org_id == default.org_id
    assert principal.roles == roles.ALL_ROLES


def test_second_start_creates_nothing(db: Database) -> None:
    ensure_default_org(db)

    again = ensure_default_org(db)

    assert again is None
    assert len(list_orgs(db)) == 1
    assert len(list_keys(db)) == 1


def test_database_with_an_org_gets_no_default_org(db: Database) -> None:
    create_org(db, "acme")

    key = ensure_default_org(db)

    assert key is None
    assert org_by_name(db, "default") is None
