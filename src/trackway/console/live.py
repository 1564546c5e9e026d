"""The live page: the org's events as they arrive, by server-sent events.

Each open page holds one stream that asks the database every second for
the events written since it last looked. Asking the database, not the
process, is what shows events that any server process wrote.

A write transaction can commit a little after the time it stamped on its
events, so each look reaches back `LOOKBACK_MS` and skips what it already
sent. A stream lasts `STREAM_SECONDS`, then the browser reconnects on its
own with the last `id:` it saw, which says where to resume; the page drops
an event it already shows, so a reconnect repeats nothing on screen.

Rejected messages (Segment calls that failed validation) stream beside the
events when the app has a `rejected_messages` source in its state (see
`RejectedSource`); without one the page says there are none to show.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from trackway.api.render import display_name
from trackway.console import params
from trackway.console.guard import html_page
from trackway.console.viewer import NotAllowed, SignInNeeded, require_viewer
from trackway.console.views import render
from trackway.domain.errors import TrackwayError
from trackway.domain.model import TrackingEvent
from trackway.domain.roles import EVENT_READ_ROLES
from trackway.domain.times import format_ms, now_ms
from trackway.store import activity, reads
from trackway.store.database import Database

POLL_SECONDS = 1.0
# How far before the page's own query its stream starts: a write that
# stamped its events just before and committed just after is not lost.
OPENING_MARGIN_MS = 5_000
STREAM_SECONDS = 15.0
LOOKBACK_MS = 30_000
# At most this many events a look; a busier second shows its latest ones.
BATCH = 100
SHOWN = 30
RETRY_MS = 1000

_encoder = msgspec.json.Encoder(decimal_format="number")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message a door refused, as the live page lists it."""

    id: str
    received_at: int
    reason: str
    summary: str


class RejectedSource(Protocol):
    """Up to `limit` rejected messages of the org received at or after
    `since_ms`, latest first."""

    def __call__(
        self, db: Database, org_id: str, since_ms: int, limit: int
    ) -> list[Rejected]: ...


class Tail(Generic[T]):
    """The items of a latest-first source from a moment on, each once.

    `fetch(since_ms)` answers the items stamped at or after `since_ms`,
    latest first; `poll` returns those not returned before, oldest first.
    """

    def __init__(
        self,
        fetch: Callable[[int], list[T]],
        start_ms: int,
        stamp: Callable[[T], int],
        key: Callable[[T], str],
    ) -> None:
        self._fetch, self._stamp, self._key = fetch, stamp, key
        self.start = self.cursor = start_ms
        self._seen: dict[str, int] = {}

    @property
    def floor(self) -> int:
        """Where the next look starts."""
        return max(self.start, self.cursor - LOOKBACK_MS)

    def poll(self) -> list[T]:
        found = self._fetch(self.floor)
        fresh = [item for item in reversed(found) if self._key(item) not in self._seen]
        for item in fresh:
            self._seen[self._key(item)] = self._stamp(item)
            self.cursor = max(self.cursor, self._stamp(item))
        floor = self.floor
        self._seen = {key: at for key, at in self._seen.items() if at >= floor}
        return fresh


def event_item(event: TrackingEvent, names: dict[str, str] | None) -> dict[str, Any]:
    """An event as the page shows it, in the template and in the stream.

    `names` is None for a viewer who may read events but not customers:
    the customer is then shown by id alone, as the events API shows it.
    """
    customer = None
    if event.customer_id is not None:
        customer = {"id": event.customer_id, "name": event.customer_id, "link": None}
    if customer is not None and names is not None:
        customer["name"] = names.get(event.customer_id or "", event.customer_id)
        customer["link"] = f"/console/customers/{event.customer_id}"
    return {
        "id": event.id,
        "name": event.name,
        "publishedAt": format_ms(event.published_at),
        "arrived": event.created_at,
        "customer": customer,
        "trackingId": event.tracking_id,
        "sessionId": event.session_id,
        "meta": [[key, _text(value)] for key, value in event.meta.items()],
    }


def rejected_item(message: Rejected) -> dict[str, Any]:
    return {
        "id": message.id,
        "receivedAt": format_ms(message.received_at),
        "arrived": message.received_at,
        "reason": message.reason,
        "summary": message.summary,
    }


