"""The calls of the API as data, and their answers as results.

Both clients build the same `Call`s and read answers with the same
functions; they differ only in how they wait for the network.
"""

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import httpx
import msgspec

from trackway.client._errors import ConfigurationError, TrackwayError
from trackway.client._models import (
    Event,
    Identity,
    IdentityRecord,
    TrackedEvent,
)

DEFAULT_URL = "http://127.0.0.1:8080"
KUSTOMER_URL = "https://api.kustomerapp.com"
USER_AGENT = "trackway-client/1"
MAX_PAGE_SIZE = 100
MAX_TIMELINE_LIMIT = 100

Result = TypeVar("Result", bound=msgspec.Struct)


class UnexpectedResponse(TrackwayError):
    """A 2xx answer whose body is not what the call returns."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.request = response.request
        self.response = response


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request of the API. A call with an `idempotency_key` is
    safe to send again: the server records it once."""

    method: str
    path: str
    body: bytes | None = None
    params: Mapping[str, int] | None = None
    idempotency_key: str | None = None

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        return http.build_request(
            self.method,
            self.path,
            content=self.body,
            params=self.params,
            headers=headers,
        )


class _Both(msgspec.Struct, omit_defaults=True):
    identity: Identity
    event: Event


def identity(body: Identity, key: str | None) -> Call:
    return _track("identity", msgspec.json.encode(body), key)


def event(body: Event, key: str | None) -> Call:
    return _track("event", msgspec.json.encode(body), key)


def identity_event(identity: Identity, event: Event, key: str | None) -> Call:
    body = msgspec.json.encode(_Both(identity, event))
    return _track("identityEvent", body, key)


def _track(endpoint: str, body: bytes, key: str | None) -> Call:
    key = key or uuid.uuid4().hex
    return Call("POST", f"/v1/tracking/{endpoint}", body, idempotency_key=key)


def customer(customer_id: str) -> Call:
    return Call("GET", _customer_path(customer_id))


def lookup(kind: str, value: str) -> Call:
    """`/v1/customers/<kind>=<value>`, the value percent-encoded whole."""
    return Call("GET", f"/v1/customers/{kind}={_segment(value)}")


def sessions(customer_id: str, page_size: int) -> Call:
    _check_range("page_size", page_size, MAX_PAGE_SIZE)
    path = f"{_customer_path(customer_id)}/sessions"
    return Call("GET", path, params={"pageSize": page_size})


def session_events(customer_id: str, session_id: str, page_size: int) -> Call:
    _check_range("page_size", page_size, MAX_PAGE_SIZE)
    session = _segment(session_id)
    path = f"{_customer_path(customer_id)}/sessions/{session}/events"
    return Call("GET", path, params={"pageSize": page_size})


def customer_event(customer_id: str, event_id: str) -> Call:
    path = f"{_customer_path(customer_id)}/events/{_segment(event_id)}"
    return Call("GET", path)


def timeline(customer_id: str, limit: int) -> Call:
    _check_range("limit", limit, MAX_TIMELINE_LIMIT)
    path = f"{_customer_path(customer_id)}/timeline"
    return Call("GET", path, params={"limit": limit})


def delete_customer(customer_id: str) -> Call:
    return Call("DELETE", _customer_path(customer_id))


def follow(link: str) -> Call:
    """The call for a `links.next` of a list (a path with its query)."""
    return Call("GET", link)


def _customer_path(customer_id: str) -> str:
    return f"/v1/customers/{_segment(customer_id)}"


def _segment(value: str) -> str:
    if not value:
        raise ValueError("ids and lookup values cannot be empty")
    return quote(value, safe="")


def _check_range(name: str, value: int, highest: int) -> None:
    if not 1 <= value <= highest:
        raise ValueError(f"{name} must be 1 to {highest}")


# Answers.


class _Resource(msgspec.Struct):
    id: str
    attributes: dict[str, Any] = {}
    relationships: dict[str, Any] = {}


class _One(msgspec.Struct):
    data: _Resource


class _Links(msgspec.Struct, frozen=True):
    next: str | None = None


class _Many(msgspec.Struct):
    data: list[_Resource]
    links: _Links = _Links()


def identity_record(response: httpx.Response) -> IdentityRecord:
    return one(response, IdentityRecord)


def tracked_event(response: httpx.Response) -> TrackedEvent:
    """The ids of a recorded event, which Trackway sends as headers
    (percent-encoded where they are not printable ASCII)."""
    headers = response.headers
    tracking_id, session_id = headers.get("x-tracking-id"), headers.get("x-session-id")
    return TrackedEvent(
        tracking_id=None if tracking_id is None else unquote(tracking_id),
        session_id=None if session_id is None else unquote(session_id),
    )


def one(response: httpx.Response, kind: type[Result]) -> Result:
    """The result in a `{"data": resource}` answer."""
    document = _decode(response, _One)
    return _flat(response, document.data, kind)


def page(
    response: httpx.Response, kind: type[Result]
) -> tuple[list[Result], str | None]:
    """The results of one page of a list, and the link of the next page
    (None on the last)."""
    document = _decode(response, _Many)
    found = [_flat(response, resource, kind) for resource in document.data]
    return found, document.links.next


def _decode(response: httpx.Response, shape: type[Result]) -> Result:
    try:
        return msgspec.json.decode(response.content, type=shape)
    except msgspec.DecodeError as error:
        raise UnexpectedResponse(f"unreadable answer: {error}", response) from None


def _flat(response: httpx.Response, resource: _Resource, kind: type[Result]) -> Result:
    """A resource's attributes with its id and its customer's id."""
    fields = {**resource.attributes, "id": resource.id}
    owner = _related_id(resource.relationships.get("customer"))
    if owner is not None:
        fields.setdefault("customerId", owner)
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as error:
        message = f"unreadable {kind.__name__}: {error}"
        raise UnexpectedResponse(message, response) from None


def _related_id(relationship: Any) -> str | None:
    if not isinstance(relationship, dict):
        return None
    data = relationship.get("data")
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def settings(base_url: str | None, key: str | None) -> tuple[str, str]:
    """The base URL and key from the arguments, else from `TRACKWAY_URL`
    and `TRACKWAY_KEY`; the URL defaults to a local Trackway."""
    url = base_url or os.environ.get("TRACKWAY_URL") or DEFAULT_URL
    key = key or os.environ.get("TRACKWAY_KEY")
    if not key:
        raise ConfigurationError(
            "no API key: pass key=... or set TRACKWAY_KEY"
            " (a Trackway key, or a Kustomer API key for Kustomer)"
        )
    return url.rstrip("/"), key


def headers(key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
