"""A conflict between identifiers is logged, by kind and customer id only."""

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_resolution import identify

from trackway.logs import configure_logging
from trackway.store.writer import Writer


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("info", stream)
    yield stream
    configure_logging("info")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_conflict_is_logged_without_the_identifier_values(
    writer: Writer, org_id: str, log: io.StringIO
) -> None:
    ann = identify(writer, org_id, externalId="ann-1")["customerId"]
    bob = identify(writer, org_id, email="bob@example.com")["customerId"]

    identify(writer, org_id, externalId="ann-1", email="bob@example.com")

    [conflict] = [e for e in lines(log) if e["event"] == "identity_conflict"]
    assert conflict["customer"] == ann
    assert conflict["conflicts"] == [
        {"kind": "email", "reason": "belongs to another customer", "customerId": bob}
    ]
    assert "bob@example.com" not in log.getvalue()
    assert "ann-1" not in log.getvalue()


def test_a_call_without_conflict_logs_none(
    writer: Writer, org_id: str, log: io.StringIO
) -> None:
    identify(writer, org_id, email="bob@example.com")

    assert [e for e in lines(log) if e["event"] == "identity_conflict"] == []
