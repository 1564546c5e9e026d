"""The client's exceptions, and the one place an error answer becomes one.

An error answer is read in the JSON:API shape both Trackway and Kustomer
use (`{"errors": [{"status", "code", "detail", "source": {"pointer"}}]}`);
a body of another shape keeps its text as the detail.
"""

from typing import Any

import httpx
import msgspec


class TrackwayError(Exception):
    """Base of every exception the client raises."""


class ConfigurationError(TrackwayError):
    """The client lacks what it needs to call anyone (an API key)."""


class TransportError(TrackwayError):
    """No answer came back: the connection failed or timed out, on every
    try. `request` is the request that went unanswered."""

    def __init__(self, message: str, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = request


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of an error answer."""

    status: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    pointer: str | None = None


class ApiError(TrackwayError):
    """The server answered with a status other than 2xx.

    `status`, `code`, `detail` and `pointer` come from the first problem of
    the answer (`pointer` names the bad field, as `/event/name`, or is
    None); `problems` holds them all. `request` and `response` are the
    exchange itself.
    """

    def __init__(
        self,
        request: httpx.Request,
        response: httpx.Response,
        problems: list[Problem],
    ) -> None:
        first = problems[0] if problems else Problem()
        self.status = response.status_code
        self.code = first.code
        self.detail = first.detail or first.title or response.reason_phrase
        self.pointer = first.pointer
        self.problems = problems
        self.request = request
        self.response = response
        super().__init__(self._message())

    def _message(self) -> str:
        label = f"{self.status} {self.code}" if self.code else str(self.status)
        where = f" (at {self.pointer})" if self.pointer else ""
        return f"{label}: {self.detail}{where}"


class BadRequest(ApiError):
    """400: the request breaks a rule; `pointer` says where."""


class Unauthorized(ApiError):
    """401: the API key is missing, unknown, revoked or expired."""


class Forbidden(ApiError):
    """403: the API key lacks the role the call needs."""


class NotFound(ApiError):
    """404: no such customer, session or event (in the key's org)."""


class Conflict(ApiError):
    """409: an Idempotency-Key was used before with another body."""


class RateLimited(ApiError):
    """429: too many calls; `retry_after` is the wait the server asked
    for, in seconds, when it said."""

    def __init__(
        self,
        request: httpx.Request,
        response: httpx.Response,
        problems: list[Problem],
    ) -> None:
        super().__init__(request, response, problems)
        self.retry_after = retry_after(response)


class ServerError(ApiError):
    """5xx: the server failed, or its storage did not answer."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def api_error(response: httpx.Response) -> ApiError:
    """The exception for an error answer."""
    kind = _BY_STATUS.get(response.status_code, ApiError)
    if response.status_code >= 500:
        kind = ServerError
    return kind(response.request, response, _problems(response))


def retry_after(response: httpx.Response) -> float | None:
    """The seconds of a `Retry-After` header given in seconds; None when
    absent or given otherwise (an HTTP date is read by the retry policy)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


class _Source(msgspec.Struct):
    pointer: str | None = None


class _Entry(msgspec.Struct):
    status: str | int | None = None
    code: str | int | None = None
    title: str | None = None
    detail: str | None = None
    message: str | None = None
    source: _Source | None = None


class _Body(msgspec.Struct):
    errors: list[_Entry]


def _problems(response: httpx.Response) -> list[Problem]:
    try:
        body = msgspec.json.decode(response.content, type=_Body)
    except msgspec.DecodeError:
        text = response.text.strip()
        return [Problem(status=str(response.status_code), detail=text or None)]
    return [_problem(entry) for entry in body.errors]


def _problem(entry: _Entry) -> Problem:
    return Problem(
        status=_text(entry.status),
        code=_text(entry.code),
        title=entry.title,
        detail=entry.detail or entry.message,
        pointer=entry.source.pointer if entry.source else None,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
