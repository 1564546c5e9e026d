"""Operational endpoints (SPEC 7): liveness, readiness, metrics and the
OpenAPI document. None of them needs a key, and none reveals org data.
"""

from functools import cache

import anyio
import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway.api.openapi import openapi_document
from trackway.api.schemas import Status
from trackway.domain.errors import Unavailable
from trackway.metrics import render_metrics
from trackway.store.database import Database

JSON_TYPE = "application/json"
# How long /readyz waits for a database that has no request timeout.
READY_TIMEOUT_S = 10.0
# Probes and scrapes must see the present, never a cached answer.
_FRESH = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> Response:
    """200 `{"status": "ok"}` while the process can answer at all."""
    return _ok()


async def readyz(request: Request) -> Response:
    """200 `{"status": "ok"}` when storage answers a query within the
    request timeout, else 503 `unavailable` with Retry-After."""
    database: Database = request.app.state.database
    limits = database.limits
    timeout = READY_TIMEOUT_S if limits is None else limits.timeout_s
    # A storage that hangs leaves its thread behind, not the probe.
    with anyio.move_on_after(timeout):
        if await anyio.to_thread.run_sync(database.ping, abandon_on_cancel=True):
            return _ok()
    raise Unavailable("storage does not answer; try again shortly")


async def metrics(_request: Request) -> Response:
    body, media_type = render_metrics()
    return Response(body, headers=_FRESH, media_type=media_type)


async def openapi(_request: Request) -> Response:
    return Response(_openapi_json(), media_type=JSON_TYPE)


@cache
def _openapi_json() -> bytes:
    # The document depends only on code, so it is built once per process.
    return msgspec.json.encode(openapi_document())


def _ok() -> Response:
    body = msgspec.json.encode(Status("ok"))
    return Response(body, headers=_FRESH, media_type=JSON_TYPE)


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
