"""Authentication: 401 for a key that is not valid, 403 for a missing role.

Tested through a tiny app whose endpoints call `require`, with the server's
own exception handlers, so the answers are the ones clients get.
"""

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from trackway.api.auth import require
from trackway.api.errors import exception_handlers
from trackway.api.ratelimit import RateLimiter
from trackway.domain import roles
from trackway.domain.errors import Forbidden
from trackway.domain.times import now_ms
from trackway.store.accounts import create_key, create_org, revoke_key
from trackway.store.database import Database

GROUPS = {
    "tracking": roles.TRACKING_ROLES,
    "customer": roles.CUSTOMER_READ_ROLES,
    "events": roles.EVENT_READ_ROLES,
    "delete": roles.DELETE_ROLES,
}
REFUSED = "the API key is unknown, revoked or expired"


def endpoint(accepted: frozenset[str]) -> Route:
    async def answer(request: Request) -> JSONResponse:
        principal = await require(request, accepted)
        seen = {"org": principal.org_id, "key": principal.key_id}
        return JSONResponse({**seen, "logged_org": request.state.org_id})

    return Route(f"/{name_of(accepted)}", answer, methods=["GET"])


async def refused_org(request: Request) -> JSONResponse:
    """The org the request log would name after a 403."""
    try:
        await require(request, frozenset())
    except Forbidden:
        return JSONResponse({"logged_org": request.state.org_id})
    return JSONResponse({}, status_code=500)


def name_of(accepted: frozenset[str]) -> str:
    return next(name for name, group in GROUPS.items() if group == accepted)


@pytest.fixture
def db(database: Database) -> Database:
    return database


@pytest.fixture
def org_id(db: Database) -> str:
    return create_org(db, "acme")


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    app = Starlette(
        routes=[
            *[endpoint(group) for group in GROUPS.values()],
            Route("/refused", refused_org, methods=["GET"]),
        ],
        exception_handlers=exception_handlers,
    )
    app.state.database = db
    app.state.rate_limiter = RateLimiter(0)
    with TestClient(app) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_tracking_key_is_let_in_as_its_org_and_key(
    client: TestClient, db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING])

    response = client.get("/tracking", headers=bearer(key))

    assert response.status_code == 200
    assert response.json() == {
        "org": org_id,
        "key": key[3:27],
        "logged_org": org_id,
    }


def test_scheme_is_read_in_any_case(
    client: TestClient, db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING])

    response = client.get("/tracking", headers={"Authorization": f"bEARER {key}"})

    assert response.status_code == 200


def test_missing_key_is_401_in_the_canonical_shape(client: TestClient) -> None:
    response = client.get("/tracking")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    detail = "send the API key as 'Authorization: Bearer <key>'"
    assert response.json() == {
        "errors": [
            {
                "status": "401",
                "code": "unauthorized",
                "title": "Unauthorized",
                "detail": detail,
                "message": detail,
                "meta": {},
            }
        ]
    }


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "tw_abc", "Token x"]
)
def test_header_that_is_not_bearer_with_a_key_is_401(
    client: TestClient, header: str
) -> None:
    response = client.get("/tracking", headers={"Authorization": header})

    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["detail"] == "the Authorization header must read 'Bearer <key>'"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("token", ["not-a-key", "tw_" + "0" * 24 + "_" + "x" * 43])
def test_malformed_or_unknown_key_is_401(client: TestClient, token: str) -> None:
    response = client.get("/tracking", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == REFUSED
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_revoked_key_is_401(client: TestClient, db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.TRACKING])
    revoke_key(db, key[3:27])

    response = client.get("/tracking", headers=bearer(key))

    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == REFUSED


def test_expired_key_is_401(client: TestClient, db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.TRACKING], expires_at=now_ms() - 1)

    response = client.get("/tracking", headers=bearer(key))

    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == REFUSED


@pytest.mark.parametrize("endpoint_name", ["customer", "events", "delete"])
def test_tracking_only_key_reads_and_deletes_nothing(
    client: TestClient, db: Database, org_id: str, endpoint_name: str
) -> None:
    """The key a browser page holds can only write."""
    key = create_key(db, org_id, [roles.TRACKING])

    response = client.get(f"/{endpoint_name}", headers=bearer(key))

    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert (error["status"], error["code"]) == ("403", "forbidden")
    accepted = ", ".join(sorted(GROUPS[endpoint_name]))
    assert error["detail"] == f"this key needs one of the roles: {accepted}"


def test_org_is_known_to_the_log_even_when_the_role_is_missing(
    client: TestClient, db: Database, org_id: str
) -> None:
    key = create_key(db, org_id, [roles.TRACKING])

    response = client.get("/refused", headers=bearer(key))

    assert response.json() == {"logged_org": org_id}


def test_reader_key_cannot_track(client: TestClient, db: Database, org_id: str) -> None:
    key = create_key(db, org_id, [roles.CUSTOMER_READ])

    response = client.get("/tracking", headers=bearer(key))

    assert response.status_code == 403


@pytest.mark.parametrize("endpoint_name", list(GROUPS))
def test_admin_key_is_let_in_everywhere(
    client: TestClient, db: Database, org_id: str, endpoint_name: str
) -> None:
    key = create_key(db, org_id, [roles.ADMIN])

    response = client.get(f"/{endpoint_name}", headers=bearer(key))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.CUSTOMER_READ, {"customer", "events"}),
        (roles.LEGACY_CUSTOMER_READ, {"customer", "events"}),
        (roles.EVENT_READ, {"events"}),
        (roles.LEGACY_EVENT_READ, {"events"}),
        (roles.CUSTOMER_DELETE, {"delete"}),
    ],
)
def test_each_role_opens_exactly_its_endpoints(
    client: TestClient, db: Database, org_id: str, role: str, allowed: set[str]
) -> None:
    key = create_key(db, org_id, [role])

    statuses = {}
    for name in GROUPS:
        response = client.get(f"/{name}", headers=bearer(key))
        statuses[name] = response.status_code

    expected = {name: 200 if name in allowed else 403 for name in GROUPS}
    assert statuses == expected
