"""The ASGI application: routes, middleware and shared state."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from trackway.api import customers, ops, rejected, segment, tracking
from trackway.api.cors import CorsMiddleware, OriginBook
from trackway.api.errors import error_response, exception_handlers
from trackway.api.middleware import RequestLogMiddleware
from trackway.api.ratelimit import RateLimitHeaders, limiter_for
from trackway.console import console_routes
from trackway.console.rejected import rejected_since
from trackway.domain.errors import invalid
from trackway.domain.policy import Policy
from trackway.domain.times import now_ms
from trackway.logs import configure_logging, get_logger
from trackway.settings import Settings, load_settings
from trackway.store.database import Database
from trackway.store.housekeeping import forget_expired
from trackway.store.writer import Writer

# How often a server forgets rows past their retention, in seconds; the
# first sweep comes soon after start, so servers restarted often sweep too.
HOUSEKEEPING_EVERY_S = 3600.0
FIRST_HOUSEKEEPING_AFTER_S = 60.0
_log = get_logger("trackway.server")


class IgnoreTrailingSlash:
    """`/v1/customers/x/` is `/v1/customers/x`, for every method.

    Starlette would answer a redirect instead, which POST clients and
    `sendBeacon` do not follow.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


class RefuseNulInUrl:
    """A URL whose path or query holds a NUL (`%00`) is a 400.

    No id or search term of Trackway can hold one, and PostgreSQL refuses
    NUL in text, so without this a lookup would fail as a 500 there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            problem = invalid("the URL must not contain NUL characters (%00)")
            await error_response(problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


def create_app(settings: Settings, database: Database | None = None) -> Starlette:
    """The Trackway server; it owns `database` unless one is handed in."""
    owned = database is None
    database = database or Database(
        settings.database_url,
        settings.database_pool_size,
        settings.storage_limits(),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        housekeeping = asyncio.create_task(_keep_house(database, app.state.policy))
        yield
        housekeeping.cancel()
        await app.state.rate_limiter.close()
        if owned:
            database.dispose()

    app = Starlette(
        routes=[
            *ops.routes,
            *tracking.routes,
            *customers.routes,
            *segment.routes,
            *rejected.routes,
            *console_routes(settings),
        ],
        middleware=[
            Middleware(IgnoreTrailingSlash),
            Middleware(RequestLogMiddleware),
            Middleware(RefuseNulInUrl),
            Middleware(RateLimitHeaders),
            Middleware(CorsMiddleware),
        ],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.policy = settings.policy()
    app.state.writer = Writer(database, app.state.policy)
    app.state.rate_limiter = limiter_for(settings, database)
    app.state.origin_book = OriginBook(database)
    # The Segment door's refusals, listed beside events on the live page.
    app.state.rejected_messages = rejected_since
    return app


async def _keep_house(database: Database, policy: Policy) -> None:
    """Forget expired rows of every org, once every HOUSEKEEPING_EVERY_S."""
    pause = FIRST_HOUSEKEEPING_AFTER_S
    while True:
        await asyncio.sleep(pause)
        pause = HOUSEKEEPING_EVERY_S
        try:
            await run_in_threadpool(forget_expired, database, policy, now_ms())
        except Exception:
            # A failed sweep is retried by the next one; the server goes on.
            _log.exception("housekeeping_failed")


def from_environment() -> Starlette:
    """The app of one server process, configured by `TRACKWAY_*` alone.

    `trackway serve --workers N` starts N processes that each call this.
    """
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
