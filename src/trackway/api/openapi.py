"""The OpenAPI 3.1 document of every endpoint, built from the Structs in
`trackway.api.schemas`, so what it describes is what the server checks.

Endpoints are data: `OPERATIONS` holds one `Operation` per method and path,
and `openapi_document()` turns them into the document.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from trackway import __version__
from trackway.api import schemas, segment_schemas
from trackway.domain import roles

JSON_TYPE = "application/json"
_REF = "#/components/schemas/{name}"
_TEMPLATE = re.compile(r"\{(\w+)\}")

# Error statuses a family of endpoints can answer with.
_WRITE_ERRORS = (400, 401, 403, 408, 409, 413, 415, 429, 503)
_READ_ERRORS = (400, 401, 403, 404, 429, 503)
_DELETE_ERRORS = (401, 403, 404, 429, 503)
# The key is still checked before the 404 that says where to go instead.
_RETIRED_ERRORS = (401, 403, 429, 503)

_ERRORS = {
    400: ("BadRequest", "Invalid request; `source.pointer` names the field."),
    401: ("Unauthorized", "The key is missing, malformed, unknown or revoked."),
    403: ("Forbidden", "The key does not hold a role this endpoint accepts."),
    404: ("NotFound", "Nothing with this id in the key's org."),
    408: ("RequestTimeout", "The body did not arrive in time; the connection closes."),
    409: (
        "Conflict",
        "The Idempotency-Key, or a Segment messageId, was used with a different body.",
    ),
    413: ("PayloadTooLarge", "The body (inflated) is larger than the limit."),
    415: ("UnsupportedMediaType", "Content-Type or Content-Encoding refused."),
    429: ("RateLimited", "The org, or a key with its own limit, used up this minute."),
    503: ("Unavailable", "Storage does not answer; retry after a pause."),
}
_ERROR_HEADERS = {
    429: (
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ),
    503: ("Retry-After",),
}
_HEADERS = {
    "Retry-After": "Seconds to wait before trying again.",
    "X-RateLimit-Limit": "Requests a minute for the org, or for the key alone.",
    "X-RateLimit-Remaining": "Requests left in the current minute.",
    "X-RateLimit-Reset": "When the minute ends, in epoch seconds.",
    "X-Tracking-Id": "The visitor the event was recorded for.",
    "X-Session-Id": "The session the event was recorded in.",
}
_PATH_PARAMETERS = {
    "id": "A customer id (24 hex characters).",
    "cid": "A customer id (24 hex characters).",
    "email": "An email address; matched trimmed and case-folded.",
    "externalId": "The customer's externalId, exactly.",
    "phone": "A phone number; matched as E.164.",
    "sessionId": "The id of a customer_session resource.",
    "eventId": "The id of a customer_event resource.",
}
_SEGMENT_SUMMARIES = {
    "identify": "Segment identify: who the visitor is",
    "track": "Segment track: an event",
    "page": "Segment page: records Web-Page-Viewed",
    "screen": "Segment screen: records Screen-Viewed",
    "group": "Segment group: the person's company",
    "alias": "Segment alias: bind previousId to userId's customer",
}


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    description: str
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One endpoint. `roles` None means no key is needed; `response` None
    means the success status has no body."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    status: int
    response: type[Any] | None = None
    body: type[Any] | None = None
    roles: frozenset[str] | None = None
    errors: tuple[int, ...] = ()
    query: tuple[Query, ...] = ()
    beacon: bool = False
    idempotent: bool = False
    headers: tuple[str, ...] = ()
    media: str = JSON_TYPE
    deprecated: bool = False
    # A Segment write key: HTTP Basic user, Bearer, or writeKey in the body.
    write_key: bool = False


_PAGES = (
    Query("page", "Page number, from 1.", 1),
    Query("pageSize", "Entries per page, 1 to 100 (default 100).", 1, 100),
)
_CURSOR = (
    Query("cursor", "Taken from the previous page's links.next."),
    Query("limit", "Entries per page, 1 to 100 (default 50).", 1, 100),
)


def _write(
    path: str,
    operation_id: str,
    summary: str,
    body: type[Any],
    status: int,
    response: type[Any] | None = None,
    headers: tuple[str, ...] = (),
) -> Operation:
    """A tracking call: any key with org.tracking; JSON or sendBeacon."""
    return Operation(
        "post", path, operation_id, summary, "tracking", status,
        response=response, body=body, roles=roles.TRACKING_ROLES,
        errors=_WRITE_ERRORS, beacon=True, idempotent=True, headers=headers,
    )  # fmt: skip


def _read(
    path: str,
    operation_id: str,
    summary: str,
    response: type[Any],
    accepted: frozenset[str] = roles.CUSTOMER_READ_ROLES,
    query: tuple[Query, ...] = (),
) -> Operation:
    return Operation(
        "get", path, operation_id, summary, "customers", 200,
        response=response, roles=accepted, errors=_READ_ERRORS, query=query,
    )  # fmt: skip


def _probe(
    path: str,
    operation_id: str,
    summary: str,
    response: type[Any] | None,
    errors: tuple[int, ...] = (),
    media: str = JSON_TYPE,
) -> Operation:
    """An operations endpoint: no key needed."""
    return Operation(
        "get", path, operation_id, summary, "operations", 200,
        response=response, errors=errors, media=media,
    )  # fmt: skip


def _segment(path: str, operation_id: str, summary: str, body: type[Any]) -> Operation:
    """A Segment call: 200 {"success": true}, any key with org.tracking."""
    return Operation(
        "post", path, operation_id, summary, "segment", 200,
        response=segment_schemas.SegmentAnswer, body=body,
        roles=roles.TRACKING_ROLES, errors=_WRITE_ERRORS, beacon=True,
        write_key=True,
    )  # fmt: skip


_EVENT_READERS = roles.EVENT_READ_ROLES

OPERATIONS: tuple[Operation, ...] = (
    _write(
        "/v1/tracking/identity", "trackIdentity", "Identify a visitor",
        schemas.Identity, 201, schemas.IdentityDocument,
    ),
    _write(
        "/v1/tracking/event", "trackEvent", "Record an event",
        schemas.Event, 204, headers=("X-Tracking-Id", "X-Session-Id"),
    ),
    _write(
        "/v1/tracking/identityEvent", "trackIdentityEvent",
        "Identify a visitor and record an event, both or neither",
        schemas.IdentityEventBody, 201, schemas.IdentityDocument,
    ),
    _read(
        "/v1/customers/{id}", "getCustomer", "A customer",
        schemas.CustomerDocument,
    ),
    _read(
        "/v1/customers/email={email}", "getCustomerByEmail",
        "The customer with this email", schemas.CustomerDocument,
    ),
    _read(
        "/v1/customers/externalId={externalId}", "getCustomerByExternalId",
        "The customer with this externalId", schemas.CustomerDocument,
    ),
    _read(
        "/v1/customers/phone={phone}", "getCustomerByPhone",
        "The customer with this phone", schemas.CustomerDocument,
    ),
    Operation(
        "delete", "/v1/customers/{id}", "eraseCustomer",
        "Erase a customer and everything recorded about it", "customers",
        204, roles=roles.DELETE_ROLES, errors=_DELETE_ERRORS,
    ),
    _read(
        "/v1/customers/{id}/sessions", "listCustomerSessions",
        "The customer's sessions, latest lastEventAt first",
        schemas.CustomerSessionList, _EVENT_READERS, _PAGES,
    ),
    _read(
        "/v1/customers/{cid}/sessions/{sessionId}/events",
        "listSessionEvents", "A session's tracking events, newest first",
        schemas.CustomerEventList, _EVENT_READERS, _PAGES,
    ),
    _read(
        "/v1/customers/{cid}/events/{eventId}", "getCustomerEvent",
        "One tracking event or change record",
        schemas.CustomerEventDocument, _EVENT_READERS,
    ),
    Operation(
        "get", "/v1/customers/{id}/events", "listCustomerEvents",
        "Retired by Kustomer: always 404; read the timeline instead",
        "customers", 404, roles=_EVENT_READERS, deprecated=True,
        errors=_RETIRED_ERRORS,
    ),
    _read(
        "/v1/customers/{id}/timeline", "getCustomerTimeline",
        "Every event and change record of the customer, newest first",
        schemas.Timeline, _EVENT_READERS, _CURSOR,
    ),
    *(
        _segment(
            f"/v1/{kind}", f"segment{kind.title()}", summary,
            segment_schemas.SegmentMessage,
        )
        for kind, summary in _SEGMENT_SUMMARIES.items()
    ),
    _segment(
        "/v1/batch", "segmentBatch",
        "Segment batch: each message stored or rejected on its own",
        segment_schemas.SegmentBatch,
    ),
    _read(
        "/v1/rejected", "listRejectedMessages",
        "Refused Segment messages of the last 7 days, newest first",
        segment_schemas.RejectedList, roles.CUSTOMER_READ_ROLES, _PAGES,
    ),
    _probe("/healthz", "health", "The process is alive", schemas.Status),
    _probe(
        "/readyz", "ready", "Storage answers", schemas.Status, errors=(503,)
    ),
    _probe(
        "/metrics", "metrics", "Prometheus metrics of this process", None,
        media="text/plain",
    ),
    _probe("/openapi.json", "openapi", "This document", dict),
)  # fmt: skip


def openapi_document(
    operations: Iterable[Operation] = OPERATIONS,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`, as plain JSON values."""
    operations = tuple(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = paths.setdefault(operation.path, {})
        item[operation.method] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": _info(),
        "tags": [
            {"name": t} for t in ("tracking", "segment", "customers", "operations")
        ],
        "paths": paths,
        "components": {
            "schemas": _schema_components(operations),
            "responses": _error_responses(),
            "headers": {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in _HEADERS.items()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key of the org.",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Segment style: the key is the user, "
                    "the password is empty.",
                },
            },
        },
    }


