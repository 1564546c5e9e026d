"""`trackway export` and its import: NDJSON that restores what it read.

Data is made through the API, read back through the API, exported,
erased through the API and imported: the read API must then answer
exactly as before, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from trackway.cli import app

if TYPE_CHECKING:
    from harness import Api

runner = CliRunner()

JANE = {
    "trackingId": "laptop",
    "sessionId": "s-1",
    "email": "jane@example.com",
    "phone": "+14155550100",
    "externalId": "user-1",
    "name": "Jane",
    "birthdayAt": "1990-05-17",
    "location": {"type": "home", "cityName": "Porto", "latitude": 41.15},
    "tags": ["beta"],
    "custom": {"planStr": "pro"},
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRACKWAY_* setting of the developer's shell reaches a test (the
    test run's own TRACKWAY_TEST_* stay)."""
    for name in list(os.environ):
        if name.startswith("TRACKWAY_") and not name.startswith("TRACKWAY_TEST_"):
            monkeypatch.delenv(name)


def cli(api: Api, *args: str) -> Result:
    url = api.settings.database_url
    return runner.invoke(app, [*args, "--org", "acme", "--database-url", url])


def track(api: Api, path: str, body: dict[str, Any]) -> Any:
    response = api.post(f"/v1/tracking/{path}", body, api.tracking_key)
    assert response.status_code in (201, 204), response.text
    return response.json() if response.content else None


def customer_of(answer: Any) -> str:
    found: str = answer["data"]["relationships"]["customer"]["data"]["id"]
    return found


def make_history(api: Api) -> list[str]:
    """Two customers with anonymous history, updates, sessions and a
    visitor that changes hands; returns their ids."""
    track(api, "event", {"trackingId": "laptop", "name": "page-viewed"})
    jane = customer_of(track(api, "identityEvent", {
        "identity": JANE,
        "event": {"name": "checkout-started", "meta": {"cartNum": 9007199254740993}},
    }))  # fmt: skip
    track(api, "identity", {"trackingId": "laptop", "name": "Jane Roe"})
    for tab in ("s-2", "s-3"):
        body = {"trackingId": "laptop", "sessionId": tab, "name": "page-viewed"}
        track(api, "event", body)
    rex = customer_of(track(api, "identity", {
        "trackingId": "phone", "externalId": "user-2", "remember": False,
    }))  # fmt: skip
    track(api, "event", {"trackingId": "phone", "name": "app-opened"})
    return [jane, rex]


def get(api: Api, path: str) -> Any:
    response = api.get(path, api.read_key)
    return response.status_code, response.content


def pages(api: Api, path: str) -> list[Any]:
    """Every page of a list, as status and bytes, following links.next."""
    found = []
    link: str | None = path
    while link is not None:
        status, body = get(api, link)
        found.append((status, body))
        link = json.loads(body)["links"]["next"] if status == 200 else None
    return found


def answers(api: Api, customers: list[str]) -> list[Any]:
    """What the read API says about these customers, every byte of it."""
    said: list[Any] = []
    for customer in customers:
        base = f"/v1/customers/{customer}"
        said.append(get(api, base))
        profile = json.loads(get(api, base)[1])["data"]["attributes"]
        for email in profile["emails"]:
            said.append(get(api, f"/v1/customers/email={email['email']}"))
        for phone in profile["phones"]:
            said.append(get(api, f"/v1/customers/phone={phone['phone']}"))
        said.append(get(api, f"/v1/customers/externalId={profile['externalId']}"))
        sessions = pages(api, f"{base}/sessions?pageSize=2")
        said.extend(sessions)
        for _, body in sessions:
            for session in json.loads(body)["data"]:
                said.extend(pages(api, f"{base}/sessions/{session['id']}/events"))
        timeline = pages(api, f"{base}/timeline?limit=3")
        said.extend(timeline)
        for _, body in timeline:
            for event in json.loads(body)["data"]:
                said.append(get(api, f"{base}/events/{event['id']}"))
    return said


def erase(api: Api, customers: list[str]) -> None:
    for customer in customers:
        response = api.client.delete(f"/v1/customers/{customer}", headers=api.headers())
        assert response.status_code == 204, response.text


def export_to(api: Api, path: Path, *args: str) -> Result:
    result = cli(api, "export", "--output", str(path), *args)
    assert result.exit_code == 0, result.stderr
    return result


def records(path: Path) -> list[dict[str, Any]]:
    opened = gzip.open if path.suffix == ".gz" else open
    with opened(path, "rt") as text:
        return [json.loads(line) for line in text]


def owner(record: dict[str, Any]) -> str:
    """The customer a record of the file belongs to."""
    found: str = record["id"] if record["type"] == "customer" else record["customerId"]
    return found


def summary(result: Result) -> dict[str, str]:
    pairs = [line.split(":", 1) for line in result.stdout.splitlines() if ":" in line]
    return {label: value.strip() for label, value in pairs}


def test_export_erase_import_gives_the_same_read_answers(
    api: Api, tmp_path: Path
) -> None:
    customers = make_history(api)
    before = answers(api, customers)
    export_to(api, tmp_path / "acme.ndjson")
    erase(api, customers)
    assert all(get(api, f"/v1/customers/{c}")[0] == 404 for c in customers)

    result = cli(api, "import", str(tmp_path / "acme.ndjson"))

    assert result.exit_code == 0, result.stderr
    assert before == answers(api, customers)


def test_a_restored_org_exports_the_same_records(api: Api, tmp_path: Path) -> None:
    customers = make_history(api)
    export_to(api, tmp_path / "first.ndjson.gz")
    erase(api, customers)
    cli(api, "import", str(tmp_path / "first.ndjson.gz"))

    export_to(api, tmp_path / "second.ndjson")

    assert (
        records(tmp_path / "first.ndjson.gz")[1:]
        == records(tmp_path / "second.ndjson")[1:]
    )


