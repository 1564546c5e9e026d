"""`Client`: the API from ordinary (blocking) Python code."""

import logging
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import httpx

from trackway.client import _calls
from trackway.client._calls import Call, Result
from trackway.client._errors import TransportError, api_error
from trackway.client._models import (
    Customer,
    CustomerEvent,
    Event,
    Identity,
    IdentityRecord,
    Session,
    TrackedEvent,
)
from trackway.client._retry import Retry

DEFAULT_TIMEOUT_S = 10.0

_log = logging.getLogger("trackway.client")


class Client:
    """Calls Trackway (or Kustomer) over HTTP, retrying what may succeed
    on a second try.

    `base_url` and `key` default to `TRACKWAY_URL` and `TRACKWAY_KEY`.
    `transport` replaces httpx's network transport (tests pass a mock).
    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: Retry | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url, secret = _calls.settings(base_url, key)
        self.base_url = url
        self.retry = retry or Retry()
        self._http = httpx.Client(
            base_url=url,
            headers=_calls.headers(secret),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def identity(
        self, identity: Identity, *, idempotency_key: str | None = None
    ) -> IdentityRecord:
        """`POST /v1/tracking/identity`: say who the visitor is."""
        call = _calls.identity(identity, idempotency_key)
        return _calls.identity_record(self._send(call))

    def event(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> TrackedEvent:
        """`POST /v1/tracking/event`: record what the visitor did."""
        call = _calls.event(event, idempotency_key)
        return _calls.tracked_event(self._send(call))

    def identity_event(
        self,
        identity: Identity,
        event: Event,
        *,
        idempotency_key: str | None = None,
    ) -> IdentityRecord:
        """`POST /v1/tracking/identityEvent`: both in one call, both or
        neither stored."""
        call = _calls.identity_event(identity, event, idempotency_key)
        return _calls.identity_record(self._send(call))

    def customer(self, customer_id: str) -> Customer:
        """The customer with this id."""
        return self._one(_calls.customer(customer_id), Customer)

    def customer_by_email(self, email: str) -> Customer:
        return self._one(_calls.lookup("email", email), Customer)

    def customer_by_external_id(self, external_id: str) -> Customer:
        return self._one(_calls.lookup("externalId", external_id), Customer)

    def customer_by_phone(self, phone: str) -> Customer:
        return self._one(_calls.lookup("phone", phone), Customer)

    def sessions(self, customer_id: str, *, page_size: int = 100) -> Iterator[Session]:
        """Every session of the customer, latest first, page after page."""
        return self._every(_calls.sessions(customer_id, page_size), Session)

    def session_events(
        self, customer_id: str, session_id: str, *, page_size: int = 100
    ) -> Iterator[CustomerEvent]:
        """Every tracking event of one session (its resource id or its
        sessionId), newest first."""
        call = _calls.session_events(customer_id, session_id, page_size)
        return self._every(call, CustomerEvent)

    def customer_event(self, customer_id: str, event_id: str) -> CustomerEvent:
        """One tracking event or change record of the customer."""
        return self._one(_calls.customer_event(customer_id, event_id), CustomerEvent)

    def timeline(self, customer_id: str, *, limit: int = 50) -> Iterator[CustomerEvent]:
        """Every event and change record of the customer, newest first,
        `limit` per request. Trackway only: Kustomer has no timeline."""
        return self._every(_calls.timeline(customer_id, limit), CustomerEvent)

    def delete_customer(self, customer_id: str) -> None:
        """Erase the customer and everything about her."""
        self._send(_calls.delete_customer(customer_id))

    def _one(self, call: Call, kind: type[Result]) -> Result:
        return _calls.one(self._send(call), kind)

    def _every(self, call: Call, kind: type[Result]) -> Iterator[Result]:
        next_call: Call | None = call
        while next_call is not None:
            found, link = _calls.page(self._send(next_call), kind)
            yield from found
            next_call = None if link is None else _calls.follow(link)

    def _send(self, call: Call) -> httpx.Response:
        request = call.build(self._http)
        attempt = 1
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as error:
                wait = self.retry.delay(attempt, None)
                if wait is None:
                    raise TransportError(str(error) or repr(error), request) from error
                reason = type(error).__name__
            else:
                if response.is_success:
                    return response
                wait = self.retry.delay(attempt, response)
                if wait is None:
                    raise api_error(response)
                reason = str(response.status_code)
            _log.info(
                "retrying %s after %s in %.2f s (try %d)",
                call.method,
                reason,
                wait,
                attempt + 1,
            )
            time.sleep(wait)
            attempt += 1
