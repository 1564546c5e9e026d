"""Turns what stops a page (no sign-in, a missing role, bad input) into
the page a person should see instead of the API's JSON error body."""

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from trackway.console.viewer import FormRefused, NotAllowed, SignInNeeded
from trackway.console.views import render
from trackway.domain.errors import TrackwayError

Endpoint = Callable[[Request], Awaitable[Response]]

EXPIRED_FORM = "This form has expired. Go back, reload the page and send it again."
_TITLES = {
    400: "That request cannot be answered",
    403: "This key may not see this page",
    404: "Nothing here",
    503: "Storage is not answering",
}


def html_page(handler: Endpoint) -> Endpoint:
    """`handler`, with its refusals shown as pages of the console."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInNeeded as needed:
            return RedirectResponse(needed.location, status_code=303)
        except NotAllowed as refused:
            return problem_page(request, 403, str(refused))
        except FormRefused:
            return problem_page(request, 400, EXPIRED_FORM)
        except TrackwayError as error:
            detail = "; ".join(p.detail for p in error.problems)
            headers = getattr(error, "headers", None)
            return problem_page(request, error.status, detail, headers)

    return endpoint


def problem_page(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> Response:
    title = _TITLES.get(status, "Something went wrong")
    context = {"title": title, "detail": detail, "status": status}
    return render(request, "problem.html", context, status, headers)
