"""The Segment HTTP API (SPEC 8): a second door onto the same customers.

`POST /v1/identify`, `/track`, `/page`, `/screen`, `/group`, `/alias` take
one message; `POST /v1/batch` takes many. The write key is any key with
`org.tracking`, sent as the HTTP Basic user (the password is ignored), as a
Bearer token, or as `writeKey` in the body. A key in a header is checked
before the body is read; a key in the body only after reading it, within
the Segment size limits (32 KB a message, 500 KB a batch; 413 beyond).

Answers are 200 `{"success": true}`; a batch adds `accepted` and
`rejected`. Each message of a batch stands alone: refused messages are kept
with their reason (`GET /v1/rejected`) and the others are stored. A single
call whose message is refused is also kept, and answers 400 (409 for a
reused messageId) in the canonical error shape.
"""

import base64
import binascii
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway import metrics
from trackway.api.auth import BearerRefused, authorise
from trackway.api.body import convert, read_json
from trackway.api.segment_messages import Envelope, decode_message
from trackway.api.segment_schemas import SegmentAnswer, SegmentBatch
from trackway.domain.errors import Conflict, Invalid, Problem
from trackway.domain.roles import TRACKING_ROLES
from trackway.domain.times import now_ms
from trackway.store.rejected import Refusal
from trackway.store.segment import Message, Tally, store_messages

MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
KINDS = ("identify", "track", "page", "screen", "group", "alias")
NO_KEY = (
    "send the write key as the HTTP Basic user, as 'Authorization: Bearer "
    "<key>', or as writeKey in the body"
)
MALFORMED = "the Authorization header must read 'Basic <base64>' or 'Bearer <key>'"


async def post_batch(request: Request) -> Response:
    """Store each valid message of the batch; keep the others' reasons."""
    received_at = now_ms()
    org_id, body = await _authorised_body(request, MAX_BATCH_BYTES)
    batch = convert(body, SegmentBatch)
    envelope = _envelope(request, received_at, batch.context, batch.sent_at)
    decoded = [
        decode_message(raw, index, None, envelope)
        for index, raw in enumerate(batch.batch)
    ]
    tally = await _store(request, org_id, received_at, decoded)
    metrics.record_batch_size(len(batch.batch))
    answer = SegmentAnswer(True, tally.accepted, len(tally.refusals))
    return _answer(answer)


def single(kind: str) -> Route:
    """`POST /v1/<kind>`: one message of that type."""

    async def post_message(request: Request) -> Response:
        received_at = now_ms()
        org_id, body = await _authorised_body(request, MAX_MESSAGE_BYTES)
        envelope = _envelope(request, received_at, None, None)
        decoded = decode_message(body, 0, kind, envelope)
        tally = await _store(request, org_id, received_at, [decoded])
        if tally.refusals:
            raise _refused(tally.refusals[0])
        return _answer(SegmentAnswer(True))

    return Route(f"/v1/{kind}", post_message, methods=["POST"])


async def _authorised_body(request: Request, limit: int) -> tuple[str, dict[str, Any]]:
    """The org of the write key and the request's JSON body."""
    settings = request.app.state.settings
    key = _header_key(request)
    principal = None
    if key is not None:
        principal = await authorise(request, key, TRACKING_ROLES)
    body = await read_json(request, settings, max_bytes=limit)
    if principal is None:
        in_body = body.get("writeKey")
        if not isinstance(in_body, str) or not in_body.strip():
            raise BearerRefused(NO_KEY, invalid=False)
        principal = await authorise(request, in_body.strip(), TRACKING_ROLES)
    return principal.org_id, body


def _header_key(request: Request) -> str | None:
    """The key of a Basic or Bearer Authorization header, if one is sent."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        user = _basic_user(credentials)
        if user:
            return user
    raise BearerRefused(MALFORMED, invalid=True)


def _basic_user(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user.strip() or None


def _envelope(
    request: Request,
    received_at: int,
    context: dict[str, Any] | None,
    sent_at: str | None,
) -> Envelope:
    client = request.client
    return Envelope(
        received_at=received_at,
        peer_ip=None if client is None else client.host,
        context=context or {},
        sent_at=sent_at,
        policy=request.app.state.policy,
    )


async def _store(
    request: Request,
    org_id: str,
    received_at: int,
    decoded: list[Message | Refusal],
) -> Tally:
    messages = [m for m in decoded if isinstance(m, Message)]
    refusals = [r for r in decoded if isinstance(r, Refusal)]
    return await run_in_threadpool(
        store_messages,
        request.app.state.database,
        request.app.state.policy,
        org_id,
        received_at,
        messages,
        refusals,
    )


def _refused(refusal: Refusal) -> Invalid | Conflict:
    problem = Problem(refusal.reason)
    return Conflict(problem) if refusal.reused_id else Invalid(problem)


def _answer(answer: SegmentAnswer) -> Response:
    return Response(msgspec.json.encode(answer), media_type="application/json")


routes: list[BaseRoute] = [
    *(single(kind) for kind in KINDS),
    Route("/v1/batch", post_batch, methods=["POST"]),
]
