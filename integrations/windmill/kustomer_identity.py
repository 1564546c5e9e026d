"""Windmill script: say who a visitor is (email, phone, externalId, ...).

Posts an identity object to `/v1/tracking/identity` of Kustomer, or of
Trackway when `base_url` points to it. The key needs the `org.tracking`
role. An answer other than 2xx fails the step with `"<status> <body>"`;
otherwise the step returns the identity record.
"""

from typing import Any, TypedDict

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
    url = f"{base_url.rstrip('/')}/v1/tracking/identity"
    headers = {"Authorization": f"Bearer {auth['apiKey']}"}
    response = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
    if not response.is_success:
        raise Exception(f"{response.status_code} {response.text}")
    return response.json()
