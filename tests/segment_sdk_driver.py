"""Drive one real Segment-style SDK against a Trackway server.

Run as a script, in a process of its own (the SDKs keep global state and
background threads): `python segment_sdk_driver.py SDK URL KEY BASE_MS`.
It sends the scenario below with explicit timestamps from BASE_MS, flushes,
waits for the SDK's thread to finish, and prints one JSON line:
`{"sdk": ..., "version": ..., "errors": [...]}`.

The scenario, in order:

- visitor `anon-7` views pricing (session `s-0`), anonymously;
- identify `u-42` (visitor `anon-42`) with an email, a name and a plan;
- track, page and screen in session `s-1`, then group `g-1` (Acme);
- alias `anon-7` to `u-42`;
- a burst of `BURST` tracks in session `s-burst`, one second apart.
"""

import importlib.metadata
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

BURST = 1000
BURST_START_MS = 10_000
BURST_STEP_MS = 1_000
USER = "u-42"
VISITOR = "anon-42"
EARLIER_VISITOR = "anon-7"


def client_of(sdk: str, url: str, key: str, errors: list[str]) -> Any:
    def on_error(error: Exception, batch: object) -> None:
        errors.append(repr(error))

    if sdk == "segment-analytics-python":
        from segment.analytics import Client
    elif sdk == "rudder-sdk-python":
        from rudderstack.analytics.client import Client
    elif sdk == "analytics-python":
        from analytics import Client
    else:
        raise SystemExit(f"unknown SDK {sdk}")
    return Client(key, host=url, on_error=on_error)


def send_scenario(client: Any, base: datetime) -> None:
    def at(ms: int) -> datetime:
        return base + timedelta(milliseconds=ms)

    person = {"user_id": USER, "anonymous_id": VISITOR}
    client.track(
        anonymous_id=EARLIER_VISITOR,
        event="Viewed Pricing",
        properties={"sessionId": "s-0"},
        timestamp=at(0),
    )
    client.identify(
        traits={"email": "Jane@Example.com", "name": "Jane Doe", "plan": "pro"},
        timestamp=at(1_000),
        **person,
    )
    client.track(
        event="Order Completed",
        timestamp=at(2_000),
        properties={"total": 42.5, "sessionId": "s-1"},
        **person,
    )
    client.page(
        category="Docs",
        name="Pricing",
        timestamp=at(3_000),
        properties={"url": "https://example.com/pricing", "sessionId": "s-1"},
        **person,
    )
    client.screen(
        name="Settings", properties={"sessionId": "s-1"}, timestamp=at(4_000), **person
    )
    client.group(group_id="g-1", traits={"name": "Acme"}, timestamp=at(5_000), **person)
    client.alias(previous_id=EARLIER_VISITOR, user_id=USER, timestamp=at(6_000))
    for n in range(BURST):
        client.track(
            event="Burst",
            properties={"n": n, "sessionId": "s-burst"},
            timestamp=at(BURST_START_MS + n * BURST_STEP_MS),
            **person,
        )


def main(sdk: str, url: str, key: str, base_ms: str) -> None:
    errors: list[str] = []
    client = client_of(sdk, url, key, errors)
    base = datetime.fromtimestamp(int(base_ms) / 1000, UTC)
    send_scenario(client, base)
    client.flush()
    client.join()
    version = importlib.metadata.version(sdk)
    report = {"sdk": sdk, "version": version, "errors": errors}
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
