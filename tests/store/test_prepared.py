"""The ledger's statements on both backends: SQLite runs them on the
cursor (`store/prepared.py`), PostgreSQL through the engine, and both
must give the same rows and raise the same errors."""

from decimal import Decimal

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from trackway.store.database import Database
from trackway.store.ledger import execute
from trackway.store.tables import customers, events

ORG = "0" * 24
CUSTOMER = {
    "org_id": ORG,
    "customer_id": "c" * 24,
    "rev": 1,
    "profile": {"name": "Ana", "custom": {"scoreNum": Decimal("0.10")}},
    "created_at": 1,
    "updated_at": 1,
    "modified_at": 1,
    "last_seen_at": None,
    "trait_times": None,
}
INSERT = customers.insert()
BY_ID = select(customers).where(
    customers.c.org_id == bindparam("key_org"),
    customers.c.customer_id == bindparam("key_customer"),
)


def test_a_row_reads_by_column_name_with_json_decoded(database: Database) -> None:
    with database.write() as connection:
        execute(connection, INSERT, CUSTOMER)
        key = {"key_org": ORG, "key_customer": "c" * 24}

        [row] = execute(connection, BY_ID, key)

    assert row.customer_id == "c" * 24
    assert row._mapping["rev"] == 1
    assert row.profile == CUSTOMER["profile"]


def test_a_write_returns_no_rows(database: Database) -> None:
    with database.write() as connection:
        assert execute(connection, INSERT, CUSTOMER) == []


COUNT_UNBOUND = select(func.count().label("n")).where(
    func.coalesce(events.c.customer_id, "") == bindparam("key")
)


def test_a_literal_of_the_statement_needs_no_parameter(database: Database) -> None:
    """`coalesce(customer_id, '')` carries its '' as a bound value."""
    with database.write() as connection:
        [row] = execute(connection, COUNT_UNBOUND, {"key": ""})

    assert row.n == 0


def test_a_parameter_left_out_is_refused(database: Database) -> None:
    with pytest.raises(Exception, match="key"), database.read() as connection:
        execute(connection, COUNT_UNBOUND, {})


def test_a_duplicate_key_is_sqlalchemys_integrity_error(database: Database) -> None:
    with pytest.raises(IntegrityError), database.write() as connection:
        execute(connection, INSERT, CUSTOMER)
        execute(connection, INSERT, CUSTOMER)
