"""No key of one org reads another org's data, whatever ids it names.

Org `acme` (the harness's) asks for the customer, session, event and
identifiers of org `globex`, with a key holding one role at a time. A key
whose role may read the endpoint (domain/roles.py) gets 404, exactly as
for ids that never existed; any other key gets 403 before anything is
looked up. The console's pages that take ids follow the same rules as
pages: a 404 page, a 403 page, or the sign-in page for a key that may not
sign in.

The endpoints come from the app's own routes: a new GET route fails
`test_every_get_route_is_proven_or_exempt` until it is listed here.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from httpx2 import Response
from starlette.routing import BaseRoute, Mount, Route

from console_client import Console
from harness import Api
from trackway.domain import roles
from trackway.store import accounts

GLOBEX_PERSON = {
    "trackingId": "globex-visitor",
    "sessionId": "globex-tab",
    "email": "bob@globex.example",
    "externalId": "globex-7",
    "phone": "+14155550199",
    "name": "Bob Globex",
}
REFUSED = {"type": "identify", "userId": "u-1", "traits": {"email": "nope"}}


@dataclass(frozen=True)
class Read:
    """A read of one org's data: the path with globex's ids filled in,
    and the roles that may read it."""

    path: str
    accepted: frozenset[str]
    console: bool = False
    # What globex's own admin key gets: the data, or the retired list's 404.
    own: int = 200


# Route path -> the reads that prove it. {customer}, {session}, {event}
# are globex's ids; the identifiers are globex's customer's.
READS: dict[str, list[Read]] = {
    "/v1/customers/{key}": [
        Read("/v1/customers/{customer}", roles.CUSTOMER_READ_ROLES)
    ],
    "/v1/customers/email={value:path}": [
        Read("/v1/customers/email=bob@globex.example", roles.CUSTOMER_READ_ROLES)
    ],
    "/v1/customers/externalId={value:path}": [
        Read("/v1/customers/externalId=globex-7", roles.CUSTOMER_READ_ROLES)
    ],
    "/v1/customers/phone={value:path}": [
        Read("/v1/customers/phone=+14155550199", roles.CUSTOMER_READ_ROLES)
    ],
    "/v1/customers/{customer}/sessions": [
        Read("/v1/customers/{customer}/sessions", roles.EVENT_READ_ROLES)
    ],
    "/v1/customers/{customer}/sessions/{session}/events": [
        Read(
            "/v1/customers/{customer}/sessions/{session}/events", roles.EVENT_READ_ROLES
        ),
        Read(
            "/v1/customers/{customer}/sessions/globex-tab/events",
            roles.EVENT_READ_ROLES,
        ),
    ],
    "/v1/customers/{customer}/events": [
        Read("/v1/customers/{customer}/events", roles.EVENT_READ_ROLES, own=404)
    ],
    "/v1/customers/{customer}/events/{event}": [
        Read("/v1/customers/{customer}/events/{event}", roles.EVENT_READ_ROLES)
    ],
    "/v1/customers/{customer}/timeline": [
        Read("/v1/customers/{customer}/timeline", roles.EVENT_READ_ROLES)
    ],
    "/console/customers/{customer}": [
        Read("/console/customers/{customer}", roles.CUSTOMER_READ_ROLES, console=True)
    ],
    "/console/customers/{customer}/sessions/{session}": [
        Read(
            "/console/customers/{customer}/sessions/{session}",
            roles.EVENT_READ_ROLES,
            console=True,
        )
    ],
}
# Lists that take no ids answer the caller's own org only: what globex
# sees there of its own data, acme never sees.
LISTS = {
    "/v1/rejected": (roles.CUSTOMER_READ_ROLES, "nope"),
    "/console": (roles.EVENT_READ_ROLES, 'class="bar"'),
    "/console/customers": (roles.CUSTOMER_READ_ROLES, "bob@globex.example"),
    "/console/live": (roles.EVENT_READ_ROLES, "signed-in"),
}
# GET routes that read no org's data, with the reason.
EXEMPT = {
    "/healthz": "process health, no key",
    "/readyz": "storage health, no key",
    "/metrics": "counters without org ids, no key",
    "/openapi.json": "the document, no key",
    "/console/sign-in": "the sign-in form",
    "/console/{rest:path}": "the console's 404 page",
    "/console/static": "the console's scripts and styles",
    "/console/live/stream": (
        "the live page's event stream: it never ends in a test client; it "
        "reads with the same signed-in org as /console/live"
    ),
}
# The console's sign-in takes these; other keys see the sign-in page.
SIGN_IN = roles.EVENT_READ_ROLES


@dataclass
class Globex:
    """The other org's ids, and its admin key to prove they exist."""

    ids: dict[str, str]
    admin: str

    def fill(self, path: str) -> str:
        return path.format(**self.ids)


