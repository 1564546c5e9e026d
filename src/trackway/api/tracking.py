"""The three calls of Kustomer's Tracking API (SPEC 4.3).

Each handler checks the key, reads and validates the whole body, and only
then hands the validated calls to the write path, so a request that fails
stores nothing.
"""

import hashlib
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway.api import schemas
from trackway.api.auth import require
from trackway.api.body import convert, read_json
from trackway.api.render import document, encode, identity_resource
from trackway.domain.calls import combined_call, event_call, identity_call
from trackway.domain.errors import invalid
from trackway.domain.model import EventCall, IdentityCall
from trackway.domain.roles import TRACKING_ROLES
from trackway.domain.times import now_ms
from trackway.store.idempotency import IdempotencyKey, StoredResponse
from trackway.store.writer import Outcome, Render, Writer

MAX_IDEMPOTENCY_KEY = 256
# Numbers stay numbers, so {"a": 0.5} and {"a": "0.5"} differ.
_canonical = msgspec.json.Encoder(order="sorted", decimal_format="number")
JSON_TYPE = "application/json"


async def post_identity(request: Request) -> Response:
    body, key = await _read(request)
    identity = convert(body, schemas.Identity)
    call = identity_call(_plain(identity), request.app.state.policy)
    return await _write(request, call, None, _identity_answer, key)


async def post_event(request: Request) -> Response:
    body, key = await _read(request)
    event = convert(body, schemas.Event)
    call = _event_call(request, _plain(event), "")
    return await _write(request, None, call, _event_answer, key)


async def post_identity_event(request: Request) -> Response:
    body, key = await _read(request)
    both = convert(body, schemas.IdentityEventBody)
    policy = request.app.state.policy
    identity, event = combined_call(
        identity_call(_plain(both.identity), policy, "/identity"),
        _event_call(request, _plain(both.event), "/event"),
    )
    return await _write(request, identity, event, _identity_answer, key)


async def _read(request: Request) -> tuple[dict[str, Any], IdempotencyKey | None]:
    """Authenticate first, then read the body (a bomb without a key is a 401)."""
    request.state.principal = await require(request, TRACKING_ROLES)
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        detail = f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
        raise invalid(detail)
    body = await read_json(request, request.app.state.settings)
    if key is None:
        return body, None
    return body, IdempotencyKey(key, _digest(request.url.path, body))


def _event_call(request: Request, event: dict[str, Any], pointer: str) -> EventCall:
    client = request.client
    return event_call(
        event,
        request.app.state.policy,
        published_at=now_ms(),
        pointer=pointer,
        real_ip=None if client is None else client.host,
    )


async def _write(
    request: Request,
    identity: IdentityCall | None,
    event: EventCall | None,
    render: Render,
    key: IdempotencyKey | None,
) -> Response:
    writer: Writer = request.app.state.writer
    org_id = request.state.principal.org_id
    stored = await writer.track_async(org_id, identity, event, render, key)
    return Response(stored.body, stored.status, stored.headers)


def _digest(path: str, body: dict[str, Any]) -> str:
    """A digest of the endpoint and the body's meaning: key order and
    spacing don't matter, but the same body sent to another endpoint is
    another request."""
    canonical = _canonical.encode([path, body])
    return hashlib.sha256(canonical).hexdigest()


def _identity_answer(outcome: Outcome) -> StoredResponse:
    resolution = outcome.resolution
    assert resolution is not None
    resource = identity_resource(resolution.visitor, resolution.session_id)
    body = encode(document(resource))
    return StoredResponse(201, {"Content-Type": JSON_TYPE}, body)


def _event_answer(outcome: Outcome) -> StoredResponse:
    recorded = outcome.recorded
    assert recorded is not None
    headers = {
        "X-Tracking-Id": header_value(recorded.tracking_id),
        "X-Session-Id": header_value(recorded.session_id),
    }
    return StoredResponse(204, headers, b"")


def _plain(struct: msgspec.Struct) -> dict[str, Any]:
    # Decimals stay Decimals: the exact digits of the client's numbers.
    plain: dict[str, Any] = msgspec.to_builtins(struct, builtin_types=(Decimal,))
    return plain


routes: list[BaseRoute] = [
    Route("/v1/tracking/identity", post_identity, methods=["POST"]),
    Route("/v1/tracking/event", post_event, methods=["POST"]),
    Route("/v1/tracking/identityEvent", post_identity_event, methods=["POST"]),
]


# Printable ASCII passes as it is, but for `%`, which starts an escape.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_value(text: str) -> str:
    """`text` percent-encoded as UTF-8 where a header cannot carry it."""
    return quote(text, safe=_HEADER_SAFE)
