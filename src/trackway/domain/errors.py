"""Exceptions the rules raise; each carries the HTTP status it maps to.

The API layer has one handler that turns any of these into the canonical
error body, so the rules never build a response themselves.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (JSON pointer) and what."""

    detail: str
    pointer: str | None = None


class TrackwayError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.detail for p in problems))
        self.problems = problems


class Invalid(TrackwayError):
    status, code = 400, "bad_request"


class Unauthorized(TrackwayError):
    status, code = 401, "unauthorized"


class Forbidden(TrackwayError):
    status, code = 403, "forbidden"


class NotFound(TrackwayError):
    status, code = 404, "not_found"


class Conflict(TrackwayError):
    status, code = 409, "conflict"


class PayloadTooLarge(TrackwayError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(TrackwayError):
    status, code = 415, "unsupported_media_type"


class Unavailable(TrackwayError):
    """Storage does not answer; the client should retry after a pause."""

    status, code = 503, "unavailable"

    def __init__(
        self,
        detail: str = "storage is unavailable; try again shortly",
        retry_after_s: int = 5,
    ) -> None:
        super().__init__(Problem(detail))
        self.headers = {"Retry-After": str(retry_after_s)}


def invalid(detail: str, pointer: str | None = None) -> Invalid:
    return Invalid(Problem(detail, pointer))
