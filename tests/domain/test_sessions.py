"""Which session a call belongs to (SPEC 5.5), on an in-memory ledger."""

from typing import cast

from trackway.domain.ids import is_id
from trackway.domain.model import Session, Visitor
from trackway.domain.policy import Policy
from trackway.domain.ports import Ledger
from trackway.domain.sessions import remember_session, session_for

ORG = "0123456789abcdef01234567"
T0 = 1_796_292_000_000
MINUTE = 60_000
POLICY = Policy()  # a 30-minute gap


class SessionBook:
    """The two ledger reads `session_for` makes, over a list of sessions."""

    def __init__(self, *sessions: Session) -> None:
        self.sessions = list(sessions)

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        near = [
            s
            for s in self.sessions
            if (s.org_id, s.tracking_id) == (org_id, tracking_id)
            and s.last_event_at >= at - gap
            and s.first_event_at <= at + gap
        ]
        return max(near, key=lambda s: s.last_event_at, default=None)


def ledger(*sessions: Session) -> Ledger:
    return cast(Ledger, SessionBook(*sessions))


def session(
    session_id: str, first: int, last: int, customer_id: str | None = None
) -> Session:
    return Session(ORG, "v1", session_id, "0" * 24, customer_id, first, last, 1)


def visitor(customer_id: str | None = None, remember: bool = True) -> Visitor:
    return Visitor(
        org_id=ORG,
        tracking_id="v1",
        identity_id="1" * 24,
        created_at=T0,
        updated_at=T0,
        customer_id=customer_id,
        remember=remember,
    )


class TestSessionFor:
    def test_session_id_from_the_client_names_the_session(self) -> None:
        book = ledger(session("s1", T0, T0))

        assert session_for(book, visitor(), "mine", T0, POLICY) == "mine"

    def test_first_call_of_a_visitor_starts_a_server_made_session(self) -> None:
        made = session_for(ledger(), visitor(), None, T0, POLICY)

        assert is_id(made)
        assert int(made[:8], 16) == T0 // 1000

    def test_session_with_an_event_within_the_gap_continues(self) -> None:
        book = ledger(session("s1", T0, T0 + 5 * MINUTE))

        at = T0 + 34 * MINUTE

        assert session_for(book, visitor(), None, at, POLICY) == "s1"

    def test_event_exactly_one_gap_after_the_last_continues_the_session(
        self,
    ) -> None:
        book = ledger(session("s1", T0, T0))

        assert session_for(book, visitor(), None, T0 + 30 * MINUTE, POLICY) == "s1"

    def test_event_just_past_the_gap_starts_a_new_session(self) -> None:
        book = ledger(session("s1", T0, T0))

        made = session_for(book, visitor(), None, T0 + 30 * MINUTE + 1, POLICY)

        assert made != "s1"

    def test_late_event_lands_in_the_session_around_its_time(self) -> None:
        early = session("early", T0, T0 + 10 * MINUTE)
        late = session("late", T0 + 3 * 60 * MINUTE, T0 + 3 * 60 * MINUTE)

        found = session_for(ledger(early, late), visitor(), None, T0 + MINUTE, POLICY)

        assert found == "early"

    def test_gap_follows_the_policy(self) -> None:
        book = ledger(session("s1", T0, T0))
        five_minutes = Policy(session_gap_ms=5 * MINUTE)

        made = session_for(book, visitor(), None, T0 + 6 * MINUTE, five_minutes)

        assert made != "s1"

    def test_anonymous_session_continues_once_the_visitor_is_identified(
        self,
    ) -> None:
        book = ledger(session("s1", T0, T0))

        assert session_for(book, visitor("cust-a"), None, T0 + MINUTE, POLICY) == "s1"

    def test_session_of_another_customer_is_not_continued(self) -> None:
        book = ledger(session("s1", T0, T0, customer_id="cust-a"))

        made = session_for(book, visitor("cust-b"), None, T0 + MINUTE, POLICY)

        assert made != "s1"

    def test_session_handed_out_without_events_yet_continues(self) -> None:
        """An identity call's session carries on into the visitor's first event."""
        known = visitor()
        remember_session(known, "handed", T0)

        assert session_for(ledger(), known, None, T0 + MINUTE, POLICY) == "handed"

    def test_session_handed_out_longer_ago_than_the_gap_is_not_reused(self) -> None:
        known = visitor()
        remember_session(known, "handed", T0)

        made = session_for(ledger(), known, None, T0 + 31 * MINUTE, POLICY)

        assert made != "handed"


class TestRememberSession:
    def test_late_call_does_not_move_the_remembered_session_back(self) -> None:
        known = visitor()
        remember_session(known, "now", T0)

        remember_session(known, "earlier", T0 - MINUTE)

        assert (known.session_id, known.session_at) == ("now", T0)


class TestBinding:
    def test_remembered_visitor_is_bound_in_every_session(self) -> None:
        bound = visitor("cust-a")

        assert bound.bound_customer("any session") == "cust-a"

    def test_visitor_not_remembered_is_bound_only_in_its_session(self) -> None:
        bound = visitor("cust-a", remember=False)
        bound.bound_session_id = "s1"

        found = (bound.bound_customer("s1"), bound.bound_customer("s2"))

        assert found == ("cust-a", None)

    def test_anonymous_visitor_is_bound_to_no_one(self) -> None:
        assert visitor().bound_customer("s1") is None
