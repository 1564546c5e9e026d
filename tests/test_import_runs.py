"""`trackway import` run after run: dry runs, the rejected-rows file, and
rerunning a file (whole, after an interruption, or grown) without storing
any row twice."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from trackway.cli import app
from trackway.cli import imports as import_command

if TYPE_CHECKING:
    from harness import Api

runner = CliRunner()
HEADER = "user_id,session_id,event,timestamp,platform"
GOOD = [f"u{n % 3},s{n % 3},step,2024-03-01 10:{n:02d}:00,web" for n in range(12)]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRACKWAY_* setting of the developer's shell reaches a test (the
    test run's own TRACKWAY_TEST_* stay)."""
    for name in list(os.environ):
        if name.startswith("TRACKWAY_") and not name.startswith("TRACKWAY_TEST_"):
            monkeypatch.delenv(name)


def run_import(api: Api, path: Path, *args: str) -> Result:
    url = api.settings.database_url
    command = ["import", str(path), "--org", "acme", "--database-url", url]
    return runner.invoke(app, [*command, *args])


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def summary(result: Result) -> dict[str, str]:
    pairs = [line.split(":", 1) for line in result.stdout.splitlines() if ":" in line]
    return {label: value.strip() for label, value in pairs}


def events_of(api: Api, user: str) -> int:
    """How many tracking events the read API shows for a user."""
    response = api.get(f"/v1/customers/externalId={user}", api.read_key)
    if response.status_code == 404:
        return 0
    customer = response.json()["data"]["id"]
    total = 0
    link: str | None = f"/v1/customers/{customer}/timeline?limit=100"
    while link is not None:
        page: Any = api.get(link, api.read_key).json()
        total += sum(e["attributes"]["name"].endswith("event") for e in page["data"])
        link = page["links"]["next"]
    return total


def all_events(api: Api) -> int:
    return sum(events_of(api, f"u{n}") for n in range(3))


def test_a_dry_run_reports_bad_rows_by_line_and_stores_nothing(
    api: Api, tmp_path: Path
) -> None:
    lines = [HEADER, *GOOD[:2], "u1,s1,9lives,2024-03-01 11:00:00,web", GOOD[2]]
    path = write(tmp_path / "events.csv", lines)

    result = run_import(api, path, "--dry-run")

    assert result.exit_code == 1
    assert "line 4: event.name must start with a letter" in result.stderr
    assert (
        summary(result)["rows read"],
        summary(result)["rows valid"],
        summary(result)["rows rejected"],
    ) == ("4", "3", "1")
    assert "dry run: nothing was stored" in result.stdout
    assert all_events(api) == 0


