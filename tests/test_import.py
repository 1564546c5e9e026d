"""`trackway import`, through Typer's runner, checked through the read API.

The real data set (tests/data/ecom-clickstream.csv.gz, see its README in
shared/data) is imported whole; the expected figures are computed from the
file here, and also compared with the figures its README states.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from backends import is_setting
from trackway.cli import app
from trackway.domain.times import format_ms, parse_datetime

if TYPE_CHECKING:
    # Only for the type: tests/store has a conftest module of the same name.
    from harness import Api

DATA_SET = Path(__file__).parent / "data" / "ecom-clickstream.csv.gz"
SAMPLE_USERS = ("user_0000", "user_0123", "user_0599")

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRACKWAY_* setting of the developer's shell reaches a test (the
    TRACKWAY_TEST_* variables, which say where test databases live, stay)."""
    for name in [n for n in list(os.environ) if is_setting(n)]:
        monkeypatch.delenv(name)


def run_import(api: Api, path: Path, *args: str) -> Result:
    url = api.settings.database_url
    command = ["import", str(path), "--org", "acme", "--database-url", url]
    return runner.invoke(app, [*command, *args])


def file_rows() -> list[dict[str, str]]:
    with gzip.open(DATA_SET, "rt", encoding="utf-8", newline="") as text:
        return list(csv.DictReader(text))


def pages(api: Api, path: str) -> Iterator[dict[str, Any]]:
    """Every resource of a paginated list, following `links.next`."""
    link: str | None = f"{path}?pageSize=100"
    while link is not None:
        response = api.get(link, api.read_key)
        assert response.status_code == 200, response.text
        document = response.json()
        yield from document["data"]
        link = document["links"]["next"]


def customer_id(api: Api, user: str) -> str:
    response = api.get(f"/v1/customers/externalId={user}", api.read_key)
    assert response.status_code == 200, response.text
    found: str = response.json()["data"]["id"]
    return found


def sessions_by_user(api: Api, users: set[str]) -> dict[str, list[dict[str, Any]]]:
    return {
        user: list(pages(api, f"/v1/customers/{customer_id(api, user)}/sessions"))
        for user in users
    }


def summary(result: Result) -> dict[str, str]:
    pairs = [line.split(":", 1) for line in result.stdout.splitlines()]
    return {label: value.strip() for label, value in pairs}


def iso(timestamp: str) -> str:
    """The API's form of an offset-less timestamp of the file (UTC)."""
    return format_ms(parse_datetime(timestamp, "timestamp"))


def test_the_data_set_imports_whole_and_reads_back_through_the_api(
    api: Api,
) -> None:
    rows = file_rows()
    users = {r["user_id"] for r in rows}
    session_ids = {r["session_id"] for r in rows}

    result = run_import(api, DATA_SET)

    assert result.exit_code == 0, result.stderr
    assert summary(result)["events stored"] == str(len(rows))
    assert summary(result)["customers created"] == str(len(users))
    assert summary(result)["rows rejected"] == "0"
    assert (len(rows), len(users), len(session_ids)) == (31_106, 600, 3_605)
    sessions = sessions_by_user(api, users)
    assert sum(len(found) for found in sessions.values()) == len(session_ids)
    counts = [s["attributes"]["count"] for found in sessions.values() for s in found]
    assert sum(counts) == len(rows)
    for user in SAMPLE_USERS:
        named = {r["session_id"] for r in rows if r["user_id"] == user}
        stored = {s["attributes"]["sessionId"] for s in sessions[user]}
        assert stored == named


def test_imported_events_keep_the_files_times_in_their_sessions(api: Api) -> None:
    rows = file_rows()

    result = run_import(api, DATA_SET)

    assert result.exit_code == 0, result.stderr
    for user in SAMPLE_USERS:
        expected = Counter(
            (r["session_id"], r["event"], iso(r["timestamp"]), r["platform"])
            for r in rows
            if r["user_id"] == user
        )
        owner = customer_id(api, user)
        seen: Counter[tuple[str, str, str, str]] = Counter()
        for session in pages(api, f"/v1/customers/{owner}/sessions"):
            path = session["links"]["self"]
            for event in pages(api, path):
                attributes = event["attributes"]
                assert attributes["name"] == "kustomer.tracking.identified.event"
                seen[
                    attributes["sessionId"],
                    attributes["trackingEvent"].removeprefix("tracking."),
                    attributes["publishedAt"],
                    attributes["meta"]["platform"],
                ] += 1
        assert seen == expected


