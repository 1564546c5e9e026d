"""Which session an event or identity call belongs to.

A client's `sessionId` names its session. Without one, the visitor's
session with an event within the gap of this moment continues; otherwise a
new session starts. Event times decide, so an imported or late event lands
in the session around its own time. A session of one customer never
continues into another customer's calls (a shared device).
"""

from trackway.domain.ids import new_id
from trackway.domain.model import Session, Visitor
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger


def session_for(
    ledger: Ledger,
    visitor: Visitor,
    given: str | None,
    at: int,
    policy: Policy,
) -> str:
    """The sessionId for a call of `visitor` at `at`."""
    if given is not None:
        return given
    gap = policy.session_gap_ms
    session = ledger.session_around(visitor.org_id, visitor.tracking_id, at, gap)
    if session is not None and _same_person(session, visitor):
        return session.session_id
    if _handed_out_recently(visitor, at, gap):
        assert visitor.session_id is not None
        return visitor.session_id
    return new_id(at / 1000)


def remember_session(visitor: Visitor, session_id: str, at: int) -> None:
    """Note the session handed out, so an identity call's session carries on."""
    if visitor.session_at is None or at >= visitor.session_at:
        visitor.session_id = session_id
        visitor.session_at = at


def count_event(
    ledger: Ledger,
    visitor: Visitor,
    session_id: str,
    customer_id: str | None,
    at: int,
) -> Session:
    """Add one event at `at` to the session, creating it when new."""
    fresh = Session(
        org_id=visitor.org_id,
        tracking_id=visitor.tracking_id,
        session_id=session_id,
        id=new_id(at / 1000),
        customer_id=customer_id,
        first_event_at=at,
        last_event_at=at,
        count=0,
    )
    return ledger.add_to_session(fresh, at)


def _same_person(session: Session, visitor: Visitor) -> bool:
    if session.customer_id is None:
        return True
    return session.customer_id == visitor.bound_customer(session.session_id)


def _handed_out_recently(visitor: Visitor, at: int, gap: int) -> bool:
    if visitor.session_id is None or visitor.session_at is None:
        return False
    return abs(at - visitor.session_at) <= gap
