"""Prometheus metrics, in a registry of their own.

The registry is made once, when the module is first imported, so every
import shares the same counters. Under `trackway serve --workers N`,
PROMETHEUS_MULTIPROC_DIR is set before the workers start: each writes its
counters to a file there, and `/metrics` sums the files, so any worker
answers for all of them. Labels hold only route templates, methods,
statuses and identity statuses: never ids, orgs or anything a client typed,
so the number of series stays small.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "trackway_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "trackway_request_duration_seconds",
    "Time from request to the end of the response, by method and route.",
    ["method", "route"],
    registry=REGISTRY,
)
EVENTS_WRITTEN = Counter(
    "trackway_events_written",
    "Tracking events stored.",
    registry=REGISTRY,
)
IDENTITIES_WRITTEN = Counter(
    "trackway_identities_written",
    "Identity calls stored, by status: created, updated or anonymous.",
    ["status"],
    registry=REGISTRY,
)
BATCH_SIZES = Histogram(
    "trackway_batch_size",
    "Messages in each Segment batch.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
    registry=REGISTRY,
)

# Any other method is counted as OTHER, so odd clients add no series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; `route` is a template, never a raw path."""
    label = method if method in _METHODS else "OTHER"
    REQUESTS.labels(label, route, str(status)).inc()
    REQUEST_SECONDS.labels(label, route).observe(seconds)


def record_events_written(count: int = 1) -> None:
    EVENTS_WRITTEN.inc(count)


def record_identity_written(status: str) -> None:
    """`status` is the identity status: created, updated or anonymous."""
    IDENTITIES_WRITTEN.labels(status).inc()


def record_batch_size(size: int) -> None:
    BATCH_SIZES.observe(size)


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus text exposition and its content type."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    every_worker = CollectorRegistry()
    multiprocess.MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
    return generate_latest(every_worker), CONTENT_TYPE_LATEST
