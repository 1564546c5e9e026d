"""Calls from web pages of other origins (CORS), on the tracking endpoints
only: `/v1/tracking/...` and the Segment door. The read API and the console
never answer a cross-origin call, so a page can never read a customer.

A preflight (OPTIONS with `Access-Control-Request-Method`) carries no key,
so it cannot tell which org will be called: it is answered 204 when some
org allows the origin, for POST with the headers the endpoints read, and
403 in the canonical error shape otherwise. The call itself then gets
`Access-Control-Allow-Origin` only when the org of its key allows the
origin; a call whose key is unknown gets none. Every answer on these paths
carries `Vary: Origin`. Credentials are never allowed: the key travels in
`Authorization`, never in a cookie, so `*` can be offered safely.

Each process reads the origins of every org at most every CACHE_S seconds.
"""

import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackway.api.errors import error_response
from trackway.domain.errors import Forbidden, Problem, Unavailable
from trackway.domain.origins import allowed_as
from trackway.logs import get_logger
from trackway.store.database import Database
from trackway.store.origins import allowed_origins

CACHE_S = 10.0
MAX_AGE_S = 600
SEGMENT_PATHS = frozenset(
    f"/v1/{call}"
    for call in ("identify", "track", "page", "screen", "group", "alias", "batch")
)
# What a browser client sends: its key, JSON (maybe gzipped), and the
# optional idempotency and request ids.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Content-Encoding",
    "Idempotency-Key",
    "X-Request-Id",
)
EXPOSED_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Request-Id",
    "X-Tracking-Id",
    "X-Session-Id",
)
_ALLOWED = frozenset(name.lower() for name in ALLOWED_HEADERS)
# A preflight's answer depends on all three.
_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
)
_log = get_logger("trackway.cors")


def is_tracking_path(path: str) -> bool:
    return path.startswith("/v1/tracking/") or path in SEGMENT_PATHS


class OriginBook:
    """The origins every org allows, read again once CACHE_S old."""

    def __init__(
        self, database: Database, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._database = database
        self._clock = clock
        self._read_at: float | None = None
        self._by_org: dict[str, frozenset[str]] = {}
        self._any_org: frozenset[str] = frozenset()

    async def allowed_for_org(self, org_id: str, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for a call of the org."""
        await self._refresh()
        return allowed_as(self._by_org.get(org_id, frozenset()), origin)

    async def allowed_for_any(self, origin: str) -> str | None:
        """The same, for a preflight, which names no org."""
        await self._refresh()
        return allowed_as(self._any_org, origin)

    def forget(self) -> None:
        """Read the origins again at the next call."""
        self._read_at = None

    async def _refresh(self) -> None:
        now = self._clock()
        if self._read_at is not None and now - self._read_at < CACHE_S:
            return
        try:
            by_org = await run_in_threadpool(allowed_origins, self._database)
        except Unavailable:
            # Keep what was read last; the next call tries again.
            _log.warning("origins_unreadable")
            return
        self._by_org, self._read_at = by_org, now
        self._any_org = frozenset().union(*by_org.values())


class CorsMiddleware:
    """Answers preflights of the tracking endpoints and adds the CORS
    headers to their answers; leaves every other path alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_tracking_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        book: OriginBook = scope["app"].state.origin_book
        if _is_preflight(scope["method"], headers):
            response = await _preflight(book, headers)
            await response(scope, receive, send)
            return
        origin = headers.get("origin")

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _add_cors(book, scope, origin, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _is_preflight(method: str, headers: Headers) -> bool:
    wants = "access-control-request-method" in headers
    return method == "OPTIONS" and "origin" in headers and wants


async def _preflight(book: OriginBook, headers: Headers) -> Response:
    origin = headers["origin"]
    allowed = await book.allowed_for_any(origin)
    if allowed is None:
        return _refused(
            f"no org lets pages at {origin} call this endpoint; allow the origin"
            f" with: trackway orgs origins add ORG {origin}"
        )
    refusal = _refusal(headers)
    if refusal is not None:
        return _refused(refusal)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": _PREFLIGHT_VARY,
        },
    )


def _refusal(headers: Headers) -> str | None:
    """What the preflight asks for that is not allowed; None if nothing."""
    method = headers["access-control-request-method"].strip()
    if method != "POST":
        return f"{method} is not allowed from a browser here; only POST is"
    asked = headers.get("access-control-request-headers", "")
    for name in (n.strip() for n in asked.split(",")):
        if name and name.lower() not in _ALLOWED:
            accepted = ", ".join(ALLOWED_HEADERS)
            return f"the header {name} is not accepted here; these are: {accepted}"
    return None


def _refused(detail: str) -> Response:
    return error_response(Forbidden(Problem(detail)), {"Vary": _PREFLIGHT_VARY})


async def _add_cors(
    book: OriginBook, scope: Scope, origin: str | None, headers: MutableHeaders
) -> None:
    headers.add_vary_header("Origin")
    org_id = (scope.get("state") or {}).get("org_id")
    if origin is None or not isinstance(org_id, str):
        return
    allowed = await book.allowed_for_org(org_id, origin)
    if allowed is None:
        return
    headers["Access-Control-Allow-Origin"] = allowed
    headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