@pytest.fixture
def globex(api: Api) -> Globex:
    """An org beside acme with one customer, session, event and refusal."""
    org = accounts.create_org(api.database, "globex")
    tracker = accounts.create_key(api.database, org, [roles.TRACKING])
    admin = accounts.create_key(api.database, org, sorted(roles.ALL_ROLES))
    made = api.post(
        "/v1/tracking/identityEvent",
        {"identity": GLOBEX_PERSON, "event": {"name": "signed-in"}},
        key=tracker,
    )
    assert made.status_code == 201, made.text
    customer = made.json()["data"]["relationships"]["customer"]["data"]["id"]
    base = f"/v1/customers/{customer}"
    session = api.get(f"{base}/sessions", key=admin).json()["data"][0]["id"]
    event = api.get(f"{base}/timeline", key=admin).json()["data"][0]["id"]
    refused = api.post("/v1/batch", {"batch": [REFUSED]}, key=tracker)
    assert refused.json()["rejected"] == 1
    ids = {"customer": customer, "session": session, "event": event}
    return Globex(ids, admin)


@pytest.fixture
def keys(api: Api) -> dict[str, str]:
    """An acme key for each role, holding that role alone."""
    return {
        role: accounts.create_key(api.database, api.org_id, [role])
        for role in sorted(roles.ALL_ROLES)
    }


def get_routes(routes: list[BaseRoute]) -> Iterator[str]:
    for route in routes:
        gets = isinstance(route, Route) and "GET" in (route.methods or ())
        if gets or isinstance(route, Mount):
            yield route.path


def test_every_get_route_is_proven_or_exempt(api: Api) -> None:
    served = set(get_routes(api.client.app.routes))

    assert served == set(READS) | set(LISTS) | set(EXEMPT)


@pytest.mark.parametrize("route", sorted(READS))
def test_another_orgs_ids_are_404_for_readers_and_403_for_others(
    api: Api, globex: Globex, keys: dict[str, str], route: str
) -> None:
    for read in READS[route]:
        path = globex.fill(read.path)
        assert _status(api, globex.admin, path, read) == read.own

        answers = {role: _status(api, key, path, read) for role, key in keys.items()}

        assert answers == {role: _expected(role, read) for role in keys}, path


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_show_nothing_of_another_org(
    api: Api, globex: Globex, keys: dict[str, str], path: str
) -> None:
    accepted, marker = LISTS[path]
    read = Read(path, accepted, console=path.startswith("/console"))
    assert marker in _get(api, globex.admin, path, read).text

    for role, key in keys.items():
        response = _get(api, key, path, read)

        assert response.status_code == _expected_list(role, read), role
        assert marker not in response.text, role


def _expected(role: str, read: Read) -> int:
    if read.console and role not in SIGN_IN:
        return 303
    return 404 if role in read.accepted else 403


def _expected_list(role: str, read: Read) -> int:
    if read.console and role not in SIGN_IN:
        return 303
    return 200 if role in read.accepted else 403


def _status(api: Api, key: str, path: str, read: Read) -> int:
    response = _get(api, key, path, read)
    if response.status_code >= 400 and not read.console:
        [error] = response.json()["errors"]
        assert error["status"] == str(response.status_code)
    return response.status_code


def _get(api: Api, key: str, path: str, read: Read) -> Response:
    """GET `path` with `key`: as a Bearer key, or signed in to the console."""
    if not read.console:
        return api.get(path, key=key)
    console = Console(api)
    api.client.cookies.clear()
    console.sign_in(key)
    return console.get(path)