def _info() -> dict[str, Any]:
    return {
        "title": "Trackway",
        "version": __version__,
        "summary": "Self-hosted customer tracking with Kustomer's Tracking API.",
        "description": (
            "Errors share one body (ErrorBody). Every response carries "
            "X-Request-Id. Times are ISO-8601 UTC with milliseconds."
        ),
    }


def _schema_components(operations: tuple[Operation, ...]) -> dict[str, Any]:
    types = {schemas.ErrorBody}
    for operation in operations:
        types.update(t for t in (operation.body, operation.response) if t)
    structs = sorted(
        (t for t in types if issubclass(t, msgspec.Struct)),
        key=lambda t: t.__name__,
    )
    _, components = msgspec.json.schema_components(structs, ref_template=_REF)
    return components


def _schema(kind: type[Any]) -> dict[str, Any]:
    if issubclass(kind, msgspec.Struct):
        return _ref("schemas", kind.__name__)
    return msgspec.json.schema(kind)


def _ref(section: str, name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/{section}/{name}"}


def _operation(operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "responses": _responses(operation),
    }
    parameters = _parameters(operation)
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = _request_body(operation, operation.body)
    if operation.roles is None:
        described["security"] = []
    else:
        described["security"] = [{"bearer": []}]
        accepted = ", ".join(sorted(operation.roles))
        described["description"] = f"Roles (any one of): {accepted}."
    if operation.write_key:
        # Security alternatives cannot say "or in the body": writeKey is.
        described["security"] = [{"basic": []}, {"bearer": []}, {}]
        described["description"] += " The key may also be sent as writeKey."
    if operation.deprecated:
        described["deprecated"] = True
    return described


def _request_body(operation: Operation, body: type[Any]) -> dict[str, Any]:
    media = [JSON_TYPE, "text/plain"] if operation.beacon else [JSON_TYPE]
    return {
        "required": True,
        "description": "JSON; may be sent with Content-Encoding: gzip.",
        "content": {m: {"schema": _schema(body)} for m in media},
    }


def _responses(operation: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": operation.summary}
    if operation.response is not None:
        schema = _schema(operation.response)
        success["content"] = {operation.media: {"schema": schema}}
    elif operation.media != JSON_TYPE:
        success["content"] = {operation.media: {"schema": {"type": "string"}}}
    if operation.status == 404:
        success["content"] = {JSON_TYPE: {"schema": _schema(schemas.ErrorBody)}}
    if operation.headers:
        success["headers"] = {h: _ref("headers", h) for h in operation.headers}
    responses = {str(operation.status): success}
    # Any path may answer 400: a NUL in a URL is refused before routing.
    for status in sorted({*operation.errors, 400}):
        responses[str(status)] = _ref("responses", _ERRORS[status][0])
    return responses


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _PATH_PARAMETERS[name],
            "schema": {"type": "string"},
        }
        for name in _TEMPLATE.findall(operation.path)
    ]
    parameters += [_query(q) for q in operation.query]
    if operation.idempotent:
        parameters.append(_idempotency_key())
    return parameters


def _query(query: Query) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if query.minimum is not None:
        schema = {"type": "integer", "minimum": query.minimum}
    if query.maximum is not None:
        schema["maximum"] = query.maximum
    return {
        "name": query.name,
        "in": "query",
        "required": False,
        "description": query.description,
        "schema": schema,
    }


def _idempotency_key() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": (
            "A repeat with the same key and body within 24 hours stores "
            "nothing and gets the first answer; another body is 409."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": 256},
    }


def _error_responses() -> dict[str, Any]:
    responses = {}
    for status, (name, description) in _ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {JSON_TYPE: {"schema": _schema(schemas.ErrorBody)}},
        }
        headers = _ERROR_HEADERS.get(status, ())
        if headers:
            response["headers"] = {h: _ref("headers", h) for h in headers}
        responses[name] = response
    return responses
