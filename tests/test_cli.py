"""The `trackway` command, through Typer's runner.

`send` is tested against a stub HTTP server that records what it receives
and answers as the tracking endpoints do; the real server is exercised in
test_live_server.py.
"""

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from backends import is_setting, sqlite_url
from trackway.cli import app
from trackway.domain import roles
from trackway.store.accounts import (
    authenticate,
    create_key,
    create_org,
    list_keys,
    org_by_name,
)
from trackway.store.database import Database

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRACKWAY_* setting of the developer's shell reaches a test (the
    TRACKWAY_TEST_* variables, which say where test databases live, stay)."""
    for name in [n for n in list(os.environ) if is_setting(n)]:
        monkeypatch.delenv(name)


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url)
    yield database
    database.dispose()


def run(url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--database-url", url])


def test_orgs_create_prints_the_org_and_the_next_step(url: str, db: Database) -> None:
    result = run(url, "orgs", "create", "acme")

    assert result.exit_code == 0
    org = org_by_name(db, "acme")
    assert org is not None
    assert f"created org 'acme' ({org.org_id})" in result.stdout
    assert "trackway keys create --org acme" in result.stdout


def test_orgs_create_with_a_name_in_use_fails_and_says_where_to_look(
    url: str, db: Database
) -> None:
    create_org(db, "acme")

    result = run(url, "orgs", "create", "acme")

    assert result.exit_code == 1
    assert "'acme' exists already" in result.stderr
    assert "trackway orgs list" in result.stderr


def test_orgs_create_with_a_bad_name_is_a_usage_error(url: str) -> None:
    result = run(url, "orgs", "create", "two words")

    assert result.exit_code == 2
    assert "org name 'two words'" in result.stderr


def test_keys_create_with_a_bad_name_is_a_usage_error(url: str, db: Database) -> None:
    create_org(db, "acme")

    result = run(
        url,
        "keys",
        "create",
        "--org",
        "acme",
        "--role",
        "org.tracking",
        "--name",
        "n" * 200,
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("error: a key's name has at most 128")


def test_orgs_list_shows_every_org(url: str, db: Database) -> None:
    create_org(db, "acme")
    create_org(db, "globex")

    result = run(url, "orgs", "list")

    assert result.exit_code == 0
    names = [line.split()[1] for line in result.stdout.splitlines()[1:]]
    assert names == ["acme", "globex"]


def test_orgs_list_on_an_empty_database_says_how_to_start(url: str) -> None:
    result = run(url, "orgs", "list")

    assert result.exit_code == 0
    assert "trackway orgs create NAME" in result.stdout


def test_keys_create_prints_only_the_key_on_stdout(url: str, db: Database) -> None:
    org_id = create_org(db, "acme")

    result = run(url, "keys", "create", "--org", "acme", "--role", "org.tracking")

    assert result.exit_code == 0
    key = result.stdout.removesuffix("\n")
    assert "\n" not in key
    principal = authenticate(db, key)
    assert principal is not None
    assert principal.org_id == org_id
    assert principal.roles == frozenset({roles.TRACKING})
    assert "shown only now" in result.stderr


def test_keys_create_takes_several_roles_and_a_name(url: str, db: Database) -> None:
    create_org(db, "acme")
    args = ["--role", roles.CUSTOMER_READ, "--role", roles.EVENT_READ]

    result = run(url, "keys", "create", "--org", "acme", *args, "--name", "crm")

    assert result.exit_code == 0
    [key] = list_keys(db)
    assert key.roles == {roles.CUSTOMER_READ, roles.EVENT_READ}
    assert key.name == "crm"


def test_keys_create_with_role_all_grants_every_role(url: str, db: Database) -> None:
    create_org(db, "acme")

    result = run(url, "keys", "create", "--org", "acme", "--role", "all")

    principal = authenticate(db, result.stdout.strip())
    assert principal is not None
    assert principal.roles == roles.ALL_ROLES


def test_keys_create_with_an_unknown_role_lists_the_roles(
    url: str, db: Database
) -> None:
    create_org(db, "acme")

    result = run(url, "keys", "create", "--org", "acme", "--role", "org.god")

    assert result.exit_code == 2
    assert "unknown role 'org.god'" in result.stderr
    assert all(role in result.stderr for role in roles.ALL_ROLES)
    assert result.stdout == ""
    assert list_keys(db) == []


def test_keys_create_without_a_role_is_a_usage_error(url: str, db: Database) -> None:
    create_org(db, "acme")

    result = run(url, "keys", "create", "--org", "acme")

    assert result.exit_code == 2
    assert "at least one --role" in result.stderr


def test_keys_create_for_an_unknown_org_says_how_to_create_it(url: str) -> None:
    result = run(url, "keys", "create", "--org", "nope", "--role", "all")

    assert result.exit_code == 1
    assert "org 'nope' not found" in result.stderr
    assert "trackway orgs create nope" in result.stderr


def test_keys_create_with_an_expiry_stores_it(url: str, db: Database) -> None:
    create_org(db, "acme")
    args = ["--role", "all", "--expires-at", "2999-01-01T00:00:00Z"]

    result = run(url, "keys", "create", "--org", "acme", *args)

    assert result.exit_code == 0
    assert list_keys(db)[0].expires_at == 32472144000000


@pytest.mark.parametrize("expiry", ["2001-01-01T00:00:00Z", "tomorrow"])
def test_keys_create_with_a_past_or_unreadable_expiry_is_refused(
    url: str, db: Database, expiry: str
) -> None:
    create_org(db, "acme")
    args = ["--role", "all", "--expires-at", expiry]

    result = run(url, "keys", "create", "--org", "acme", *args)

    assert result.exit_code == 2
    assert "--expires-at" in result.stderr
    assert list_keys(db) == []


def test_keys_list_shows_keys_without_their_secrets(url: str, db: Database) -> None:
    key = create_key(db, create_org(db, "acme"), [roles.TRACKING], name="web")

    result = run(url, "keys", "list")

    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split() == [
        "KEY",
        "ID",
        "ORG",
        "NAME",
        "ROLES",
        "RATE",
        "LIMIT",
        "CREATED",
        "EXPIRES",
        "REVOKED",
    ]
    assert row.split()[:5] == [key[3:27], "acme", "web", roles.TRACKING, "org's"]
    assert key[28:] not in result.stdout


def test_keys_list_for_one_org_leaves_out_the_others(url: str, db: Database) -> None:
    create_key(db, create_org(db, "acme"), [roles.TRACKING])
    other = create_key(db, create_org(db, "globex"), [roles.TRACKING])

    result = run(url, "keys", "list", "--org", "globex")

    assert result.exit_code == 0
    [row] = result.stdout.splitlines()[1:]
    assert row.split()[:2] == [other[3:27], "globex"]


def test_keys_list_for_an_unknown_org_fails(url: str) -> None:
    result = run(url, "keys", "list", "--org", "nope")

    assert result.exit_code == 1
    assert "trackway orgs create nope" in result.stderr


def test_keys_revoke_stops_the_key(url: str, db: Database) -> None:
    key = create_key(db, create_org(db, "acme"), [roles.TRACKING])

    result = run(url, "keys", "revoke", key[3:27])

    assert result.exit_code == 0
    assert authenticate(db, key) is None
    assert list_keys(db)[0].revoked_at is not None


def test_keys_revoke_takes_the_whole_key_and_never_prints_its_secret(
    url: str, db: Database
) -> None:
    key = create_key(db, create_org(db, "acme"), [roles.TRACKING])

    result = run(url, "keys", "revoke", key)

    assert result.exit_code == 0
    assert f"revoked key {key[3:27]}" in result.stdout
    assert key not in result.stdout + result.stderr
    assert authenticate(db, key) is None


def test_keys_revoke_of_an_unknown_key_says_how_to_list_keys(url: str) -> None:
    result = run(url, "keys", "revoke", "0" * 24)

    assert result.exit_code == 1
    assert "trackway keys list" in result.stderr


def test_command_on_a_database_without_schema_says_to_upgrade(
    blank_database_url: str,
) -> None:
    result = run(blank_database_url, "orgs", "list")

    assert result.exit_code == 1
    assert "run: trackway db upgrade" in result.stderr


def test_db_upgrade_creates_the_schema(blank_database_url: str) -> None:
    upgraded = run(blank_database_url, "db", "upgrade")
    listed = run(blank_database_url, "orgs", "list")

    assert upgraded.exit_code == 0
    assert upgraded.stdout == "the database schema is at the latest version\n"
    assert listed.exit_code == 0


def test_unreadable_database_url_is_a_usage_error() -> None:
    result = run("not a url", "orgs", "list")

    assert result.exit_code == 2
    assert "TRACKWAY_DATABASE_URL: 'not a url' is not a database URL" in result.stderr


def test_serve_with_a_bad_setting_stops_naming_it(url: str) -> None:
    environ = {"TRACKWAY_SESSION_GAP_MINUTES": "0"}

    result = runner.invoke(app, ["serve", "--database-url", url], env=environ)

    assert result.exit_code == 2
    assert "TRACKWAY_SESSION_GAP_MINUTES" in result.stderr


def test_serve_on_a_taken_port_says_how_to_pick_another(url: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])

        result = runner.invoke(app, ["serve", "--port", port, "--database-url", url])

    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


def test_python_dash_m_trackway_runs_the_cli() -> None:
    command = [sys.executable, "-m", "trackway", "--help"]

    done = subprocess.run(command, capture_output=True, text=True, check=False)

    assert done.returncode == 0
    assert "keys" in done.stdout


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Stub:
    """Answers like the tracking endpoints; keeps what it received."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 201


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
    state = Stub(f"http://127.0.0.1:{server.server_port}")
    server.stub = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class _StubHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        stub: Stub = self.server.stub  # type: ignore[attr-defined]
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        stub.received.append(Received(self.path, headers, body))
        self._answer(stub.status)

    def _answer(self, status: int) -> None:
        if status == 204:
            self.send_response(204)
            self.send_header("X-Tracking-Id", "visitor-1")
            self.send_header("X-Session-Id", "session-1")
            self.end_headers()
            return
        text = {201: b'{"data": {"type": "identity"}}', 400: b'{"errors": []}'}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text[status])))
        self.end_headers()
        self.wfile.write(text[status])

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


