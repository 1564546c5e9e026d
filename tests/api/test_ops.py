"""Operational endpoints: health, readiness, metrics and the API document."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from trackway.api import ops
from trackway.api.errors import exception_handlers
from trackway.api.middleware import RequestLogMiddleware
from trackway.api.openapi import openapi_document
from trackway.metrics import (
    record_batch_size,
    record_events_written,
    record_identity_written,
)
from trackway.store.database import Database


def serve(database: Database) -> TestClient:
    app = Starlette(
        routes=ops.routes,
        exception_handlers=exception_handlers,
        middleware=[Middleware(RequestLogMiddleware)],
    )
    app.state.database = database
    return TestClient(app)


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[Database]:
    """A database whose file lies in a folder that does not exist."""
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'trackway.db'}")
    yield database
    database.dispose()


def test_healthz_says_ok(database: Database) -> None:
    response = serve(database).get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["cache-control"] == "no-store"


def test_readyz_says_ok_when_storage_answers(database: Database) -> None:
    response = serve(database).get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_503_with_retry_after_when_storage_is_down(
    unreachable: Database,
) -> None:
    response = serve(unreachable).get("/readyz")

    [error] = response.json()["errors"]
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert (
        error["code"],
        error["detail"],
    ) == ("unavailable", "storage does not answer; try again shortly")


def test_healthz_answers_while_storage_is_down(unreachable: Database) -> None:
    assert serve(unreachable).get("/healthz").status_code == 200


def test_metrics_are_prometheus_text_with_requests_by_route(
    database: Database,
) -> None:
    client = serve(database)
    client.get("/healthz")

    response = client.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain")
    expected = 'trackway_requests_total{method="GET",route="/healthz",status="200"}'
    assert expected in response.text
    assert "trackway_request_duration_seconds_bucket" in response.text


def test_metrics_show_writes_identities_and_batch_sizes(database: Database) -> None:
    record_events_written(3)
    record_identity_written("created")
    record_batch_size(40)

    text = serve(database).get("/metrics").text

    assert "trackway_events_written_total" in text
    assert 'trackway_identities_written_total{status="created"}' in text
    assert 'trackway_batch_size_bucket{le="50.0"}' in text


def test_openapi_json_serves_the_document(database: Database) -> None:
    response = serve(database).get("/openapi.json")

    assert response.headers["content-type"] == "application/json"
    assert openapi_document() == response.json()
