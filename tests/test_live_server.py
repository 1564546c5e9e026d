"""`trackway serve` and `trackway send` as real processes over real HTTP.

Each test starts its own server (see `live.py`) on its own database.
"""

import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from live import Server

pytestmark = pytest.mark.live

START_TIMEOUT_S = 20.0
KEY = re.compile(r"tw_[0-9a-f]{24}_[A-Za-z0-9_-]{43}")

# Shaped like the body of the reference client in shared/seed, with every
# field of its type declaration filled.
LOCATION = {
    "type": "home",
    "name": "Home",
    "address": "1 Main Street",
    "address2": "Flat 2",
    "address3": "Back door",
    "latitude": 37.77,
    "longitude": -122.42,
    "countryCode": "US",
    "countryName": "United States",
    "regionCode": "CA",
    "regionName": "California",
    "cityName": "San Francisco",
    "zipCode": "94103",
    "areaCode": "415",
}
IDENTITY_EVENT = {
    "identity": {
        "remember": True,
        "trackingId": "visitor-42",
        "sessionId": "tab-1",
        "name": "Jane Doe",
        "company": "Acme",
        "externalId": "user-42",
        "username": "jane",
        "signedUpAt": "2024-01-04T11:45:38Z",
        "birthdayAt": "1992-07-04",
        "gender": "f",
        "locale": "en_US",
        "timeZone": "America/Los_Angeles",
        "email": "Jane.Doe@Example.com",
        "phone": "+14155550100",
        "location": LOCATION,
        "tags": ["beta"],
        "custom": {"planStr": "pro", "seatsNum": 3},
    },
    "event": {
        "trackingId": "visitor-42",
        "sessionId": "tab-1",
        "name": "checkout-started",
        "meta": {"cartTotalNum": 42.5},
    },
}


Done = subprocess.CompletedProcess[str]


def send(server: Server, command: str, body: str) -> Done:
    argv = [sys.executable, "-m", "trackway", "send", command]
    environ = {**server.environ, "TRACKWAY_URL": server.url}
    environ["TRACKWAY_KEY"] = server.key
    return subprocess.run(
        argv, input=body, env=environ, capture_output=True, text=True, check=False
    )


def test_send_identity_event_prints_the_created_identity(server: Server) -> None:
    done = send(server, "identity-event", json.dumps(IDENTITY_EVENT))

    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)["data"]
    assert identity["type"] == "identity"
    assert identity["attributes"]["status"] == "created"
    assert identity["attributes"]["email"] == "jane.doe@example.com"
    customer = identity["relationships"]["customer"]["data"]
    assert customer["type"] == "customer"


def test_the_sent_event_is_listed_in_the_customers_session(server: Server) -> None:
    done = send(server, "identity-event", json.dumps(IDENTITY_EVENT))
    identity = json.loads(done.stdout)["data"]
    customer = f"/v1/customers/{identity['relationships']['customer']['data']['id']}"

    profile = read(server, customer)["attributes"]
    [session] = read(server, f"{customer}/sessions")
    [event] = read(server, f"{customer}/sessions/tab-1/events")

    assert profile["birthdayAt"] == "1992-07-04"
    assert profile["locations"] == [LOCATION]
    assert profile["phones"][0]["phone"] == "+14155550100"
    assert session["attributes"]["sessionId"] == "tab-1"
    assert session["attributes"]["count"] == 1
    assert event["attributes"]["trackingEvent"] == "tracking.checkout-started"
    assert event["attributes"]["meta"] == {"cartTotalNum": 42.5}


def read(server: Server, path: str) -> Any:
    headers = {"Authorization": f"Bearer {server.key}"}
    response = httpx.get(server.url + path, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_send_event_prints_the_ids_the_server_used(server: Server) -> None:
    body = json.dumps({"trackingId": "visitor-1", "name": "page-viewed"})

    done = send(server, "event", body)

    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)
    assert ids["trackingId"] == "visitor-1"
    assert ids["sessionId"]


def test_send_invalid_body_fails_with_the_status_on_stderr(server: Server) -> None:
    body = json.dumps({"identity": {}, "event": {"name": "9-lives"}})

    done = send(server, "identity-event", body)

    assert done.returncode == 1
    assert done.stdout == ""
    status, _, text = done.stderr.partition(" ")
    assert status == "400"
    assert json.loads(text)["errors"][0]["source"] == {"pointer": "/event/name"}
