"""Every endpoint against its own OpenAPI document, by schemathesis.

The schema is read from `/openapi.json` as served. Each operation then
gets generated requests, valid and invalid, sent in-process with a key
holding every role, on a SQLite database of its own that holds one
customer with a session, an event and a refused Segment message. A
request whose path names a customer, session, event or identifier is sent
a second time naming the real one, so the 200 answers are checked too.

Each answer must be no 5xx, and its status, Content-Type, headers and
body must be what the document says for that operation.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from backends import sqlite_url
from harness import Api, make_api
from trackway.api.app import create_app
from trackway.settings import load_settings
from trackway.store.migrate import upgrade

EXAMPLES = 50
JANE = {
    "trackingId": "visitor-1",
    "email": "jane@example.com",
    "externalId": "crm-42",
    "phone": "+14155550100",
    "name": "Jane Roe",
}
CLICK = {"name": "button-clicked", "meta": {"priceNum": 9007199254740993}}
REFUSED = {"type": "identify", "userId": "u-1", "traits": {"email": "nope"}}

# The document comes from the app itself; reading it touches no database.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(load_settings({}, database_url="sqlite://"))
)

# Like most HTTP APIs, Trackway ignores query parameters and headers it
# does not know (cache busters, proxies' headers); the document forbids none.
schema.config.generation.update(allow_extra_parameters=False)

# The document states shapes. Rules past JSON Schema (a deliverable email,
# an IANA zone name, placeholder ids such as "0", userId or anonymousId)
# answer a documented 400, so a body of the right shape may be refused.
EXCLUDED = [positive_data_acceptance]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Api, dict[str, str]]]:
    """A server on SQLite, and the path values that name its data."""
    url = sqlite_url(tmp_path)
    upgrade(url)
    for api in make_api(url):
        yield api, _seed(api)


def _seed(api: Api) -> dict[str, str]:
    """One customer with a session and an event; one refused message."""
    made = api.post("/v1/tracking/identityEvent", {"identity": JANE, "event": CLICK})
    assert made.status_code == 201, made.text
    customer = made.json()["data"]["relationships"]["customer"]["data"]["id"]
    base = f"/v1/customers/{customer}"
    session = api.get(f"{base}/sessions").json()["data"][0]["id"]
    event = api.get(f"{base}/timeline").json()["data"][0]["id"]
    batch = api.post("/v1/batch", {"batch": [REFUSED]})
    assert batch.json()["rejected"] == 1, batch.text
    return {
        "id": customer,
        "cid": customer,
        "sessionId": session,
        "eventId": event,
        "email": JANE["email"],
        "externalId": JANE["externalId"],
        "phone": JANE["phone"],
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.long
def test_every_answer_matches_the_document(
    case: Any, seeded: tuple[Api, dict[str, str]]
) -> None:
    api, known = seeded

    _call(case, api)
    named = set(case.path_parameters or {}) & set(known)
    if named:
        case.path_parameters = {**case.path_parameters, **_only(known, named)}
        _call(case, api)


def _call(case: Any, api: Api) -> None:
    case.call_and_validate(
        headers=api.headers(),
        app=api.client.app,
        excluded_checks=EXCLUDED,
    )


def _only(values: dict[str, str], names: set[str]) -> dict[str, str]:
    return {name: values[name] for name in names}
