"""The canonical error body (SPEC 3), built here and nowhere else.

Every failure leaves the server as::

    {"errors": [{"status": "400", "code": "bad_request",
                 "title": "Bad Request", "detail": "...", "message": "...",
                 "source": {"pointer": "/event/name"}, "meta": {}}]}

one entry per `Problem`; `source` is left out when a problem has no
pointer. Domain errors, Starlette's routing errors (404, 405) and anything
unexpected (500, generic text, traceback to the log only) all come through
`exception_handlers`.
"""

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from trackway.api.middleware import REQUEST_ID_HEADER, quota_of, request_id_of
from trackway.api.schemas import ErrorBody, ErrorObject, ErrorSource
from trackway.domain.errors import Problem, TrackwayError
from trackway.domain.ratelimit import Quota
from trackway.logs import get_logger

Handler = Callable[[Request, Exception], Awaitable[Response]]
# Where a problem is: object keys and array indexes from the body's root.
Path = tuple[str | int, ...]

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_ROUTING_CODES = {404: "not_found", 405: "method_not_allowed"}
_INTERNAL_DETAIL = "the server failed to answer this request; it has been logged"

_log = get_logger("trackway.api")


class RateLimited(TrackwayError):
    """The org, or a key with a limit of its own, used up its requests for
    this minute (SPEC 3)."""

    status, code = 429, "rate_limited"

    def __init__(self, quota: Quota) -> None:
        wait = quota.retry_after_s
        detail = f"more than {quota.limit} requests a minute; retry in {wait} s"
        super().__init__(Problem(detail))
        self.headers = {"Retry-After": str(wait), **rate_limit_headers(quota)}


def rate_limit_headers(quota: Quota) -> dict[str, str]:
    """What every answer to a counted call says about its allowance;
    the reset is the window's end in epoch seconds."""
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(quota.reset_at_s),
    }


class BodyTimedOut(TrackwayError):
    """The client sent its body too slowly (a slowloris, or a dying link).

    The connection is closed after the answer, as the rest of the body may
    still be on its way.
    """

    status, code = 408, "request_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(Problem(f"the body did not arrive within {seconds:g} s"))
        self.headers = {"Connection": "close"}


def title_of(status: int) -> str:
    if status in _TITLES:
        return _TITLES[status]
    return HTTPStatus(status).phrase


def error_body(status: int, code: str, problems: tuple[Problem, ...]) -> ErrorBody:
    """The body for `problems`; with none, one entry whose detail is the
    title, so `errors` is never empty."""
    title = title_of(status)
    entries = problems or (Problem(title),)
    return ErrorBody(errors=[_entry(status, code, title, p) for p in entries])


def error_response(
    error: TrackwayError, headers: Mapping[str, str] | None = None
) -> Response:
    """The response for `error`, with its own headers (Retry-After, ...)
    and then `headers` added."""
    merged = {**getattr(error, "headers", {}), **(headers or {})}
    body = error_body(error.status, error.code, error.problems)
    return _respond(error.status, body, merged)


def pointer(path: Path) -> str:
    """The JSON pointer (RFC 6901) of `path`: ("event", "name") is
    "/event/name"."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join("/" + part for part in escaped)


def dotted(path: Path) -> str:
    """`path` as a person reads it: identity.tags[3]; "body" when empty."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "body"


def path_of(text: str) -> Path:
    """The steps of a JSON pointer; all-digit steps become indexes."""
    parts = text.split("/")[1:] if text else []
    unescaped = (p.replace("~1", "/").replace("~0", "~") for p in parts)
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in unescaped)


def _entry(status: int, code: str, title: str, problem: Problem) -> ErrorObject:
    source = None if problem.pointer is None else ErrorSource(problem.pointer)
    return ErrorObject(
        status=str(status),
        code=code,
        title=title,
        detail=problem.detail,
        message=problem.detail,
        meta={},
        source=source,
    )


def _respond(status: int, body: ErrorBody, headers: Mapping[str, str]) -> Response:
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        headers=dict(headers),
        media_type="application/json",
    )


async def _on_trackway_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, TrackwayError)
    return error_response(error)


async def _on_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    headers = dict(error.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    code = _ROUTING_CODES.get(status, _code_of(status))
    detail = _routing_detail(request, error, headers)
    body = error_body(status, code, (Problem(detail),))
    return _respond(status, body, headers)


async def _on_unexpected(request: Request, error: Exception) -> Response:
    request_id = request_id_of(request.scope)
    _log.error("unhandled_exception", request_id=request_id, exc_info=error)
    body = error_body(500, "internal_error", (Problem(_INTERNAL_DETAIL),))
    headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
    # This answer leaves past the middleware, so it adds their headers.
    quota = quota_of(request.scope)
    if quota is not None:
        headers.update(rate_limit_headers(quota))
    return _respond(500, body, headers)


def _routing_detail(
    request: Request, error: HTTPException, headers: Mapping[str, str]
) -> str:
    if error.status_code == 404:
        return "no endpoint has this path"
    if error.status_code == 405:
        allowed = headers.get("Allow", "")
        return f"{request.method} is not allowed here; allowed: {allowed}"
    return str(error.detail)


def _allowed_methods(request: Request) -> str:
    """Every method of the routes whose path is the first one matched.

    Starlette names only that first route's methods, so a path served by
    two routes (GET and DELETE /v1/customers/{id}) would answer a 405
    that hides one of them.
    """
    matched = [
        route
        for route in request.app.router.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
    ]
    if not matched:
        return ""
    path = matched[0].path
    methods = set().union(*(r.methods or () for r in matched if r.path == path))
    return ", ".join(sorted(methods))


def _code_of(status: int) -> str:
    return title_of(status).lower().replace(" ", "_").replace("-", "_")


exception_handlers: dict[Any, Handler] = {
    TrackwayError: _on_trackway_error,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}
