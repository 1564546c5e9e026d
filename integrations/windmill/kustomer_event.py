"""Windmill script: record what a visitor did.

Posts an event object (`name`, and optionally `trackingId`, `sessionId`,
`meta`) to `/v1/tracking/event` of Kustomer, or of Trackway when
`base_url` points to it. The key needs the `org.tracking` role. An answer
other than 2xx fails the step with `"<status> <body>"`. The answer has no
body, so the step returns the ids the event was recorded under, which come
back as headers: `{"trackingId": ..., "sessionId": ...}`.
"""

from typing import Any, TypedDict
from urllib.parse import unquote

import httpx

TIMEOUT_S = 30.0


class kustomer(TypedDict):
    """Windmill resource type `kustomer`: the API key."""

    apiKey: str


def main(
    auth: kustomer,
    body: dict,  # type: ignore[type-arg]
    base_url: str = "https://api.kustomerapp.com",
) -> Any:
    url = f"{base_url.rstrip('/')}/v1/tracking/event"
    headers = {"Authorization": f"Bearer {auth['apiKey']}"}
    response = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
    if not response.is_success:
        raise Exception(f"{response.status_code} {response.text}")
    if response.content:
        return response.json()
    return {
        "trackingId": unquote(response.headers.get("X-Tracking-Id", "")),
        "sessionId": unquote(response.headers.get("X-Session-Id", "")),
    }