BODY = '{"identity": {"email": "jane@example.com"}, "event": {"name": "signed-in"}}'


def send(stub: Stub, command: str, *args: str, body: str = BODY) -> Result:
    options = ["--url", stub.url, "--key", "tw_key"]
    return runner.invoke(app, ["send", command, *options, *args], input=body)


def test_send_identity_event_posts_the_body_with_the_key(stub: Stub) -> None:
    result = send(stub, "identity-event")

    assert result.exit_code == 0
    [request] = stub.received
    assert request.path == "/v1/tracking/identityEvent"
    assert request.headers["authorization"] == "Bearer tw_key"
    assert request.headers["content-type"] == "application/json"
    assert request.body == BODY.encode()
    assert json.loads(result.stdout) == {"data": {"type": "identity"}}


def test_send_identity_posts_to_the_identity_endpoint(stub: Stub) -> None:
    result = send(stub, "identity", body='{"email": "jane@example.com"}')

    assert result.exit_code == 0
    assert stub.received[0].path == "/v1/tracking/identity"


def test_send_event_prints_the_ids_from_the_headers(stub: Stub) -> None:
    stub.status = 204

    result = send(stub, "event", body='{"name": "page-viewed"}')

    assert result.exit_code == 0
    assert stub.received[0].path == "/v1/tracking/event"
    answer = json.loads(result.stdout)
    assert answer == {"trackingId": "visitor-1", "sessionId": "session-1"}


