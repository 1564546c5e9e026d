"""Operational endpoints (SPEC 7): liveness, readiness, metrics and the
OpenAPI document. None of them needs a key, and none reveals org data.
"""

from collections.abc import Callable
from functools import cache

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from trackway.api.openapi import openapi_document
from trackway.api.schemas import Status
from trackway.domain.errors import Unavailable
from trackway.metrics import render_metrics

JSON_TYPE = "application/json"
# Probes and scrapes must see the present, never a cached answer.
_FRESH = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> Response:
    """200 `{"status": "ok"}` while the process can answer at all."""
    return _ok()


async def readyz(request: Request) -> Response:
    """200 `{"status": "ok"}` when storage answers a query, else 503
    `unavailable` with Retry-After."""
    ping: Callable[[], bool] = request.app.state.database.ping
    if not await run_in_threadpool(ping):
        raise Unavailable("storage does not answer; try again shortly")
    return _ok()


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
