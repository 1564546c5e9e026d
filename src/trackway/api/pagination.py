"""Query parameters of list endpoints, and the links that page through them.

Two styles. Numbered pages (*Kustomer*): `page` from 1 (default 1) and
`pageSize` 1..100 (default 100), with links `self`, `first`, `prev` and
`next`, null at the ends. Timeline cursors (this project's): `limit`
1..100 (default 50) and an opaque `cursor` taken from the previous page's
`links.next`.

A bad parameter is 400 with the parameter named in `detail` and no
`source.pointer`: JSON pointers address the body, and the parameter is not
in the body.

Links are relative paths that keep the request's other query parameters.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import msgspec
from starlette.datastructures import QueryParams

from trackway.domain.errors import Invalid, invalid
from trackway.domain.ids import is_id

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100
# Keeps the row offset, (page - 1) * pageSize, far inside 64 bits.
MAX_PAGE = 1_000_000_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 50

Links = dict[str, str | None]
Cursor = tuple[int, str]

_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{1,200}", re.ASCII)
_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_cursor_decoder = msgspec.json.Decoder(tuple[_Int64, str])


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    page_size: int


@dataclass(frozen=True, slots=True)
class TimelineRequest:
    cursor: Cursor | None
    limit: int


def page_request(query: QueryParams) -> PageRequest:
    """`page` and `pageSize` from the query; 400 when out of range."""
    page = _integer(query, "page", 1, 1, MAX_PAGE)
    size = _integer(query, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return PageRequest(page, size)


def page_links(
    path: str, query: QueryParams, request: PageRequest, has_next: bool
) -> Links:
    """`{"self", "first", "prev", "next"}`; prev/next null at the ends."""
    page = request.page

    def at(number: int) -> str:
        changes = {"page": str(number), "pageSize": str(request.page_size)}
        return _with(path, query, changes)

    return {
        "self": at(page),
        "first": at(1),
        "prev": at(page - 1) if page > 1 else None,
        "next": at(page + 1) if has_next else None,
    }


def timeline_request(query: QueryParams) -> TimelineRequest:
    """`cursor` and `limit` from the query; 400 when malformed."""
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    text = query.get("cursor")
    cursor = None if text is None else decode_cursor(text)
    return TimelineRequest(cursor, limit)


def timeline_links(
    path: str,
    query: QueryParams,
    request: TimelineRequest,
    after: Cursor | None,
) -> Links:
    """`{"self", "first", "next"}`; next is null on the last page.

    A cursor only walks towards older events, so there is no `prev`.
    """
    limit = str(request.limit)
    next_link = None
    if after is not None:
        changes = {"cursor": encode_cursor(after), "limit": limit}
        next_link = _with(path, query, changes)
    return {
        "self": _with(path, query, {"limit": limit}),
        "first": _with(path, query, {"cursor": None, "limit": limit}),
        "next": next_link,
    }


def encode_cursor(cursor: Cursor) -> str:
    """URL-safe base64 (unpadded) of the JSON `[published_at, event_id]`."""
    raw = msgspec.json.encode(list(cursor))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> Cursor:
    """The cursor `encode_cursor` made; 400 for anything else."""
    if not _BASE64URL.fullmatch(text):
        raise _bad_cursor()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
        published_at, event_id = _cursor_decoder.decode(raw)
    except (binascii.Error, msgspec.DecodeError):
        raise _bad_cursor() from None
    if not is_id(event_id):
        raise _bad_cursor()
    return published_at, event_id


def _integer(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise invalid(f"{name} must be an integer from {low} to {high}")
    return int(text)


def _with(path: str, query: QueryParams, changes: Mapping[str, str | None]) -> str:
    """`path` with the query, `changes` replacing (or, if None, dropping)."""
    kept = [(k, v) for k, v in query.multi_items() if k not in changes]
    added = [(k, v) for k, v in changes.items() if v is not None]
    pairs = kept + added
    return f"{path}?{urlencode(pairs)}" if pairs else path


def _bad_cursor() -> Invalid:
    return invalid("cursor must be a value taken from a timeline's links.next")
