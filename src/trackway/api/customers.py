"""The read endpoints of SPEC 6 and erasure (SPEC 9).

Every handler checks the key first, then its query parameters, then asks
the store, scoped by the key's org: a customer of another org is as absent
as one that never existed (404 either way).

Lookups `/v1/customers/email=<email>` (and `externalId=`, `phone=`) have
routes of their own. The server has already percent-decoded the path, so
the value is used as it arrives and normalised like an identity call's
(SPEC 5.1).

Trailing slashes are removed by the app before routing, so each path is
registered once.
"""

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway.api import pagination, render
from trackway.api.auth import require
from trackway.domain.errors import NotFound, Problem, invalid
from trackway.domain.identifiers import identifier
from trackway.domain.ids import is_id
from trackway.domain.model import IdentifierKind
from trackway.domain.roles import (
    CUSTOMER_READ_ROLES,
    DELETE_ROLES,
    EVENT_READ_ROLES,
)
from trackway.store import reads
from trackway.store.database import Database
from trackway.store.erasure import erase_customer

JSON_TYPE = "application/json"
NO_CUSTOMER = "no customer with that id in this org"
LOOKUPS = (
    "customers are looked up by id, email=<email>, "
    "externalId=<externalId> or phone=<phone>"
)
RETIRED = (
    "GET /v1/customers/{id}/events was retired by Kustomer; "
    "read /v1/customers/{id}/timeline instead"
)


async def get_customer(request: Request) -> Response:
    """A customer by id."""
    principal = await require(request, CUSTOMER_READ_ROLES)
    key = request.path_params["key"]
    if "=" in key:
        raise invalid(LOOKUPS)
    customer_id = _customer_id(request, "key")
    found = await run_in_threadpool(
        reads.customer, _database(request), principal.org_id, customer_id
    )
    if found is None:
        raise NotFound(Problem(NO_CUSTOMER))
    return _json(render.document(render.customer_resource(found)))


def lookup_route(kind: IdentifierKind) -> Route:
    """`GET /v1/customers/<kind>=<value>`, the value normalised as in 5.1.

    The value may hold any character, `/` included once percent-decoded,
    so these routes come before the customer's sub-resources.
    """

    async def get_by_identifier(request: Request) -> Response:
        principal = await require(request, CUSTOMER_READ_ROLES)
        region = request.app.state.settings.default_phone_region
        wanted = identifier(kind, request.path_params["value"], region)
        found = await run_in_threadpool(
            reads.customer_by_identifier,
            _database(request),
            principal.org_id,
            wanted,
        )
        if found is None:
            raise NotFound(Problem(f"no customer in this org has that {kind}"))
        return _json(render.document(render.customer_resource(found)))

    path = f"/v1/customers/{kind.value}={{value:path}}"
    return Route(path, get_by_identifier, methods=["GET"])


async def list_sessions(request: Request) -> Response:
    """The customer's sessions, latest first, in numbered pages."""
    principal = await require(request, EVENT_READ_ROLES)
    customer_id = _customer_id(request)
    page = pagination.page_request(request.query_params)
    found = await run_in_threadpool(
        reads.customer_sessions,
        _database(request),
        principal.org_id,
        customer_id,
        page.page,
        page.page_size,
    )
    if found is None:
        raise NotFound(Problem(NO_CUSTOMER))
    sessions, has_next = found
    path = f"{render.customer_path(customer_id)}/sessions"
    resources = [render.session_resource(s) for s in sessions]
    return _page(request, path, page, has_next, resources)