def test_a_clean_dry_run_succeeds(api: Api, tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", [HEADER, *GOOD])

    result = run_import(api, path, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert str(len(GOOD)) == summary(result)["rows valid"]


def test_rejected_rows_are_written_as_they_were_to_import_once_fixed(
    api: Api, tmp_path: Path
) -> None:
    bad = ["u1,s1,9lives,2024-03-01 11:00:00,web", "u2,s2,step,yesterday,web"]
    path = write(tmp_path / "events.csv", [HEADER, GOOD[0], *bad, "u1,s1"])
    rejected = tmp_path / "rejected.csv"

    result = run_import(api, path, "--rejected", str(rejected))

    assert result.exit_code == 1
    assert f"they are in {rejected}" in result.stderr
    with rejected.open(newline="") as text:
        rows = list(csv.reader(text))
    assert [HEADER.split(","), *(b.split(",") for b in bad), ["u1", "s1"]] == rows
    fixed = rejected.read_text().replace("9lives", "lives").replace("yesterday", "")
    write(rejected, fixed.splitlines()[:3])
    again = run_import(api, rejected)
    assert summary(again)["events stored"] == "1"


def test_rerunning_a_file_stores_nothing_twice(api: Api, tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", [HEADER, *GOOD, GOOD[0]])
    run_import(api, path)

    again = run_import(api, path)

    assert again.exit_code == 0, again.stderr
    assert ("0", str(len(GOOD) + 1)) == (
        summary(again)["events stored"],
        summary(again)["already stored"],
    )
    assert len(GOOD) + 1 == all_events(api)


def test_an_interrupted_import_run_again_stores_only_the_rest(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "events.csv", [HEADER, *GOOD])
    real = import_command.import_rows

    def stopped_after_one_batch(*args: Any) -> Any:
        *given, _ = args

        def stop(count: int) -> None:
            raise KeyboardInterrupt

        return real(*given, stop)

    monkeypatch.setattr(import_command, "import_rows", stopped_after_one_batch)
    first = run_import(api, path, "--batch-size", "5")
    monkeypatch.setattr(import_command, "import_rows", real)

    again = run_import(api, path, "--batch-size", "5")

    assert first.exit_code == 130  # interrupted, as by Ctrl-C
    assert (
        summary(again)["events stored"],
        summary(again)["already stored"],
    ) == ("7", "5")
    assert len(GOOD) == all_events(api)


def test_a_file_that_grew_at_its_end_stores_only_the_new_rows(
    api: Api, tmp_path: Path
) -> None:
    path = write(tmp_path / "events.csv", [HEADER, *GOOD[:6]])
    run_import(api, path)
    write(path, [HEADER, *GOOD])

    again = run_import(api, path)

    assert (
        summary(again)["events stored"],
        summary(again)["already stored"],
    ) == ("6", "6")
    assert len(GOOD) == all_events(api)


def test_a_rejected_file_that_cannot_be_written_is_a_usage_error(
    api: Api, tmp_path: Path
) -> None:
    path = write(tmp_path / "events.csv", [HEADER, *GOOD])

    result = run_import(api, path, "--rejected", str(tmp_path / "no" / "such.csv"))

    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_a_large_file_checked_by_a_second_process_imports_the_same(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above CHILD_CHECKS_FROM_BYTES a child process checks the rows: the
    summary, the messages and the rejected file are those of a check here."""
    bad = ["u1,s1,9lives,2024-03-01 11:00:00,web", "u2,s2,step,yesterday,web"]
    path = write(tmp_path / "events.csv", [HEADER, GOOD[0], *bad, *GOOD[1:]])
    rejected = tmp_path / "rejected.csv"
    children: list[Path] = []
    real = import_command.checked_in_child

    def recorded(file: Path, *args: Any) -> Any:
        children.append(file)
        return real(file, *args)

    monkeypatch.setattr(import_command, "CHILD_CHECKS_FROM_BYTES", 0)
    monkeypatch.setattr(import_command, "checked_in_child", recorded)

    result = run_import(api, path, "--rejected", str(rejected))

    assert [path] == children
    assert result.exit_code == 1
    assert "line 3: event.name must start with a letter" in result.stderr
    assert "line 4: timestamp must be an ISO-8601 date-time" in result.stderr
    assert (str(len(GOOD)), "2") == (
        summary(result)["events stored"],
        summary(result)["rows rejected"],
    )
    with rejected.open(newline="") as text:
        assert [HEADER.split(","), *(b.split(",") for b in bad)] == list(
            csv.reader(text)
        )
    assert len(GOOD) == all_events(api)


@pytest.mark.parametrize("checked_in", ["this process", "a second process"])
def test_a_row_that_is_not_utf8_is_rejected_by_line_and_kept_byte_for_byte(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checked_in: str
) -> None:
    if checked_in == "a second process":
        monkeypatch.setattr(import_command, "CHILD_CHECKS_FROM_BYTES", 0)
    latin1 = "u1,s1,caf\xe9,2024-03-01 11:00:00,web".encode("latin-1")
    good = [line.encode() for line in GOOD]
    path = tmp_path / "events.csv"
    path.write_bytes(b"\n".join([HEADER.encode(), good[0], latin1, *good[1:]]) + b"\n")
    rejected = tmp_path / "rejected.csv"

    result = run_import(api, path, "--rejected", str(rejected))

    assert result.exit_code == 1
    assert "line 3: is not UTF-8 text" in result.stderr
    assert (str(len(GOOD)), "1") == (
        summary(result)["events stored"],
        summary(result)["rows rejected"],
    )
    assert rejected.read_bytes() == HEADER.encode() + b"\r\n" + latin1 + b"\r\n"


def test_an_ndjson_line_that_is_not_utf8_is_rejected_by_line(
    api: Api, tmp_path: Path
) -> None:
    good = b'{"event": "step", "timestamp": "2024-03-01T10:00:00Z", "user_id": "u1"}'
    bad = good.replace(b'"step"', b'"st\xffep"')
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join([good, bad, good]) + b"\n")
    rejected = tmp_path / "rejected.ndjson"

    result = run_import(api, path, "--rejected", str(rejected))

    assert result.exit_code == 1
    assert "line 2: is not UTF-8 text" in result.stderr
    assert summary(result)["events stored"] == "2"
    assert rejected.read_bytes() == bad + b"\n"


def test_a_row_the_csv_reader_refuses_is_written_to_the_rejected_file(
    api: Api, tmp_path: Path
) -> None:
    too_long = f"u1,s1,step,2024-03-01 11:00:00,{'x' * 200_000}"
    path = write(tmp_path / "events.csv", [HEADER, GOOD[0], too_long, GOOD[1]])
    rejected = tmp_path / "rejected.csv"

    result = run_import(api, path, "--rejected", str(rejected))

    assert result.exit_code == 1
    assert "line 3: is not valid CSV: field larger than field limit" in result.stderr
    assert summary(result)["events stored"] == "2"
    assert rejected.read_text().splitlines() == [HEADER, too_long]
