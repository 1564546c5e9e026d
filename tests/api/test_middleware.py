"""The request pipeline: ids, the one log line per request, metrics, and
the canonical error body for routing errors and crashes."""

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from trackway.api.body import read_json
from trackway.api.errors import (
    RateLimited,
    error_response,
    exception_handlers,
)
from trackway.api.middleware import RequestLogMiddleware
from trackway.domain.errors import Invalid, Problem, TrackwayError, Unavailable
from trackway.domain.ratelimit import Quota
from trackway.logs import configure_logging
from trackway.metrics import REGISTRY
from trackway.settings import Settings

LogLines = Callable[[], list[dict[str, Any]]]


async def show_customer(request: Request) -> Response:
    request.state.org_id = "org-1"
    return Response(b"{}", media_type="application/json")


async def track(request: Request) -> Response:
    request.state.org_id = "org-2"
    await read_json(request, Settings())
    return Response(status_code=201)


async def crash(_request: Request) -> Response:
    raise RuntimeError("the store fell over")


async def refuse(_request: Request) -> Response:
    raise Invalid(Problem("a is wrong", "/a"), Problem("b is wrong", "/b"))


async def show_item(_request: Request) -> Response:
    return Response(status_code=204)


def pipeline() -> TestClient:
    routes = [
        Route("/v1/customers/{id}", show_customer, methods=["GET"]),
        Route("/v1/tracking/event", track, methods=["POST"]),
        Route("/v1/items/{item}", show_item, methods=["GET"]),
        Route("/v1/items/{item}", show_item, methods=["DELETE"]),
        Route("/crash", crash),
        Route("/refuse", refuse),
        Mount("/v2", routes=[Route("/items/{item}", show_item)]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers=exception_handlers,
        middleware=[Middleware(RequestLogMiddleware)],
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The JSON lines the server writes, parsed, for the test's duration."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("info", stream)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines

    structlog.reset_defaults()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def request_lines(lines: LogLines) -> list[dict[str, Any]]:
    return [line for line in lines() if line["logger"] == "trackway.request"]


def requests_counted(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("trackway_requests_total", labels) or 0.0


class TestRequestLog:
    def test_a_request_logs_one_line_with_route_template_status_and_org(
        self, log_lines: LogLines
    ) -> None:
        client = pipeline()

        response = client.get("/v1/customers/abc123")

        [line] = request_lines(log_lines)
        assert {
            "event": "request",
            "level": "info",
            "method": "GET",
            "route": "/v1/customers/{id}",
            "status": 200,
            "org": "org-1",
            "request_id": response.headers["x-request-id"],
        }.items() <= line.items()
        assert isinstance(line["duration_ms"], float)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"])

    def test_mounted_routes_log_the_whole_template(self, log_lines: LogLines) -> None:
        client = pipeline()

        client.get("/v2/items/42")

        [line] = request_lines(log_lines)
        assert (line["route"], line["status"]) == ("/v2/items/{item}", 204)

    def test_unmatched_paths_log_no_route(self, log_lines: LogLines) -> None:
        client = pipeline()

        client.get("/v1/nowhere/secret-token")

        [line] = request_lines(log_lines)
        assert (line["route"], line["status"], line["org"]) == (None, 404, None)

    def test_lines_hold_no_body_key_email_phone_or_ip(
        self, log_lines: LogLines
    ) -> None:
        client = pipeline()
        headers = {
            "Authorization": "Bearer tw_secret_key_123",
            "X-Forwarded-For": "203.0.113.9",
        }
        body = {"email": "jane@example.com", "phone": "+14155550100"}

        response = client.post("/v1/tracking/event", json=body, headers=headers)

        text = json.dumps(log_lines())
        assert response.status_code == 201
        for secret in ("tw_secret", "jane@", "4155550100", "203.0.113", "email"):
            assert secret not in text
        [line] = request_lines(log_lines)
        assert line["org"] == "org-2"

    def test_a_crash_is_logged_as_500_with_the_traceback(
        self, log_lines: LogLines
    ) -> None:
        client = pipeline()

        response = client.get("/crash")

        lines = log_lines()
        [request_line] = request_lines(log_lines)
        [crash_line] = [x for x in lines if x["event"] == "unhandled_exception"]
        assert (request_line["status"], request_line["level"]) == (500, "error")
        assert "RuntimeError: the store fell over" in crash_line["exception"]
        assert response.headers["x-request-id"] == crash_line["request_id"]


class TestRequestIds:
    def test_a_sane_incoming_request_id_is_echoed(self) -> None:
        client = pipeline()

        response = client.get("/v2/items/1", headers={"X-Request-Id": "abc-123.X:9"})

        assert response.headers["x-request-id"] == "abc-123.X:9"

    @pytest.mark.parametrize(
        "incoming", [b"a" * 129, b"has space", b'quote"d', b"semi;colon", b"\xc3\xa9"]
    )
    def test_an_odd_incoming_request_id_is_replaced(self, incoming: bytes) -> None:
        client = pipeline()

        response = client.get("/v2/items/1", headers=[(b"x-request-id", incoming)])

        assert re.fullmatch(r"[0-9a-f]{24}", response.headers["x-request-id"])

    def test_each_request_without_an_id_gets_a_new_one(self) -> None:
        client = pipeline()

        first = client.get("/v2/items/1").headers["x-request-id"]
        second = client.get("/v2/items/1").headers["x-request-id"]

        assert first != second

    def test_error_responses_carry_the_request_id(self) -> None:
        client = pipeline()

        response = client.get("/nowhere", headers={"X-Request-Id": "r-1"})

        assert response.headers["x-request-id"] == "r-1"


class TestMetrics:
    def test_requests_are_counted_by_method_route_and_status(self) -> None:
        client = pipeline()
        before = requests_counted("GET", "/v2/items/{item}", 204)
        unmatched = requests_counted("GET", "unmatched", 404)

        client.get("/v2/items/1")
        client.get("/v2/items/2")
        client.get("/nowhere")

        assert before + 2 == requests_counted("GET", "/v2/items/{item}", 204)
        assert unmatched + 1 == requests_counted("GET", "unmatched", 404)

    def test_odd_methods_are_counted_as_other(self) -> None:
        client = pipeline()
        before = requests_counted("OTHER", "/v2/items/{item}", 405)

        client.request("BREW", "/v2/items/1")

        assert before + 1 == requests_counted("OTHER", "/v2/items/{item}", 405)


class TestErrorBodies:
    def test_unmatched_path_is_404_not_found(self) -> None:
        client = pipeline()

        response = client.get("/v1/unknown")

        assert response.status_code == 404
        assert response.json() == {
            "errors": [
                {
                    "status": "404",
                    "code": "not_found",
                    "title": "Not Found",
                    "detail": "no endpoint has this path",
                    "message": "no endpoint has this path",
                    "meta": {},
                }
            ]
        }

    def test_wrong_method_is_405_with_the_allow_header(self) -> None:
        client = pipeline()

        response = client.delete("/v1/customers/abc")

        [error] = response.json()["errors"]
        assert response.status_code == 405
        assert {"GET", "HEAD"} == set(response.headers["allow"].split(", "))
        assert (
            error["code"],
            error["title"],
        ) == ("method_not_allowed", "Method Not Allowed")
        allowed = response.headers["allow"]
        assert f"DELETE is not allowed here; allowed: {allowed}" == error["detail"]

    def test_405_names_the_methods_of_every_route_of_the_path(self) -> None:
        """Starlette's own Allow names only the first route that matched."""
        client = pipeline()

        response = client.options("/v1/items/abc")

        assert response.status_code == 405
        allowed = response.headers["allow"]
        assert {"DELETE", "GET", "HEAD"} == set(allowed.split(", "))
        [error] = response.json()["errors"]
        assert f"OPTIONS is not allowed here; allowed: {allowed}" == error["detail"]

    def test_a_crash_is_500_with_a_generic_body(self) -> None:
        client = pipeline()

        response = client.get("/crash")

        [error] = response.json()["errors"]
        assert response.status_code == 500
        assert (error["status"], error["code"]) == ("500", "internal_error")
        assert "store fell over" not in response.text
        assert "Traceback" not in response.text

    def test_each_problem_is_one_entry_with_its_pointer(self) -> None:
        client = pipeline()

        response = client.get("/refuse")

        errors = response.json()["errors"]
        assert [(e["detail"], e["source"]["pointer"]) for e in errors] == [
            ("a is wrong", "/a"),
            ("b is wrong", "/b"),
        ]

    def test_an_error_without_problems_has_one_entry_saying_its_title(self) -> None:
        response = error_response(TrackwayError())

        [error] = json.loads(bytes(response.body))["errors"]
        assert (
            error["status"],
            error["code"],
            error["detail"],
        ) == ("500", "internal_error", "Internal Server Error")

    def test_unavailable_is_503_with_retry_after(self) -> None:
        response = error_response(Unavailable(retry_after_s=7))

        [error] = json.loads(bytes(response.body))["errors"]
        assert (response.status_code, response.headers["retry-after"]) == (503, "7")
        assert (
            error["code"],
            error["title"],
        ) == ("unavailable", "Service Unavailable")

    def test_rate_limited_is_429_with_the_rate_limit_headers(self) -> None:
        error = RateLimited(Quota(300, 301, 1_796_292_060, now_s=1_796_292_048.5))

        response = error_response(error, {"X-Extra": "1"})

        assert response.status_code == 429
        assert {
            "retry-after": "12",
            "x-ratelimit-limit": "300",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1796292060",
            "x-extra": "1",
        }.items() <= dict(response.headers).items()
        assert json.loads(bytes(response.body))["errors"][0]["code"] == "rate_limited"