def test_sessions_by_the_inactivity_gap_match_the_files_sessions(
    api: Api,
) -> None:
    rows = file_rows()
    users = {r["user_id"] for r in rows}
    named: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        named[r["user_id"]].add(r["session_id"])

    result = run_import(api, DATA_SET, "--session-column", "")

    assert result.exit_code == 0, result.stderr
    sessions = sessions_by_user(api, users)
    assert sum(len(found) for found in sessions.values()) == 3_605
    assert {u: len(found) for u, found in sessions.items()} == {
        u: len(ids) for u, ids in named.items()
    }
    counts = [s["attributes"]["count"] for found in sessions.values() for s in found]
    assert sum(counts) == len(rows)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


HEADER = "user_id,session_id,event,timestamp,platform"


def test_bad_rows_are_reported_by_line_and_the_good_ones_stored(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        [
            HEADER,
            "u1,s1,home,2024-03-01 10:00:00,web",
            "u1,s1,home,yesterday,web",
            "u1,s1,9lives,2024-03-01 10:01:00,web",
            "u2,s2,cart,2024-03-01T10:02:00Z,app",
        ],
    )

    result = run_import(api, path, "--batch-size", "1")

    assert result.exit_code == 1
    assert "line 3: timestamp must be an ISO-8601 date-time" in result.stderr
    assert "line 4: event.name must start with a letter (column 'event')" in (
        result.stderr
    )
    assert "rejected 2 rows" in result.stderr
    assert summary(result)["rows read"] == "4"
    assert summary(result)["events stored"] == "2"
    assert summary(result)["rows rejected"] == "2"
    (session,) = pages(api, f"/v1/customers/{customer_id(api, 'u1')}/sessions")
    assert session["attributes"]["count"] == 1


def test_a_problem_of_both_the_event_and_the_identity_is_said_once(
    api: Api, tmp_path: Path
) -> None:
    long_session = "s" * 300
    lines = [HEADER, f"u1,{long_session},home,2024-03-01 10:00:00,web"]
    path = write_csv(tmp_path / "events.csv", lines)

    result = run_import(api, path)

    assert result.exit_code == 1
    (line,) = [m for m in result.stderr.splitlines() if m.startswith("line 2:")]
    assert line.count("sessionId must be") == 1


def test_times_before_1970_or_far_ahead_are_rejected_by_line(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        [
            HEADER,
            "u1,s1,home,0001-01-01T00:00:00Z,web",
            "u1,s1,home,9999-12-31T23:59:59Z,web",
            "u1,s1,home,2024-03-01 10:00:00,web",
        ],
    )

    result = run_import(api, path)

    assert "line 2: timestamp is before 1970" in result.stderr
    assert "line 3: timestamp is more than a day in the future" in result.stderr
    assert summary(result)["events stored"] == "1"


def test_a_row_of_the_wrong_width_is_rejected_by_line(api: Api, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        [HEADER, "u1,s1,home", "u1,s1,home,2024-03-01 10:00:00,web"],
    )

    result = run_import(api, path)

    assert result.exit_code == 1
    assert "line 2: has 3 fields where the header has 5" in result.stderr
    assert summary(result)["events stored"] == "1"


def test_meta_follows_the_servers_suffix_rules(api: Api, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        [
            "user_id,event,timestamp,priceNum,itemsNum,giftBool,note",
            "u1,buy,2024-03-01 10:00:00,12.5,3,true,first",
            "u1,buy,2024-03-01 10:05:00,cheap,3,true,second",
            "u1,buy,2024-03-01 10:06:00,1e999,3,true,third",
        ],
    )

    result = run_import(api, path)

    assert result.exit_code == 1
    for line in (3, 4):
        expected = f"line {line}: meta.priceNum must be a number (column 'priceNum')"
        assert expected in result.stderr
    (event,) = session_events(api, "u1")
    assert event["attributes"]["meta"] == {
        "priceNum": 12.5,
        "itemsNum": 3,
        "giftBool": True,
        "note": "first",
    }