async def list_session_events(request: Request) -> Response:
    """The customer's tracking events in one session, newest first.

    The session is named by its resource id or by the client's sessionId.
    """
    principal = await require(request, EVENT_READ_ROLES)
    customer_id = _customer_id(request)
    session_key = request.path_params["session"]
    page = pagination.page_request(request.query_params)
    found = await run_in_threadpool(
        reads.session_events,
        _database(request),
        principal.org_id,
        customer_id,
        session_key,
        page.page,
        page.page_size,
    )
    if found is None:
        raise NotFound(Problem("no such session of a customer in this org"))
    events, has_next = found
    session = quote(session_key, safe="")
    path = f"{render.customer_path(customer_id)}/sessions/{session}/events"
    resources = [render.event_resource(e) for e in events]
    return _page(request, path, page, has_next, resources)


async def get_event(request: Request) -> Response:
    """One event of the customer: a tracking event or a change record."""
    principal = await require(request, EVENT_READ_ROLES)
    customer_id = _customer_id(request)
    event_id = request.path_params["event"]
    found = None
    if is_id(event_id):
        found = await run_in_threadpool(
            reads.customer_event,
            _database(request),
            principal.org_id,
            customer_id,
            event_id,
        )
    if found is None:
        raise NotFound(Problem("no such event of a customer in this org"))
    return _json(render.document(render.event_resource(found)))


async def retired_events(request: Request) -> Response:
    """Always 404, as at Kustomer, pointing at the timeline."""
    await require(request, EVENT_READ_ROLES)
    raise NotFound(Problem(RETIRED))


async def get_timeline(request: Request) -> Response:
    """Every event and change record of the customer, newest first.

    Cursor pages: `links.next` carries the cursor of the next page and is
    null on the last one.
    """
    principal = await require(request, EVENT_READ_ROLES)
    customer_id = _customer_id(request)
    wanted = pagination.timeline_request(request.query_params)
    found = await run_in_threadpool(
        reads.timeline,
        _database(request),
        principal.org_id,
        customer_id,
        wanted.cursor,
        wanted.limit,
    )
    if found is None:
        raise NotFound(Problem(NO_CUSTOMER))
    events, after = found
    path = f"{render.customer_path(customer_id)}/timeline"
    links = pagination.timeline_links(path, request.query_params, wanted, after)
    resources = [render.event_resource(event) for event in events]
    return _json(render.list_document(resources, links))


async def delete_customer(request: Request) -> Response:
    """Erase the customer (SPEC 9): 204, or 404 when there is none."""
    principal = await require(request, DELETE_ROLES)
    customer_id = _customer_id(request, "key")
    database = _database(request)
    erased = await run_in_threadpool(
        erase_customer, database, principal.org_id, customer_id
    )
    if not erased:
        raise NotFound(Problem(NO_CUSTOMER))
    return Response(status_code=204)


def _customer_id(request: Request, param: str = "customer") -> str:
    """The customer id of the path; 404 when it cannot be one."""
    customer_id: str = request.path_params[param]
    if not is_id(customer_id):
        raise NotFound(Problem(NO_CUSTOMER))
    return customer_id


def _page(
    request: Request,
    path: str,
    page: pagination.PageRequest,
    has_next: bool,
    resources: list[render.Resource],
) -> Response:
    links = pagination.page_links(path, request.query_params, page, has_next)
    return _json(render.list_document(resources, links))


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _json(document: render.Document) -> Response:
    return Response(render.encode(document), media_type=JSON_TYPE)


routes: list[BaseRoute] = [
    *(lookup_route(kind) for kind in IdentifierKind),
    Route("/v1/customers/{key}", get_customer, methods=["GET"]),
    Route("/v1/customers/{key}", delete_customer, methods=["DELETE"]),
    Route("/v1/customers/{customer}/sessions", list_sessions, methods=["GET"]),
    Route(
        "/v1/customers/{customer}/sessions/{session}/events",
        list_session_events,
        methods=["GET"],
    ),
    Route("/v1/customers/{customer}/events", retired_events, methods=["GET"]),
    Route("/v1/customers/{customer}/events/{event}", get_event, methods=["GET"]),
    Route("/v1/customers/{customer}/timeline", get_timeline, methods=["GET"]),
]
