"""How the client reads answers it did not get from Trackway: Kustomer's
richer resources, error bodies of other shapes, and bodies it cannot
read. The server is an `httpx.MockTransport`."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from trackway.client import (
    KUSTOMER_URL,
    ApiError,
    Client,
    Retry,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
)

CUSTOMER_ID = "5f0c8e3a9d1b2c0012345678"


def answering(response: httpx.Response) -> Client:
    transport = httpx.MockTransport(lambda request: response)
    return Client(KUSTOMER_URL, "k", retry=Retry(attempts=1), transport=transport)


def test_a_kustomer_customer_with_more_attributes_and_relationships_reads() -> None:
    body: dict[str, Any] = {
        "data": {
            "type": "customer",
            "id": CUSTOMER_ID,
            "attributes": {
                "name": "Jane Doe",
                "displayName": "Jane Doe",
                "emails": [{"type": "home", "email": "jane@example.com"}],
                "conversationCounts": {"all": 3},
                "createdAt": "2026-12-03T10:00:00.000Z",
                "rev": 7,
            },
            "relationships": {
                "org": {"data": {"type": "org", "id": "o1"}},
                "messages": {"links": {"self": "/v1/customers/x/messages"}},
                "tags": {"data": [{"type": "tag", "id": "t1"}]},
            },
        }
    }

    with answering(httpx.Response(200, json=body)) as api:
        customer = api.customer(CUSTOMER_ID)

    assert (customer.id, customer.name, customer.rev) == (CUSTOMER_ID, "Jane Doe", 7)
    assert [e.email for e in customer.emails] == ["jane@example.com"]
    assert datetime(2026, 12, 3, 10, tzinfo=UTC) == customer.created_at


def test_an_error_body_in_another_shape_keeps_its_text() -> None:
    answer = httpx.Response(502, text="Bad gateway from the proxy")

    with answering(answer) as api, pytest.raises(ServerError) as raised:
        api.customer(CUSTOMER_ID)

    assert (raised.value.status, raised.value.code) == (502, None)
    assert raised.value.detail == "Bad gateway from the proxy"


def test_every_problem_of_an_error_answer_is_kept() -> None:
    body = {
        "errors": [
            {"status": 401, "code": "auth", "title": "Unauthorized"},
            {"status": 401, "message": "key expired"},
        ]
    }

    refused = answering(httpx.Response(401, json=body))

    with refused as api, pytest.raises(Unauthorized) as raised:
        api.customer(CUSTOMER_ID)

    error = raised.value
    assert (error.code, error.detail) == ("auth", "Unauthorized")
    assert [p.title or p.detail for p in error.problems] == [
        "Unauthorized",
        "key expired",
    ]


def test_an_unmapped_status_is_a_plain_api_error() -> None:
    teapot = answering(httpx.Response(418, json={"errors": []}))

    with teapot as api, pytest.raises(ApiError) as raised:
        api.customer(CUSTOMER_ID)

    assert ApiError is type(raised.value)


def test_a_success_that_is_not_a_resource_is_unexpected() -> None:
    answer = httpx.Response(200, text="<html>maintenance</html>")

    with answering(answer) as api, pytest.raises(UnexpectedResponse):
        api.customer(CUSTOMER_ID)


def test_lookup_values_are_sent_percent_encoded_whole() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": CUSTOMER_ID}})

    transport = httpx.MockTransport(record)
    with Client(KUSTOMER_URL, "k", transport=transport) as api:
        api.customer_by_phone("+1 415/555")
        api.customer_by_email("jane@example.com")

    paths = [r.url.raw_path.decode() for r in seen]
    assert paths == [
        "/v1/customers/phone=%2B1%20415%2F555",
        "/v1/customers/email=jane%40example.com",
    ]