@html_page
async def live_page(request: Request) -> Response:
    viewer = await require_viewer(request, EVENT_READ_ROLES)
    name = params.text(request, "name") or None
    org_id = viewer.principal.org_id
    db = request.app.state.database
    opened = now_ms()
    latest = await run_in_threadpool(activity.arrivals, db, org_id, 0, SHOWN, name)
    names = viewer.reads_customers
    items = await run_in_threadpool(_items, db, org_id, latest, names)
    source = _rejected_source(request) if viewer.reads_customers else None
    rejected = None
    if source is not None:
        found = await run_in_threadpool(source, db, org_id, 0, SHOWN)
        rejected = [rejected_item(message) for message in found]
    context = {
        "section": "live",
        "name": name or "",
        "events": items,
        "opened": opened,
        "stream": "/console/live/stream?"
        + urlencode({"name": name or "", "since": opened - OPENING_MARGIN_MS}),
        "rejected": rejected,
        "rejected_withheld": not viewer.reads_customers,
    }
    return render(request, "live.html", context)


async def live_stream(request: Request) -> Response:
    """`text/event-stream` of `tracking` (and `rejected`) messages."""
    try:
        viewer = await require_viewer(request, EVENT_READ_ROLES)
        name = params.text(request, "name") or None
    except (SignInNeeded, NotAllowed):
        # A 401 stops the browser's reconnecting; the page says why.
        return PlainTextResponse("sign in to the console first", 401)
    except TrackwayError as error:
        return PlainTextResponse(str(error), error.status)
    start = _resume_point(request)
    org_id, names = viewer.principal.org_id, viewer.reads_customers
    feeds = _feeds(request, org_id, name, start, names)
    return StreamingResponse(
        _messages(feeds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@dataclass(frozen=True, slots=True)
class Feed:
    """One kind of message of the stream: its tail and how items look."""

    kind: str
    tail: Tail[Any]
    items: Callable[[list[Any]], list[dict[str, Any]]]

    def look(self) -> list[dict[str, Any]]:
        return self.items(self.tail.poll())


def _feeds(
    request: Request, org_id: str, name: str | None, start: int, customers: bool
) -> list[Feed]:
    """The stream's feeds; refused messages and customer names only for a
    viewer who may read customers (`customers`)."""
    db = request.app.state.database

    def fetch_events(since: int) -> list[TrackingEvent]:
        return activity.arrivals(db, org_id, since, BATCH, name)

    def event_items(events: list[TrackingEvent]) -> list[dict[str, Any]]:
        return _items(db, org_id, events, customers)

    events = Tail(fetch_events, start, _arrival, _event_key)
    feeds = [Feed("tracking", events, event_items)]
    source = _rejected_source(request)
    if source is not None and customers:

        def fetch_rejected(since: int) -> list[Rejected]:
            return source(db, org_id, since, BATCH)

        def rejected_items(found: list[Rejected]) -> list[dict[str, Any]]:
            return [rejected_item(m) for m in found]

        rejected = Tail(fetch_rejected, start, _received, _rejected_key)
        feeds.append(Feed("rejected", rejected, rejected_items))
    return feeds


async def _messages(feeds: list[Feed]) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_SECONDS
    while True:
        for feed in feeds:
            found = await run_in_threadpool(feed.look)
            for item in found:
                data = _encoder.encode(item).decode()
                yield f"event: {feed.kind}\ndata: {data}\n\n"
        resume = min(feed.tail.floor for feed in feeds)
        # A comment line as well, so a closed connection is noticed.
        yield f"id: {resume}\n: waiting\n\n"
        if loop.time() >= deadline:
            return
        await asyncio.sleep(POLL_SECONDS)


def _items(
    db: Database, org_id: str, events: list[TrackingEvent], names: bool
) -> list[dict[str, Any]]:
    if not names:
        return [event_item(event, None) for event in events]
    ids = {e.customer_id for e in events if e.customer_id is not None}
    found = reads.customers_by_id(db, org_id, ids)
    shown = {cid: display_name(c) or cid for cid, c in found.items()}
    return [event_item(event, shown) for event in events]


def _resume_point(request: Request) -> int:
    """Where the stream starts: the `Last-Event-ID` of a reconnecting
    browser, else the `since` its page asked for, else a look back."""
    for given in (
        request.headers.get("last-event-id", ""),
        request.query_params.get("since", ""),
    ):
        if given.isascii() and given.isdigit() and len(given) <= 15:
            return int(given)
    return now_ms() - LOOKBACK_MS


def _rejected_source(request: Request) -> RejectedSource | None:
    source: RejectedSource | None = getattr(
        request.app.state, "rejected_messages", None
    )
    return source


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _encoder.encode(value).decode()


def _arrival(event: TrackingEvent) -> int:
    return event.created_at


def _event_key(event: TrackingEvent) -> str:
    return event.id


def _received(message: Rejected) -> int:
    return message.received_at


def _rejected_key(message: Rejected) -> str:
    return message.id