def test_the_file_starts_with_its_header_then_each_customer_and_its_records(
    api: Api, tmp_path: Path
) -> None:
    jane, rex = make_history(api)

    export_to(api, tmp_path / "acme.ndjson")

    header, *lines = records(tmp_path / "acme.ndjson")
    assert (
        header["trackwayExport"],
        header["org"],
        header["since"],
    ) == (1, "acme", None)
    customers = [r["id"] for r in lines if r["type"] == "customer"]
    assert sorted([jane, rex]) == customers
    owners = [owner(r) for r in lines]
    assert owners == sorted(owners)
    kinds = {r["type"] for r in lines}
    assert {"customer", "visitor", "session", "event", "change"} == kinds


def test_numbers_keep_their_digits_through_the_file(api: Api, tmp_path: Path) -> None:
    make_history(api)
    body = '{"externalId": "user-9", "custom": {"scoreNum": 0.10}}'
    headers = {**api.headers(api.tracking_key), "Content-Type": "application/json"}
    api.client.post("/v1/tracking/identity", content=body, headers=headers)

    export_to(api, tmp_path / "acme.ndjson")

    text = (tmp_path / "acme.ndjson").read_text()
    assert '"scoreNum":0.10' in text
    assert '"cartNum":9007199254740993' in text


def test_importing_an_export_twice_stores_nothing_the_second_time(
    api: Api, tmp_path: Path
) -> None:
    customers = make_history(api)
    export_to(api, tmp_path / "acme.ndjson")
    erase(api, customers)
    cli(api, "import", str(tmp_path / "acme.ndjson"))
    before = answers(api, customers)

    again = cli(api, "import", str(tmp_path / "acme.ndjson"))

    assert again.exit_code == 0, again.stderr
    assert summary(again)["events and change records restored"] == "0"
    assert before == answers(api, customers)


def test_one_customer_is_exported_alone(api: Api, tmp_path: Path) -> None:
    _, rex = make_history(api)

    export_to(api, tmp_path / "rex.ndjson", "--customer", rex)

    lines = records(tmp_path / "rex.ndjson")[1:]
    assert {rex} == {owner(r) for r in lines}


def test_since_keeps_what_was_written_at_or_after_it(api: Api, tmp_path: Path) -> None:
    make_history(api)
    export_to(api, tmp_path / "all.ndjson")
    cutoff = records(tmp_path / "all.ndjson")[0]["exportedAt"]
    track(api, "identityEvent", {
        "identity": {"externalId": "user-3"}, "event": {"name": "signed-up"},
    })  # fmt: skip

    export_to(api, tmp_path / "new.ndjson", "--since", cutoff)

    lines = records(tmp_path / "new.ndjson")[1:]
    profiles = [r["profile"] for r in lines if r["type"] == "customer"]
    events = [r["name"] for r in lines if r["type"] == "event"]
    assert profiles == [{"externalId": "user-3"}]
    assert events == ["signed-up"]


def test_an_older_record_never_replaces_a_newer_customer(
    api: Api, tmp_path: Path
) -> None:
    jane, _ = make_history(api)
    export_to(api, tmp_path / "old.ndjson")
    track(api, "identity", {"externalId": "user-1", "name": "Jane Newer"})

    result = cli(api, "import", str(tmp_path / "old.ndjson"))

    assert result.exit_code == 0, result.stderr
    name = json.loads(get(api, f"/v1/customers/{jane}")[1])["data"]["attributes"]
    assert name["name"] == "Jane Newer"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"type": "comet"}', "is not an export record"),
        (b'{"type": "com\xe9t"}', "is not an export record: it is not UTF-8 text"),
    ],
)
def test_a_bad_line_is_reported_by_number_kept_as_it_was_and_the_rest_restored(
    api: Api, tmp_path: Path, bad: bytes, reason: str
) -> None:
    customers = make_history(api)
    export_to(api, tmp_path / "acme.ndjson")
    lines = (tmp_path / "acme.ndjson").read_bytes().splitlines()
    lines.insert(2, bad)
    (tmp_path / "broken.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    erase(api, customers)

    result = cli(
        api, "import", str(tmp_path / "broken.ndjson"),
        "--rejected", str(tmp_path / "bad.ndjson"),
    )  # fmt: skip

    assert result.exit_code == 1
    assert f"line 3: {reason}" in result.stderr
    assert get(api, f"/v1/customers/{customers[0]}")[0] == 200
    assert (tmp_path / "bad.ndjson").read_bytes() == lines[0] + b"\n" + bad + b"\n"


def test_a_dry_run_of_an_export_stores_nothing(api: Api, tmp_path: Path) -> None:
    customers = make_history(api)
    export_to(api, tmp_path / "acme.ndjson")
    erase(api, customers)

    result = cli(api, "import", str(tmp_path / "acme.ndjson"), "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert "dry run: nothing was stored" in result.stdout
    assert get(api, f"/v1/customers/{customers[0]}")[0] == 404


def test_export_goes_to_stdout_without_output(api: Api) -> None:
    make_history(api)

    result = cli(api, "export")

    assert result.exit_code == 0, result.stderr
    header = json.loads(result.stdout.splitlines()[0])
    assert header["org"] == "acme"
    assert "customers:" in result.stderr


def test_an_unknown_customer_is_refused(api: Api) -> None:
    result = cli(api, "export", "--customer", "0" * 24)

    assert result.exit_code == 1
    assert "no customer" in result.stderr


def test_a_since_that_is_not_a_time_is_refused(api: Api) -> None:
    result = cli(api, "export", "--since", "yesterday")

    assert result.exit_code == 2
    assert "--since" in result.stderr