def session_events(api: Api, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for session in pages(api, f"/v1/customers/{customer_id(api, user)}/sessions"):
        found.extend(pages(api, session["links"]["self"]))
    return found


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


RECORDS: list[dict[str, Any]] = [
    {"user_id": "u1", "name": "home", "timestamp": "2024-03-01T10:00:00Z"},
    {"user_id": "u1", "event": "cart", "timestamp": "2024-03-01T10:01:00Z"},
    {"user_id": 42, "event": "home", "timestamp": "2024-03-01T10:02:00"},
]


def test_ndjson_lines_are_imported_with_name_accepted_for_the_event(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(RECORDS))

    result = run_import(api, path)

    assert result.exit_code == 0, result.stderr
    names = sorted(e["attributes"]["trackingEvent"] for e in session_events(api, "u1"))
    assert names == ["tracking.cart", "tracking.home"]
    (numbered,) = session_events(api, "42")
    assert numbered["attributes"]["publishedAt"] == "2024-03-01T10:02:00.000Z"


def test_gzip_is_read_by_extension_and_by_content(api: Api, tmp_path: Path) -> None:
    named = tmp_path / "events.jsonl.gz"
    named.write_bytes(gzip.compress(ndjson(RECORDS[:1])))
    unnamed = tmp_path / "events.ndjson"
    unnamed.write_bytes(gzip.compress(ndjson(RECORDS[1:2])))

    first = run_import(api, named)
    second = run_import(api, unnamed)

    assert (first.exit_code, second.exit_code) == (0, 0), first.stderr
    assert len(session_events(api, "u1")) == 2


def test_a_broken_json_line_is_rejected_by_line(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(RECORDS[:1]) + b"\n{not json\n[1, 2]\n")

    result = run_import(api, path)

    assert result.exit_code == 1
    assert "line 3: is not valid JSON" in result.stderr
    assert "line 4: is not a JSON object" in result.stderr
    assert summary(result)["events stored"] == "1"


def test_a_file_of_unknown_format_needs_the_format_option(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "events.txt", [HEADER])

    result = run_import(api, path)
    forced = run_import(api, path, "--format", "csv")

    assert result.exit_code == 2
    assert "add --format csv|ndjson" in result.stderr
    assert forced.exit_code == 0, forced.stderr


def test_a_missing_column_is_named_with_the_files_columns(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "events.csv", ["user,what,when", "u1,home,x"])

    result = run_import(api, path)

    assert result.exit_code == 2
    assert "no column 'event', 'timestamp'" in result.stderr
    assert "its columns are user, what, when" in result.stderr


def test_columns_can_be_mapped_and_the_user_column_left_out(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        ["who,what,when,visitor", "a@example.com,home,2024-03-01 10:00:00,v1"],
    )

    result = run_import(
        api,
        path,
        *("--event-column", "what", "--time-column", "when"),
        *("--email-column", "who", "--tracking-column", "visitor"),
        *("--meta-column", "visitor"),
    )

    assert result.exit_code == 0, result.stderr
    response = api.get("/v1/customers/email=A@example.com", api.read_key)
    assert response.status_code == 200, response.text
    owner = response.json()["data"]["id"]
    (session,) = pages(api, f"/v1/customers/{owner}/sessions")
    (event,) = pages(api, session["links"]["self"])
    assert event["attributes"]["trackingId"] == "v1"
    assert event["attributes"]["meta"] == {"visitor": "v1"}


def test_an_unknown_org_is_refused_with_the_way_to_create_it(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "events.csv", [HEADER])
    url = api.settings.database_url

    result = runner.invoke(app, ["import", str(path), "--database-url", url])

    assert result.exit_code == 1
    assert "org 'default' not found" in result.stderr
    assert "trackway orgs create default" in result.stderr


def test_a_spreadsheets_byte_order_mark_and_crlf_lines_are_read_as_csv(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    text = f"\ufeff{HEADER}\r\nu1,s1,home,2024-03-01 10:00:00,web\r\n"
    path.write_bytes(text.encode())

    result = run_import(api, path)

    assert result.exit_code == 0, result.stderr
    assert len(session_events(api, "u1")) == 1


def test_a_file_cut_short_stores_the_rows_before_the_cut(
    api: Api, tmp_path: Path
) -> None:
    lines = [f"u1,s1,home,2024-03-01 10:{m:02d}:00,web" for m in range(60)]
    whole = gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode())
    path = tmp_path / "events.csv.gz"
    path.write_bytes(whole[:-8])  # without the gzip trailer

    result = run_import(api, path)

    assert result.exit_code == 1
    assert "cannot read the file" in result.stderr
    assert "the rows before it were imported" in result.stderr
    stored = int(summary(result)["events stored"])
    assert stored == len(session_events(api, "u1")) > 0


def test_a_database_without_the_schema_says_how_to_create_it(
    tmp_path: Path, blank_database_url: str
) -> None:
    path = write_csv(tmp_path / "events.csv", [HEADER])
    url = blank_database_url

    result = runner.invoke(app, ["import", str(path), "--database-url", url])

    assert result.exit_code == 1
    assert "trackway db upgrade" in result.stderr
