"""The OpenAPI document: valid 3.1, complete, and true to what the server
checks and sends."""

import json
import re
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Match, Route

from trackway.api import (
    customers,
    ops,
    rejected,
    render,
    schemas,
    segment,
    tracking,
)
from trackway.api.errors import error_response
from trackway.api.openapi import OPERATIONS, Operation, openapi_document
from trackway.domain.errors import invalid
from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)

ORG = "0123456789abcdef01234567"
CUSTOMER = "0123456789abcdef0123aaaa"
T0 = 1_796_292_000_000
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

SERVED: list[BaseRoute] = [
    *ops.routes,
    *tracking.routes,
    *customers.routes,
    *segment.routes,
    *rejected.routes,
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for step in ref.removeprefix("#/").split("/"):
        node = node[step]
    return node


def conforms(document: dict[str, Any], name: str, instance: Any) -> bool:
    """True when `instance` fits components.schemas[name]."""
    schema = {"$ref": f"#/components/schemas/{name}", **document}
    return bool(OAS31Validator(schema).is_valid(instance))


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)

    assert document["openapi"] == "3.1.0"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    found = list(refs(document))

    for ref in found:
        assert ref.startswith("#/components/")
        assert resolve(document, ref) is not None
    assert len(found) > 50


def test_every_operation_has_responses_and_a_unique_id(
    document: dict[str, Any],
) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]

    assert len(OPERATIONS) == len(ids) == len(set(ids))
    for _, _, op in operations(document):
        assert op["responses"]


def test_every_served_route_is_documented(document: dict[str, Any]) -> None:
    documented = [
        (method.upper(), _pattern(path)) for path, method, _ in operations(document)
    ]

    for route in SERVED:
        assert isinstance(route, Route)
        sample = re.sub(r"\{[^}]+\}", "x", route.path_format)
        for method in (route.methods or set()) - {"HEAD"}:
            assert any(m == method and p.fullmatch(sample) for m, p in documented), (
                f"{method} {route.path} is not in the OpenAPI document"
            )


def test_every_documented_operation_is_served(document: dict[str, Any]) -> None:
    for path, method, _ in operations(document):
        sample = re.sub(r"\{[^}]+\}", "x", path)
        scope = {"type": "http", "path": sample, "method": method.upper()}

        matches = [route.matches(scope)[0] for route in SERVED]

        assert Match.FULL in matches, f"{method} {path} has no route"


def test_tracking_bodies_are_the_structs_that_validate_them(
    document: dict[str, Any],
) -> None:
    _, components = msgspec.json.schema_components(
        [schemas.IdentityEventBody],
        ref_template="#/components/schemas/{name}",
    )

    for name in ("IdentityEventBody", "Identity", "Event", "Location"):
        assert components[name] == document["components"]["schemas"][name]
    body = document["paths"]["/v1/tracking/identityEvent"]["post"]["requestBody"]
    assert {"application/json", "text/plain"} == set(body["content"])


def test_request_structs_refuse_unknown_keys_in_the_document(
    document: dict[str, Any],
) -> None:
    for name in ("IdentityEventBody", "Identity", "Event", "Location"):
        schema = document["components"]["schemas"][name]

        assert schema["additionalProperties"] is False


@pytest.mark.parametrize("status", ["400", "401", "403", "409", "413", "415"])
def test_write_errors_are_documented_with_the_error_body(
    document: dict[str, Any], status: str
) -> None:
    for path in ("identity", "event", "identityEvent"):
        operation = document["paths"][f"/v1/tracking/{path}"]["post"]

        response = resolve(document, operation["responses"][status]["$ref"])

        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def test_read_endpoints_document_404(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/customers/{id}"]["get"]

    assert "404" in operation["responses"]
    assert operation["security"] == [{"bearer": []}]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.operation_id)
def test_every_keyed_operation_documents_the_key_refusals(
    document: dict[str, Any], operation: Operation
) -> None:
    """The key is checked before anything else, the retired event list
    included, so 401 and 403 can come from any endpoint that needs one."""
    described = document["paths"][operation.path][operation.method]

    if operation.roles is not None:
        assert {"401", "403"} <= set(described["responses"])


def test_probes_need_no_key(document: dict[str, Any]) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert document["paths"][path]["get"]["security"] == []


def test_error_responses_fit_the_documented_error_body(
    document: dict[str, Any],
) -> None:
    with_pointer = json.loads(bytes(error_response(invalid("bad", "/event/name")).body))
    without = json.loads(bytes(error_response(invalid("bad")).body))

    assert conforms(document, "ErrorBody", with_pointer)
    assert conforms(document, "ErrorBody", without)


def test_rendered_identity_fits_the_documented_shape(
    document: dict[str, Any],
) -> None:
    visitor = Visitor(
        org_id=ORG,
        tracking_id="t-1",
        identity_id="0123456789abcdef0123bbbb",
        created_at=T0,
        updated_at=T0,
        customer_id=CUSTOMER,
        email="jane@example.com",
        status="created",
        status_at=T0,
    )

    rendered = render.document(render.identity_resource(visitor, "s-1"))

    assert conforms(document, "IdentityDocument", rendered)


def test_rendered_customer_fits_the_documented_shape(
    document: dict[str, Any],
) -> None:
    profile = {
        "name": "Jane Roe",
        "emails": [{"type": "home", "email": "jane@example.com", "verified": False}],
        "locations": [{"type": "home", "cityName": "Lisbon"}],
        "tags": ["vip"],
        "custom": {"planStr": "gold"},
        "birthdayAt": "1990-05-17",
    }
    customer = Customer(ORG, CUSTOMER, 2, profile, T0, T0, T0, T0)

    rendered = render.document(render.customer_resource(customer))

    assert conforms(document, "CustomerDocument", rendered)


def test_rendered_sessions_and_events_fit_the_documented_lists(
    document: dict[str, Any],
) -> None:
    session = Session(ORG, "t-1", "s-1", "0123456789abcdef0123cccc", None, T0, T0, 1)
    event = TrackingEvent(
        ORG, "0123456789abcdef0123dddd", CUSTOMER, "t-1", "s-1", "viewed",
        {"pageUrl": "/"}, T0, T0, "203.0.113.9",
    )  # fmt: skip
    change = ChangeRecord(
        ORG, "0123456789abcdef0123eeee", CUSTOMER, "update",
        {"attributes": {"name": {"op": "add", "before": None, "after": "J"}}},
        T0, T0,
    )  # fmt: skip
    links = {"self": "/a?page=1", "first": "/a?page=1", "prev": None, "next": None}
    cursor = {"self": "/t", "first": "/t", "next": None}

    sessions = render.list_document([render.session_resource(session)], links)
    events = [render.event_resource(event), render.event_resource(change)]

    assert conforms(document, "CustomerSessionList", sessions)
    assert conforms(document, "CustomerEventList", render.list_document(events, links))
    assert conforms(document, "Timeline", render.list_document(events, cursor))
    assert conforms(document, "CustomerEventDocument", render.document(events[1]))


def test_a_wrong_shape_does_not_fit(document: dict[str, Any]) -> None:
    """Guards the checks above: a schema that accepted anything would pass."""
    wrong = {"errors": [{"status": 400}]}

    assert not conforms(document, "ErrorBody", wrong)


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))
