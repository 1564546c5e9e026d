"""The real Segment-style SDKs from PyPI against a live `trackway serve`.

Each SDK runs the scenario of `segment_sdk_driver.py` in a process of its
own against a server of its own, and the test then reads, through the read
API, that every message landed once, on the right customer and session,
at the time it carried.

The three SDKs are dev dependencies and share the project's environment:
segment-analytics-python imports as `segment.analytics`, rudder-sdk-python
as `rudderstack.analytics`, analytics-python as `analytics`. (pyproject.toml
says why analytics-python stays at 1.2.9 there.)
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

# `server` is the live-server fixture, imported so pytest finds it here.
from live import Server
from segment_sdk_driver import (
    BURST,
    BURST_START_MS,
    BURST_STEP_MS,
    EARLIER_VISITOR,
    USER,
)
from test_live_server import read
from trackway.domain.times import format_ms, now_ms, parse_datetime

pytestmark = pytest.mark.live

SDKS = ("segment-analytics-python", "rudder-sdk-python", "analytics-python")
DRIVER = Path(__file__).with_name("segment_sdk_driver.py")
SEND_TIMEOUT_S = 90
# The scenario happened an hour ago by the client's clock.
AGO_MS = 3_600_000
# Corrected time minus the time sent: the batch's trip, never negative.
MAX_TRIP_MS = 60_000


def run_sdk(sdk: str, live: Server, base_ms: int, folder: Path) -> dict[str, Any]:
    """Run the driver; `folder` is its working directory (rudder-sdk-python
    reads a `.env` file from there)."""
    argv = [sys.executable, str(DRIVER), sdk, live.url, live.key, str(base_ms)]
    done = subprocess.run(
        argv, cwd=folder, capture_output=True, text=True, timeout=SEND_TIMEOUT_S,
        env={**live.environ, "PYTHONPATH": str(DRIVER.parent)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


def pages(live: Server, path: str) -> list[dict[str, Any]]:
    """Every entry of a paged list."""
    found: list[dict[str, Any]] = []
    link: str | None = f"{path}?pageSize=100"
    headers = {"Authorization": f"Bearer {live.key}"}
    while link is not None:
        response = httpx.get(live.url + link, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["data"]
        link = body["links"]["next"]
    return found


def rejected(live: Server) -> list[Any]:
    return pages(live, "/v1/rejected")


@pytest.mark.parametrize("sdk", SDKS)
def test_every_message_of_the_sdk_lands_once_where_it_belongs(
    server: Server,
    tmp_path: Path,
    sdk: str,
) -> None:
    base = now_ms() - AGO_MS

    report = run_sdk(sdk, server, base, tmp_path)

    assert report["errors"] == []
    assert rejected(server) == []
    customer = read(server, f"/v1/customers/externalId={USER}")
    profile = customer["attributes"]
    assert profile["name"] == "Jane Doe"
    assert profile["company"] == "Acme"
    assert [e["email"] for e in profile["emails"]] == ["jane@example.com"]
    assert profile["custom"] == {"plan": "pro", "groupId": "g-1"}
    path = f"/v1/customers/{customer['id']}"
    counts = {
        s["attributes"]["sessionId"]: s["attributes"]["count"]
        for s in pages(server, f"{path}/sessions")
    }
    assert counts == {"s-0": 1, "s-1": 3, "s-burst": BURST}
    [viewed] = pages(server, f"{path}/sessions/s-0/events")
    assert viewed["attributes"]["trackingId"] == EARLIER_VISITOR
    assert_in_order(pages(server, f"{path}/sessions/s-1/events"), base)
    assert_burst(pages(server, f"{path}/sessions/s-burst/events"), base)


def assert_in_order(events: list[dict[str, Any]], base: int) -> None:
    """Track, page and screen of session s-1, at their own times."""
    names = {
        e["attributes"]["trackingEvent"]: e["attributes"]["publishedAt"] for e in events
    }
    sent = {
        "tracking.Order Completed": base + 2_000,
        "tracking.Web-Page-Viewed": base + 3_000,
        "tracking.Screen-Viewed": base + 4_000,
    }
    assert set(names) == set(sent)
    for name, at in sent.items():
        assert 0 <= parse_datetime(names[name], name) - at < MAX_TRIP_MS


def assert_burst(events: list[dict[str, Any]], base: int) -> None:
    """Each burst event once, at its own time moved by its batch's trip."""
    by_n = {e["attributes"]["meta"]["n"]: e["attributes"] for e in events}
    assert sorted(by_n) == list(range(BURST))
    for n, event in by_n.items():
        sent = base + BURST_START_MS + n * BURST_STEP_MS
        trip = parse_datetime(event["publishedAt"], "publishedAt") - sent
        assert 0 <= trip < MAX_TRIP_MS, (n, event["publishedAt"], format_ms(sent))
