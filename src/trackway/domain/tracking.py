"""Recording a tracking event against its visitor, session and customer."""

from dataclasses import dataclass

from trackway.domain.ids import new_id
from trackway.domain.model import EventCall, TrackingEvent, Visitor
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.resolution import open_visitor
from trackway.domain.sessions import count_event, remember_session, session_for


@dataclass(frozen=True, slots=True)
class Recorded:
    event_id: str
    tracking_id: str
    session_id: str
    customer_id: str | None


def record_event(
    ledger: Ledger,
    org_id: str,
    call: EventCall,
    now: int,
    policy: Policy,
    event_id: str | None = None,
    visitor: Visitor | None = None,
) -> Recorded:
    """Store one event; a bound visitor's events go to its customer.

    `call.published_at` is the event's own time (receive time for Kustomer
    calls, the source's time for imports); `now` is when it is written.
    `event_id` names the event instead of a fresh id (imports derive it
    from the row, so a second run can tell the row is stored). `visitor`
    is the call's visitor when this transaction has it already (as after
    an identity call), which spares reading it again.
    """
    at = call.published_at
    if visitor is None or visitor.tracking_id != call.tracking_id:
        visitor = open_visitor(ledger, org_id, call.tracking_id, now)
    session_id = session_for(ledger, visitor, call.session_id, at, policy)
    customer_id = visitor.bound_customer(session_id)
    session = count_event(ledger, visitor, session_id, customer_id, at)
    event = TrackingEvent(
        org_id=org_id,
        id=event_id or new_id(at / 1000),
        customer_id=customer_id,
        tracking_id=visitor.tracking_id,
        session_id=session.session_id,
        name=call.name,
        meta=call.meta,
        published_at=at,
        created_at=now,
        real_ip=call.real_ip,
    )
    ledger.insert_event(event)
    if customer_id is not None:
        ledger.touch_customer(org_id, customer_id, at)
    remember_session(visitor, session_id, at)
    visitor.updated_at = now
    ledger.update_visitor(visitor)
    return Recorded(event.id, visitor.tracking_id, session_id, customer_id)
