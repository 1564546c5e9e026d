"""The console's routes, each behind the session cookie and the headers
that keep its pages to themselves."""

import secrets

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackway.console import customer, live, pages, signin
from trackway.console.guard import Endpoint
from trackway.logs import get_logger
from trackway.settings import Settings

COOKIE = "trackway_console"
SESSION_SECONDS = 8 * 3600

# Scripts, styles and fetches only from the console itself; no framing.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    # Pages show personal data: no cache keeps a copy.
    (b"cache-control", b"no-store"),
]

_log = get_logger("trackway.console")


class PageHeaders:
    """Adds the console's security headers to every page it answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [h for h in _HEADERS if h[0] not in names]
                message = {**message, "headers": [*message["headers"], *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def console_routes(settings: Settings) -> list[BaseRoute]:
    """Every route under `/console`."""
    middleware = [
        Middleware(PageHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=_secret(settings),
            session_cookie=COOKIE,
            max_age=SESSION_SECONDS,
            path="/console",
            same_site="strict",
            https_only=settings.console_cookie_secure,
        ),
    ]

    def page(path: str, endpoint: Endpoint, method: str = "GET") -> Route:
        return Route(path, endpoint, methods=[method], middleware=middleware)

    static = StaticFiles(packages=[("trackway.console", "static")])
    return [
        page("/console", pages.home),
        page("/console/sign-in", signin.sign_in_form),
        page("/console/sign-in", signin.sign_in_submit, "POST"),
        page("/console/sign-out", signin.sign_out_submit, "POST"),
        page("/console/customers", pages.customers),
        page("/console/customers/{customer}", customer.customer_page),
        page(
            "/console/customers/{customer}/sessions/{session}",
            customer.session_page,
        ),
        page("/console/live", live.live_page),
        page("/console/live/stream", live.live_stream),
        Mount("/console/static", app=static, name="console-static"),
        page("/console/{rest:path}", pages.not_found),
    ]


def _secret(settings: Settings) -> str:
    if settings.console_secret is not None:
        return settings.console_secret
    _log.warning(
        "console_secret_generated",
        detail="TRACKWAY_CONSOLE_SECRET is unset: console sign-ins last "
        "until this process stops and hold in this process only",
    )
    return secrets.token_urlsafe(32)
