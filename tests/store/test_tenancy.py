"""Every row belongs to an org, so the schema can be distributed by org.

Citus (or any PostgreSQL that shards a table by one column) needs the
distribution column first in every primary and unique key, and queries that
name it. These tests read the live schema of the migrated database on each
backend, and every statement the server sends while it serves a full day's
calls.

`orgs` and `api_keys` are the exception the README explains: an API key is
looked up before its org is known, so on Citus they are reference tables,
copied to every node.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, inspect

from harness import Api
from trackway.store.database import Database

REFERENCE_TABLES = {"orgs", "api_keys"}
NOT_OURS = {"alembic_version"}


def tables(database: Database) -> list[str]:
    return sorted(set(inspect(database.engine).get_table_names()) - NOT_OURS)


def test_every_table_has_the_org_id_first_in_its_primary_key(
    database: Database,
) -> None:
    schema = inspect(database.engine)

    keys = {
        t: schema.get_pk_constraint(t)["constrained_columns"] for t in tables(database)
    }

    assert keys and all(columns[:1] == ["org_id"] for columns in keys.values()), keys


def test_every_unique_key_starts_with_the_org_id(database: Database) -> None:
    schema = inspect(database.engine)
    unique: dict[str, list[str]] = {}
    for table in tables(database):
        for index in schema.get_indexes(table):
            if index["unique"]:
                unique[f"{table}.{index['name']}"] = list(index["column_names"])
        for constraint in schema.get_unique_constraints(table):
            unique[f"{table}.{constraint['name']}"] = constraint["column_names"]

    assert unique, "the schema has unique keys besides the primary keys"
    assert {k: c for k, c in unique.items() if c[:1] != ["org_id"]} == {}


@pytest.fixture
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL of every statement the server runs from now on."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(api.database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(api.database.engine, "before_cursor_execute", record)


def a_full_day(api: Api) -> None:
    """Every write and read endpoint, with each kind of identifier."""
    jane = {"trackingId": "v-1", "email": "jane@example.com", "phone": "+14155550100"}
    body = {"identity": {**jane, "externalId": "u-1"}, "event": {"name": "signed-up"}}
    created = api.post("/v1/tracking/identityEvent", body)
    customer = created.json()["data"]["relationships"]["customer"]["data"]["id"]
    api.post("/v1/tracking/event", {"trackingId": "v-2", "name": "page-viewed"})
    api.post(
        "/v1/tracking/identity", {"trackingId": "v-2", "email": "jane@example.com"}
    )
    api.client.post(
        "/v1/tracking/event",
        json={"trackingId": "v-1", "name": "clicked"},
        headers={**api.headers(), "Idempotency-Key": "k-1"},
    )
    sessions = api.get(f"/v1/customers/{customer}/sessions").json()["data"]
    session = sessions[0]["attributes"]["sessionId"]
    events = api.get(f"/v1/customers/{customer}/sessions/{session}/events").json()
    for path in (
        f"/v1/customers/{customer}",
        "/v1/customers/email=jane@example.com",
        "/v1/customers/externalId=u-1",
        "/v1/customers/phone=+14155550100",
        f"/v1/customers/{customer}/events/{events['data'][0]['id']}",
        f"/v1/customers/{customer}/timeline",
    ):
        assert api.get(path).status_code == 200, path
    assert (
        api.client.delete(
            f"/v1/customers/{customer}", headers=api.headers()
        ).status_code
        == 204
    )


TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?(\w+)", re.IGNORECASE)


def test_every_statement_on_an_org_s_rows_names_the_org(
    api: Api, statements: list[str]
) -> None:
    a_full_day(api)

    scoped = [
        sql
        for sql in statements
        if set(TABLE.findall(sql)) - REFERENCE_TABLES - NOT_OURS
        and not sql.lstrip().upper().startswith("PRAGMA")
    ]

    assert len(scoped) > 20
    assert [sql for sql in scoped if "org_id" not in _scope_of(sql)] == []


def _scope_of(sql: str) -> str:
    """The part of a statement that picks rows: WHERE, or an INSERT's columns."""
    text = " ".join(sql.split())
    if text.upper().startswith("INSERT"):
        return text.split(")", 1)[0]
    _, _, where = text.partition(" WHERE ")
    return where
