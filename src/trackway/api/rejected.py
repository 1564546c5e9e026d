"""`GET /v1/rejected`: the org's refused Segment messages of the last week.

Refused messages hold what their senders sent, emails included, so the
list needs a customer reader's key, never a write key.
"""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway.api import pagination, render
from trackway.api.auth import require
from trackway.domain.roles import CUSTOMER_READ_ROLES
from trackway.domain.times import format_ms
from trackway.store import rejected
from trackway.store.rejected import RejectedMessage

PATH = "/v1/rejected"


async def list_rejected(request: Request) -> Response:
    """Refused messages, newest first, in numbered pages."""
    principal = await require(request, CUSTOMER_READ_ROLES)
    page = pagination.page_request(request.query_params)
    offset = (page.page - 1) * page.page_size
    found = await run_in_threadpool(
        rejected.recent,
        request.app.state.database,
        principal.org_id,
        offset,
        page.page_size + 1,
    )
    has_next = len(found) > page.page_size
    links = pagination.page_links(PATH, request.query_params, page, has_next)
    resources = [rejected_resource(r) for r in found[: page.page_size]]
    document = render.list_document(resources, links)
    return Response(render.encode(document), media_type="application/json")


def rejected_resource(refused: RejectedMessage) -> render.Resource:
    """One refused message.

    ```
    {"type": "rejected_message", "id": "<24 hex>",
     "attributes": {"receivedAt": "2026-12-03T10:00:00.000Z", "index": 3,
       "messageId": "m-1", "reason": "traits.email is not a valid ...",
       "message": {"type": "identify", ...}}}
    ```
    """
    return {
        "type": "rejected_message",
        "id": refused.id,
        "attributes": {
            "receivedAt": format_ms(refused.received_at),
            "index": refused.index,
            "messageId": refused.message_id,
            "reason": refused.reason,
            "message": refused.message,
        },
    }


routes: list[BaseRoute] = [Route(PATH, list_rejected, methods=["GET"])]
