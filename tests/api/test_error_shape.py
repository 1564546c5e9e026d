"""The one error body of SPEC 3, pinned across every endpoint.

Every refusal, whichever endpoint gives it and whatever the cause, is
`{"errors": [{"status", "code", "title", "detail", "message", "meta",
"source"?}]}` with Content-Type application/json, and never carries a
traceback or the caller's key.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from harness import Api
from trackway.store import reads

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}
ENTRY_KEYS = {"status", "code", "title", "detail", "message", "meta"}
UNKNOWN_KEY = "twk_this-key-was-never-issued-0123456789"
NOBODY = "0123456789abcdef01234567"


@dataclass(frozen=True)
class Endpoint:
    """One route: how to call it well, and how to call it badly."""

    method: str
    path: str
    # A body the endpoint accepts (tracking calls only).
    body: Any = None
    # The request that fails validation: a body for POST, a path for GET.
    bad_body: Any = None
    bad_pointer: str | None = None
    bad_path: str | None = None
    # A method the path does not allow.
    wrong_method: str = "PATCH"
    # The org's key that lacks this endpoint's role.
    outsider: str = "tracking"

    @property
    def is_tracking(self) -> bool:
        return self.method == "POST"


@dataclass(frozen=True)
class Ids:
    """Real ids of one customer, so a refusal is never a lucky 404."""

    customer: str
    session: str
    event: str

    def fill(self, path: str) -> str:
        return path.format(cid=self.customer, sid=self.session, eid=self.event)


EVENT = {"name": "page-viewed"}
ENDPOINTS = {
    "identity": Endpoint(
        "POST",
        "/v1/tracking/identity",
        body={"email": "jane@example.com"},
        bad_body={"email": "undefined"},
        bad_pointer="/email",
        wrong_method="GET",
        outsider="read",
    ),
    "event": Endpoint(
        "POST",
        "/v1/tracking/event",
        body=EVENT,
        bad_body={"name": "page viewed"},
        bad_pointer="/name",
        wrong_method="GET",
        outsider="read",
    ),
    "identityEvent": Endpoint(
        "POST",
        "/v1/tracking/identityEvent",
        body={"identity": {"email": "jane@example.com"}, "event": EVENT},
        bad_body={"identity": {}, "event": {"name": "page viewed"}},
        bad_pointer="/event/name",
        wrong_method="PUT",
        outsider="read",
    ),
    "customer": Endpoint(
        "GET",
        "/v1/customers/{cid}",
        bad_path="/v1/customers/nickname=jane",
        wrong_method="POST",
    ),
    "lookup by email": Endpoint(
        "GET",
        "/v1/customers/email=jane@example.com",
        bad_path="/v1/customers/email=not-an-address",
        # DELETE would reach erasure, whose path also matches.
        wrong_method="POST",
    ),
    "lookup by externalId": Endpoint(
        "GET",
        "/v1/customers/externalId=crm-42",
        bad_path="/v1/customers/externalId=undefined",
        wrong_method="POST",
    ),
    "lookup by phone": Endpoint(
        "GET",
        "/v1/customers/phone=%2B14155550100",
        bad_path="/v1/customers/phone=not-a-number",
        wrong_method="PUT",
    ),
    "sessions": Endpoint(
        "GET",
        "/v1/customers/{cid}/sessions",
        bad_path="/v1/customers/{cid}/sessions?pageSize=0",
        wrong_method="POST",
    ),
    "session events": Endpoint(
        "GET",
        "/v1/customers/{cid}/sessions/{sid}/events",
        bad_path="/v1/customers/{cid}/sessions/{sid}/events?page=0",
        wrong_method="DELETE",
    ),
    "event by id": Endpoint(
        "GET",
        "/v1/customers/{cid}/events/{eid}",
        wrong_method="DELETE",
    ),
    "retired events": Endpoint(
        "GET",
        "/v1/customers/{cid}/events",
        wrong_method="POST",
    ),
    "timeline": Endpoint(
        "GET",
        "/v1/customers/{cid}/timeline",
        bad_path="/v1/customers/{cid}/timeline?cursor=not-a-cursor",
        wrong_method="POST",
    ),
    "erasure": Endpoint(
        "DELETE",
        "/v1/customers/{cid}",
        wrong_method="PUT",
        outsider="read",
    ),
}

# (response, the key the request carried) for one kind of failure.
Failure = Callable[[Api, Endpoint, Ids], tuple[Response, str | None]]


def send(
    api: Api,
    endpoint: Endpoint,
    ids: Ids,
    *,
    key: str | None,
    method: str | None = None,
    path: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Call `endpoint` (or `path`) with `key` as the bearer (None: no key)."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    if body is None and endpoint.is_tracking:
        body = endpoint.body
    return api.client.request(
        method or endpoint.method,
        ids.fill(path or endpoint.path),
        json=body,
        headers=sent,
    )


def bad_request(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    if endpoint.is_tracking:
        response = send(api, endpoint, ids, key=api.admin_key, body=endpoint.bad_body)
    else:
        response = send(api, endpoint, ids, key=api.admin_key, path=endpoint.bad_path)
    return response, api.admin_key


def missing_key(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, None]:
    return send(api, endpoint, ids, key=None), None


def unknown_key(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    return send(api, endpoint, ids, key=UNKNOWN_KEY), UNKNOWN_KEY


def wrong_role(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    key = api.read_key if endpoint.outsider == "read" else api.tracking_key
    return send(api, endpoint, ids, key=key), key


def not_found(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    stranger = Ids(NOBODY, ids.session, ids.event)
    path = endpoint.path.replace("jane@example.com", "nobody@example.com")
    path = path.replace("crm-42", "crm-nobody").replace("0100", "0199")
    response = send(api, endpoint, stranger, key=api.admin_key, path=path)
    return response, api.admin_key


def wrong_method(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    method = endpoint.wrong_method
    response = send(api, endpoint, ids, key=api.admin_key, method=method)
    return response, api.admin_key


def conflict(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    headers = {"Idempotency-Key": "order-1"}
    first = send(api, endpoint, ids, key=api.admin_key, headers=headers)
    assert first.status_code < 300
    changed = {**endpoint.body, "trackingId": "someone-else"}
    if "identity" in changed:
        changed = {"identity": {"trackingId": "someone-else"}, "event": EVENT}
    response = send(
        api, endpoint, ids, key=api.admin_key, body=changed, headers=headers
    )
    return response, api.admin_key


def too_large(api: Api, endpoint: Endpoint, ids: Ids) -> tuple[Response, str]:
    padding = "x" * (api.settings.max_body_bytes + 1)
    body = {**EVENT, "meta": {"paddingTxt": padding}}
    response = send(api, endpoint, ids, key=api.admin_key, body=body)
    return response, api.admin_key


def unsupported_media_type(
    api: Api, endpoint: Endpoint, ids: Ids
) -> tuple[Response, str]:
    response = api.client.post(
        endpoint.path,
        content=b"<identity><email>jane@example.com</email></identity>",
        headers={**api.headers(), "Content-Type": "application/xml"},
    )
    return response, api.admin_key


FAILURES: dict[str, tuple[int, Failure]] = {
    "bad request": (400, bad_request),
    "missing key": (401, missing_key),
    "unknown key": (401, unknown_key),
    "wrong role": (403, wrong_role),
    "not found": (404, not_found),
    "wrong method": (405, wrong_method),
    "idempotency conflict": (409, conflict),
    "too large": (413, too_large),
    "unsupported media type": (415, unsupported_media_type),
}
EVERYWHERE = ("missing key", "unknown key", "wrong role", "wrong method")
TRACKING_ONLY = (
    "bad request",
    "idempotency conflict",
    "too large",
    "unsupported media type",
)


def failures_of(endpoint: Endpoint) -> list[str]:
    """The failures `endpoint` can give."""
    found = list(EVERYWHERE)
    if endpoint.is_tracking:
        found += TRACKING_ONLY
    else:
        found.append("not found")
    if endpoint.bad_path is not None:
        found.append("bad request")
    return found


CASES = [
    pytest.param(name, failure, id=f"{name}: {failure}")
    for name, endpoint in ENDPOINTS.items()
    for failure in failures_of(endpoint)
]


def assert_canonical(response: Response, status: int, key: str | None) -> None:
    """`response` is the canonical error body for `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"]
    assert len(body["errors"]) >= 1
    for entry in body["errors"]:
        assert set(entry) - {"source"} == ENTRY_KEYS
        assert entry["status"] == str(status)
        assert entry["code"] == CODES[status]
        assert entry["title"] == TITLES[status]
        assert isinstance(entry["detail"], str)
        assert entry["detail"]
        assert entry["message"] == entry["detail"]
        assert entry["meta"] == {}
        if "source" in entry:
            assert list(entry["source"]) == ["pointer"]
            assert isinstance(entry["source"]["pointer"], str)
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    if key is not None:
        assert key not in response.text


@pytest.fixture
def ids(api: Api) -> Ids:
    """A customer with an email, an externalId, a phone and one event."""
    identity = {
        "email": "jane@example.com",
        "externalId": "crm-42",
        "phone": "+14155550100",
    }
    answer = api.post(
        "/v1/tracking/identityEvent",
        {"identity": identity, "event": EVENT},
        key=api.tracking_key,
    )
    assert answer.status_code == 201
    customer = answer.json()["data"]["relationships"]["customer"]["data"]["id"]
    sessions = api.get(f"/v1/customers/{customer}/sessions").json()["data"]
    timeline = api.get(f"/v1/customers/{customer}/timeline").json()["data"]
    return Ids(customer, sessions[0]["id"], timeline[0]["id"])


@pytest.mark.parametrize(("endpoint", "failure"), CASES)
def test_every_refusal_has_the_canonical_body(
    api: Api, ids: Ids, endpoint: str, failure: str
) -> None:
    status, fail = FAILURES[failure]

    response, key = fail(api, ENDPOINTS[endpoint], ids)

    assert_canonical(response, status, key)


@pytest.mark.parametrize(
    "endpoint", [name for name, e in ENDPOINTS.items() if e.is_tracking]
)
def test_a_bad_tracking_body_points_at_the_field(
    api: Api, ids: Ids, endpoint: str
) -> None:
    route = ENDPOINTS[endpoint]

    response, _ = bad_request(api, route, ids)

    [entry] = response.json()["errors"]
    assert entry["source"] == {"pointer": route.bad_pointer}


def test_a_body_with_several_problems_lists_each_one(api: Api) -> None:
    body = {
        "identity": {"email": "undefined", "birthdayAt": "2023-02-30"},
        "event": {"name": "page-viewed"},
    }

    response = api.post("/v1/tracking/identityEvent", body)

    assert_canonical(response, 400, api.admin_key)
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/identity/email", "/identity/birthdayAt"}


def test_the_retired_events_list_is_404_for_a_real_customer(api: Api, ids: Ids) -> None:
    response = api.get(f"/v1/customers/{ids.customer}/events")

    assert_canonical(response, 404, api.admin_key)
    assert "timeline" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize(
    "path", ["/v1/nothing-here", "/v2/tracking/event", "/v1/customers"]
)
def test_an_unknown_path_is_404(api: Api, path: str) -> None:
    response = api.get(path)

    assert_canonical(response, 404, api.admin_key)


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", f"Token {UNKNOWN_KEY}"],
)
def test_a_malformed_authorization_header_is_401(api: Api, authorization: str) -> None:
    response = api.client.post(
        "/v1/tracking/event", json=EVENT, headers={"Authorization": authorization}
    )

    assert_canonical(response, 401, UNKNOWN_KEY)


def test_an_unexpected_failure_is_a_generic_500(
    api: Api, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "the disk at /srv/secret-mount is on fire"

    def broken(*_args: object) -> None:
        raise RuntimeError(secret)

    monkeypatch.setattr(reads, "customer", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)

    response = client.get(f"/v1/customers/{ids.customer}", headers=api.headers())

    assert_canonical(response, 500, api.admin_key)
    assert secret not in response.text
    assert "RuntimeError" not in response.text
