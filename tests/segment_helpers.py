"""Sending Segment messages to a test server and reading what they made."""

import base64
from typing import Any

import pytest
from httpx2 import Response

from harness import Api
from trackway.api import segment

# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
MINUTE = 60_000


class Clock:
    """The server's receive time, set by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def freeze(monkeypatch: pytest.MonkeyPatch, now: int = T0) -> Clock:
    clock = Clock(now)
    monkeypatch.setattr(segment, "now_ms", clock)
    return clock


def basic(key: str) -> dict[str, str]:
    """Segment's way: the key as the Basic user, an empty password."""
    token = base64.b64encode(f"{key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def send(api: Api, kind: str, message: dict[str, Any]) -> Response:
    return api.client.post(f"/v1/{kind}", json=message, headers=basic(api.tracking_key))


def send_batch(api: Api, messages: list[Any], **envelope: Any) -> Response:
    body = {"batch": messages, **envelope}
    return api.client.post("/v1/batch", json=body, headers=basic(api.tracking_key))


def customer_of(api: Api, user_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/customers/externalId={user_id}", api.read_key)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def timeline(api: Api, customer_id: str) -> list[dict[str, Any]]:
    """Every entry's attributes, newest first."""
    path = f"/v1/customers/{customer_id}/timeline?limit=100"
    response = api.get(path, api.read_key)
    assert response.status_code == 200, response.text
    return [entry["attributes"] for entry in response.json()["data"]]


def tracking_events(api: Api, user_id: str) -> list[dict[str, Any]]:
    customer = customer_of(api, user_id)
    entries = timeline(api, customer["id"])
    return [e for e in entries if "trackingEvent" in e]


def rejected(api: Api) -> list[dict[str, Any]]:
    response = api.get("/v1/rejected", api.read_key)
    assert response.status_code == 200, response.text
    return [entry["attributes"] for entry in response.json()["data"]]
