"""The write path: one transaction per tracking call, all or nothing.

Validation happens before this module is called; here the call's identity
is resolved, its event recorded, and its answer rendered and stored for
`Idempotency-Key` repeats, inside one transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from trackway import metrics
from trackway.domain.model import EventCall, IdentityCall
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.resolution import RaceLost, Resolution, resolve
from trackway.domain.times import now_ms
from trackway.domain.tracking import Recorded, record_event
from trackway.logs import get_logger
from trackway.store import idempotency
from trackway.store.database import Database
from trackway.store.idempotency import IdempotencyKey, StoredResponse
from trackway.store.ledger import SqlLedger

_log = get_logger("trackway.identity")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tracking call did; either part may be absent."""

    resolution: Resolution | None
    recorded: Recorded | None

    @property
    def customer_id(self) -> str | None:
        if self.resolution is not None:
            return self.resolution.customer_id
        return None if self.recorded is None else self.recorded.customer_id


Render = Callable[[Outcome], StoredResponse]


class Writer:
    def __init__(self, database: Database, policy: Policy) -> None:
        self.database = database
        self.policy = policy

    def track(
        self,
        org_id: str,
        identity: IdentityCall | None,
        event: EventCall | None,
        render: Render,
        key: IdempotencyKey | None = None,
    ) -> StoredResponse:
        """Apply an identity call, an event, or both, and render the answer.

        In a combined call the event takes the identity's trackingId and
        sessionId when it names none.
        """
        work = self._work(org_id, identity, event, render, key)
        response, outcome = self.database.transact(work, retry_on=(RaceLost,))
        return self._answer(org_id, response, outcome)

    async def track_async(
        self,
        org_id: str,
        identity: IdentityCall | None,
        event: EventCall | None,
        render: Render,
        key: IdempotencyKey | None = None,
    ) -> StoredResponse:
        """`track` for the event loop, which it does not block."""
        work = self._work(org_id, identity, event, render, key)
        transaction = self.database.transact_async(work, retry_on=(RaceLost,))
        response, outcome = await transaction
        return self._answer(org_id, response, outcome)

    def _work(
        self,
        org_id: str,
        identity: IdentityCall | None,
        event: EventCall | None,
        render: Render,
        key: IdempotencyKey | None,
    ) -> Callable[[Connection], tuple[StoredResponse, Outcome | None]]:
        def once(connection: Connection) -> tuple[StoredResponse, Outcome | None]:
            return self._once(connection, org_id, identity, event, render, key)

        return once

    def _answer(
        self, org_id: str, response: StoredResponse, outcome: Outcome | None
    ) -> StoredResponse:
        if outcome is not None:
            report(org_id, outcome)
        return response

    def _once(
        self,
        connection: Connection,
        org_id: str,
        identity: IdentityCall | None,
        event: EventCall | None,
        render: Render,
        key: IdempotencyKey | None,
    ) -> tuple[StoredResponse, Outcome | None]:
        """The call's answer, and what it wrote (None for a replayed answer)."""
        now = now_ms()
        window = self.policy.dedupe_window_ms
        if key is not None:
            prior = idempotency.claim(connection, org_id, key, now, window)
            if prior is not None:
                return prior, None
        ledger = SqlLedger(connection)
        outcome = apply(ledger, org_id, identity, event, now, self.policy)
        response = render(outcome)
        if key is not None:
            customer_id = outcome.customer_id
            idempotency.save(connection, org_id, key, response, customer_id)
        return response, outcome


def apply(
    ledger: Ledger,
    org_id: str,
    identity: IdentityCall | None,
    event: EventCall | None,
    now: int,
    policy: Policy,
    at: int | None = None,
) -> Outcome:
    """Resolve the identity at `at` (default `now`), then record the event.

    `now` is when the records are written; the event keeps its own
    `published_at`.
    """
    resolution = recorded = None
    if identity is not None:
        when = now if at is None else at
        resolution = resolve(ledger, org_id, identity, when, policy, written_at=now)
    if event is not None:
        event = _inherit(event, resolution)
        visitor = None if resolution is None else resolution.visitor
        recorded = record_event(ledger, org_id, event, now, policy, visitor=visitor)
    return Outcome(resolution, recorded)


def report(org_id: str, outcome: Outcome) -> None:
    """Metrics and log lines for a committed call (a replay wrote nothing).

    A conflict is logged by identifier kind and customer id, never value.
    """
    resolution = outcome.resolution
    if resolution is not None:
        metrics.record_identity_written(resolution.status)
        if resolution.conflicts:
            _log.info(
                "identity_conflict",
                org=org_id,
                customer=resolution.customer_id,
                conflicts=resolution.conflicts,
            )
    if outcome.recorded is not None:
        metrics.record_events_written()


def _inherit(event: EventCall, resolution: Resolution | None) -> EventCall:
    if resolution is None:
        return event
    return replace(
        event,
        tracking_id=event.tracking_id or resolution.visitor.tracking_id,
        session_id=event.session_id or resolution.session_id,
    )