def test_send_reads_the_body_from_a_file(stub: Stub, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(BODY)

    result = send(stub, "identity-event", "--file", str(body), body="")

    assert result.exit_code == 0
    assert stub.received[0].body == BODY.encode()


def test_send_takes_url_and_key_from_the_environment(stub: Stub) -> None:
    environ = {"TRACKWAY_URL": stub.url, "TRACKWAY_KEY": "tw_env"}

    result = runner.invoke(app, ["send", "identity-event"], input=BODY, env=environ)

    assert result.exit_code == 0
    assert stub.received[0].headers["authorization"] == "Bearer tw_env"


def test_send_refused_prints_status_and_body_on_stderr(stub: Stub) -> None:
    stub.status = 400

    result = send(stub, "identity-event")

    assert result.exit_code == 1
    assert result.stderr == '400 {"errors": []}\n'
    assert result.stdout == ""


def test_send_without_a_key_says_where_to_get_one() -> None:
    result = runner.invoke(app, ["send", "event"], input="{}")

    assert result.exit_code == 2
    assert "TRACKWAY_KEY" in result.stderr


def test_send_to_a_server_that_is_not_running_says_to_start_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    result = runner.invoke(
        app, ["send", "event", "--url", url, "--key", "tw_key"], input="{}"
    )

    assert result.exit_code == 1
    assert f"cannot reach the server at {url}" in result.stderr
    assert "make run" in result.stderr


def test_send_with_a_url_without_scheme_is_a_usage_error() -> None:
    args = ["--url", "localhost:8080", "--key", "tw_key"]

    result = runner.invoke(app, ["send", "event", *args], input="{}")

    assert result.exit_code == 2
    assert "not a server URL" in result.stderr


def test_send_with_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    args = ["--key", "tw_key", "--file", missing]

    result = runner.invoke(app, ["send", "event", *args])

    assert result.exit_code == 2
    assert f"cannot read {missing}" in result.stderr


def test_serve_refuses_several_workers_on_sqlite_and_says_why(
    tmp_path: Path,
) -> None:
    result = run(sqlite_url(tmp_path), "serve", "--workers", "2")

    assert result.exit_code == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert "one process" in result.stderr
