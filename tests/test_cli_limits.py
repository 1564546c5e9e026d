"""`trackway keys ... --rate-limit`, `keys rate-limit` and `orgs origins`."""

import os

import pytest
from typer.testing import CliRunner, Result

from backends import is_setting
from trackway.cli import app, server
from trackway.domain import roles
from trackway.settings import Settings
from trackway.store.accounts import create_key, create_org, list_keys
from trackway.store.database import Database
from trackway.store.origins import origins_of

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in list(os.environ) if is_setting(n)]:
        monkeypatch.delenv(name)


def run(url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--database-url", url])


class TestKeyRateLimits:
    def test_keys_create_stores_the_key_s_own_limit(
        self, database_url: str, database: Database
    ) -> None:
        create_org(database, "acme")
        args = ["--org", "acme", "--role", "all", "--rate-limit", "600"]

        result = run(database_url, "keys", "create", *args)

        assert result.exit_code == 0
        assert [key.rate_limit for key in list_keys(database)] == [600]

    def test_keys_create_refuses_a_negative_limit(
        self, database_url: str, database: Database
    ) -> None:
        create_org(database, "acme")
        args = ["--org", "acme", "--role", "all", "--rate-limit", "-1"]

        result = run(database_url, "keys", "create", *args)

        assert result.exit_code == 2
        assert list_keys(database) == []

    def test_keys_rate_limit_sets_then_clears_the_limit(
        self, database_url: str, database: Database
    ) -> None:
        key_id = create_key(database, create_org(database, "acme"), ["org.admin"])[3:27]

        set_to_zero = run(database_url, "keys", "rate-limit", key_id, "0")
        zero = list_keys(database)[0].rate_limit
        cleared = run(database_url, "keys", "rate-limit", key_id, "--clear")

        assert (set_to_zero.exit_code, cleared.exit_code) == (0, 0)
        assert f"key {key_id}: rate limit none" in set_to_zero.stdout
        assert (zero, list_keys(database)[0].rate_limit) == (0, None)
        assert "rate limit org's" in cleared.stdout

    def test_keys_rate_limit_takes_the_whole_key_and_prints_only_its_id(
        self, database_url: str, database: Database
    ) -> None:
        key = create_key(database, create_org(database, "acme"), ["org.admin"])

        result = run(database_url, "keys", "rate-limit", key, "60")

        assert result.exit_code == 0
        assert f"key {key[3:27]}: rate limit 60" in result.stdout
        assert key not in result.stdout + result.stderr
        assert list_keys(database)[0].rate_limit == 60

    @pytest.mark.parametrize("args", [[], ["5", "--clear"]])
    def test_keys_rate_limit_needs_a_limit_or_clear(
        self, database_url: str, args: list[str]
    ) -> None:
        result = run(database_url, "keys", "rate-limit", "0" * 24, *args)

        assert result.exit_code == 2
        assert "either a LIMIT" in result.stderr

    def test_keys_rate_limit_of_an_unknown_key_says_how_to_list_keys(
        self, database_url: str
    ) -> None:
        result = run(database_url, "keys", "rate-limit", "0" * 24, "5")

        assert result.exit_code == 1
        assert "trackway keys list" in result.stderr

    def test_keys_list_shows_each_key_s_limit(
        self, database_url: str, database: Database
    ) -> None:
        org_id = create_org(database, "acme")
        create_key(database, org_id, [roles.TRACKING], name="web", rate_limit=60)
        create_key(database, org_id, [roles.TRACKING], name="app")

        result = run(database_url, "keys", "list")

        rows = [line.split() for line in result.stdout.splitlines()[1:]]
        assert [row[4] for row in rows] == ["60/min", "org's"]


class TestOrigins:
    def test_add_list_and_remove_an_origin(
        self, database_url: str, database: Database
    ) -> None:
        org_id = create_org(database, "acme")

        added = run(
            database_url, "orgs", "origins", "add", "acme", "HTTPS://Shop.Example.com/"
        )
        listed = run(database_url, "orgs", "origins", "list", "acme")
        removed = run(
            database_url,
            "orgs",
            "origins",
            "remove",
            "acme",
            "https://shop.example.com",
        )

        assert (added.exit_code, listed.exit_code, removed.exit_code) == (0, 0, 0)
        assert "allows https://shop.example.com" in added.stdout
        assert listed.stdout == "https://shop.example.com\n"
        assert origins_of(database, org_id) == []

    def test_the_wildcard_is_an_explicit_choice(
        self, database_url: str, database: Database
    ) -> None:
        create_org(database, "acme")

        added = run(database_url, "orgs", "origins", "add", "acme", "*")
        listed = run(database_url, "orgs", "list")

        assert "pages of any origin (*)" in added.stdout
        assert listed.stdout.splitlines()[1].split()[-1] == "*"

    def test_something_that_is_no_origin_is_a_usage_error(
        self, database_url: str, database: Database
    ) -> None:
        org_id = create_org(database, "acme")

        result = run(
            database_url,
            "orgs",
            "origins",
            "add",
            "acme",
            "https://shop.example.com/cart",
        )

        assert result.exit_code == 2
        assert "no user, path, query or fragment" in result.stderr
        assert origins_of(database, org_id) == []

    def test_removing_an_origin_not_allowed_fails_and_says_where_to_look(
        self, database_url: str, database: Database
    ) -> None:
        create_org(database, "acme")

        result = run(
            database_url, "orgs", "origins", "remove", "acme", "https://a.example"
        )

        assert result.exit_code == 1
        assert "trackway orgs origins list acme" in result.stderr

    def test_an_org_without_origins_says_how_to_add_one(
        self, database_url: str, database: Database
    ) -> None:
        create_org(database, "acme")

        result = run(database_url, "orgs", "origins", "list", "acme")

        assert result.exit_code == 0
        assert result.stdout == ""
        assert "trackway orgs origins add acme" in result.stderr

    def test_an_unknown_org_says_how_to_create_it(self, database_url: str) -> None:
        result = run(database_url, "orgs", "origins", "list", "nope")

        assert result.exit_code == 1
        assert "trackway orgs create nope" in result.stderr


@pytest.mark.parametrize(
    ("store", "warned"), [("memory", True), ("redis", False), ("postgresql", False)]
)
def test_serve_with_workers_warns_when_each_counts_on_its_own(
    store: str, warned: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url="postgresql://db/trackway", rate_limit=100, rate_limit_store=store
    )

    server._warn_of_a_limit_per_process(settings, workers=4)

    assert ("up to 4 times" in capsys.readouterr().err) is warned
