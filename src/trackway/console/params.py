"""Query parameters of the console's pages, checked like the API's."""

from urllib.parse import urlencode

from starlette.requests import Request

from trackway.domain.errors import NotFound, Problem, invalid
from trackway.domain.ids import is_id

MAX_PAGE = 10_000
MAX_TEXT = 256


def page_number(request: Request, name: str = "page") -> int:
    """A page number from 1; a bad one is a 400 that names the parameter."""
    given = request.query_params.get(name, "1")
    if not (given.isascii() and given.isdigit()) or not 1 <= int(given) <= MAX_PAGE:
        raise invalid(f"{name} must be a whole number from 1 to {MAX_PAGE}")
    return int(given)


def text(request: Request, name: str) -> str:
    """A typed search or filter, trimmed; at most 256 characters."""
    given = request.query_params.get(name, "").strip()
    if len(given) > MAX_TEXT:
        raise invalid(f"{name} has at most {MAX_TEXT} characters")
    return given


def customer_id(request: Request) -> str:
    """The customer id of the path; 404 when it cannot be one."""
    given: str = request.path_params["customer"]
    if not is_id(given):
        raise NotFound(Problem("no customer with that id in this org"))
    return given


def link(request: Request, **changes: int | str | None) -> str:
    """This page's path and query with `changes` applied (None removes)."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path
