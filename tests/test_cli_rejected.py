"""`trackway rejected list`, through Typer's runner, on rows written by the
store."""

import json
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from trackway.cli import app
from trackway.domain.times import now_ms
from trackway.store import rejected
from trackway.store.accounts import create_org
from trackway.store.database import Database
from trackway.store.rejected import Refusal

runner = CliRunner()
MESSAGE = {"type": "identify", "userId": "u-1", "traits": {"email": "nope"}}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in list(os.environ) if n.startswith("TRACKWAY_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def refuse(db: Database, org_id: str, index: int, at: int) -> None:
    refusal = Refusal(index, "traits.email is not a valid address", MESSAGE, "m-1")
    with db.write() as conn:
        rejected.keep(conn, org_id, refusal, at)


def run(url: str, *args: str) -> Result:
    return runner.invoke(app, ["rejected", "list", *args, "--database-url", url])


def test_rejected_list_shows_each_refusal_with_its_reason(
    database_url: str, db: Database
) -> None:
    refuse(db, create_org(db, "acme"), 3, now_ms())

    result = run(database_url)

    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["RECEIVED", "ORG", "INDEX", "MESSAGE", "ID", "REASON"]
    assert row.split()[1:4] == ["acme", "3", "m-1"]
    assert row.endswith("traits.email is not a valid address")


def test_rejected_list_messages_prints_json_lines_with_the_message(
    database_url: str, db: Database
) -> None:
    refuse(db, create_org(db, "acme"), 0, now_ms())

    result = run(database_url, "--messages")

    [line] = result.stdout.splitlines()
    assert json.loads(line)["message"] == MESSAGE


def test_rejected_list_for_one_org_leaves_out_the_others(
    database_url: str, db: Database
) -> None:
    refuse(db, create_org(db, "acme"), 0, now_ms())
    refuse(db, create_org(db, "globex"), 1, now_ms())

    result = run(database_url, "--org", "globex")

    [row] = result.stdout.splitlines()[1:]
    assert row.split()[1:3] == ["globex", "1"]


def test_refusals_older_than_a_week_are_not_listed(
    database_url: str, db: Database
) -> None:
    refuse(db, create_org(db, "acme"), 0, now_ms() - rejected.RETENTION_MS - 1)

    result = run(database_url)

    assert result.exit_code == 0
    assert result.stdout.strip() == "no refused messages in the last 7 days"


def test_rejected_list_for_an_unknown_org_says_how_to_make_it(
    database_url: str,
) -> None:
    result = run(database_url, "--org", "nobody")

    assert result.exit_code == 1
    assert "trackway orgs create nobody" in result.stderr
