"""ASGI middleware: request ids, the one log line per request, metrics.

The log line holds method, route template, status, duration_ms, org and
request_id, and nothing a client sent in a body or a header other than a
well-formed X-Request-Id: no keys, emails, phones or IPs.
"""

import re
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackway.domain.ids import new_id
from trackway.domain.ratelimit import Quota
from trackway.logs import get_logger
from trackway.metrics import record_request

REQUEST_ID_HEADER = "X-Request-Id"
# Where authentication leaves the caller's rate limit standing.
QUOTA_STATE = "rate_quota"
UNMATCHED = "unmatched"

# Echoed back and logged, so only short plain tokens are trusted.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_log = get_logger("trackway.request")


def request_id_of(scope: Scope) -> str | None:
    """The id the middleware gave this request, if it ran."""
    state = scope.get("state") or {}
    request_id = state.get("request_id")
    return request_id if isinstance(request_id, str) else None


def quota_of(scope: Scope) -> Quota | None:
    """The caller's rate limit standing, once its call was counted."""
    quota = (scope.get("state") or {}).get(QUOTA_STATE)
    return quota if isinstance(quota, Quota) else None


def route_template(scope: Scope) -> str | None:
    """The path template of the route that matched (`/v1/customers/{id}`),
    including the prefixes of mounts; None when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if route is None or isinstance(route, Mount) or not isinstance(path, str):
        return None
    root: str = scope.get("root_path", "")
    mounted = root.removeprefix(scope.get("app_root_path", ""))
    return mounted + path


class RequestLogMiddleware:
    """Gives each HTTP request an id (a sane incoming X-Request-Id, else a
    new one) that is set on the response and in `scope["state"]`, then logs
    one line and records the request metrics when the request ends.

    The org comes from `scope["state"]["org_id"]`, which authentication
    sets. An exception that escapes the app is logged as status 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_id(scope) or new_id()
        # The same dict becomes request.state, so auth's org_id lands here.
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        answer = _Answer(request_id, send)
        started = time.perf_counter()

        try:
            await self.app(scope, receive, answer.send)
        finally:
            _finish(scope, answer.status, time.perf_counter() - started)


class _Answer:
    """Wraps `send` to learn the status and add the request id header."""

    def __init__(self, request_id: str, send: Send) -> None:
        self.request_id = request_id
        # What an escaping exception will become.
        self.status = 500
        self._send = send

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = MutableHeaders(scope=message)
            headers[REQUEST_ID_HEADER] = self.request_id
        await self._send(message)


def _finish(scope: Scope, status: int, seconds: float) -> None:
    route = route_template(scope)
    method = scope["method"]
    state = scope.get("state") or {}
    record_request(method, route or UNMATCHED, status, seconds)
    log = _log.error if status >= 500 else _log.info
    log(
        "request",
        method=method,
        route=route,
        status=status,
        duration_ms=round(seconds * 1000, 2),
        org=state.get("org_id"),
        request_id=state.get("request_id"),
    )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None
