"""`AsyncClient`: the API from asyncio code; the same calls as `Client`,
awaited."""

import asyncio
import logging
from collections.abc import AsyncIterator
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
from trackway.client._sync import DEFAULT_TIMEOUT_S

_log = logging.getLogger("trackway.client")


class AsyncClient:
    """`Client` for asyncio: every call is awaited, lists are async
    iterators. Use it with `async with`, or await `aclose()`."""

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: Retry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url, secret = _calls.settings(base_url, key)
        self.base_url = url
        self.retry = retry or Retry()
        self._http = httpx.AsyncClient(
            base_url=url,
            headers=_calls.headers(secret),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def identity(
        self, identity: Identity, *, idempotency_key: str | None = None
    ) -> IdentityRecord:
        call = _calls.identity(identity, idempotency_key)
        return _calls.identity_record(await self._send(call))

    async def event(
        self, event: Event, *, idempotency_key: str | None = None
    ) -> TrackedEvent:
        call = _calls.event(event, idempotency_key)
        return _calls.tracked_event(await self._send(call))

    async def identity_event(
        self,
        identity: Identity,
        event: Event,
        *,
        idempotency_key: str | None = None,
    ) -> IdentityRecord:
        call = _calls.identity_event(identity, event, idempotency_key)
        return _calls.identity_record(await self._send(call))

    async def customer(self, customer_id: str) -> Customer:
        return await self._one(_calls.customer(customer_id), Customer)

    async def customer_by_email(self, email: str) -> Customer:
        return await self._one(_calls.lookup("email", email), Customer)

    async def customer_by_external_id(self, external_id: str) -> Customer:
        return await self._one(_calls.lookup("externalId", external_id), Customer)

    async def customer_by_phone(self, phone: str) -> Customer:
        return await self._one(_calls.lookup("phone", phone), Customer)

    def sessions(
        self, customer_id: str, *, page_size: int = 100
    ) -> AsyncIterator[Session]:
        return self._every(_calls.sessions(customer_id, page_size), Session)

    def session_events(
        self, customer_id: str, session_id: str, *, page_size: int = 100
    ) -> AsyncIterator[CustomerEvent]:
        call = _calls.session_events(customer_id, session_id, page_size)
        return self._every(call, CustomerEvent)

    async def customer_event(self, customer_id: str, event_id: str) -> CustomerEvent:
        call = _calls.customer_event(customer_id, event_id)
        return await self._one(call, CustomerEvent)

    def timeline(
        self, customer_id: str, *, limit: int = 50
    ) -> AsyncIterator[CustomerEvent]:
        return self._every(_calls.timeline(customer_id, limit), CustomerEvent)

    async def delete_customer(self, customer_id: str) -> None:
        await self._send(_calls.delete_customer(customer_id))

    async def _one(self, call: Call, kind: type[Result]) -> Result:
        return _calls.one(await self._send(call), kind)

    async def _every(self, call: Call, kind: type[Result]) -> AsyncIterator[Result]:
        next_call: Call | None = call
        while next_call is not None:
            found, link = _calls.page(await self._send(next_call), kind)
            for result in found:
                yield result
            next_call = None if link is None else _calls.follow(link)

    async def _send(self, call: Call) -> httpx.Response:
        request = call.build(self._http)
        attempt = 1
        while True:
            try:
                response = await self._http.send(request)
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
            await asyncio.sleep(wait)
            attempt += 1
