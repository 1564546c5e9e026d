"""The storage operations the rules need, inside one transaction.

`store/` implements `Ledger` for SQLite and PostgreSQL. Every method is
scoped by org. Operations that can race with another process are written as
claims and atomic upserts so the rules can re-read and retry.
"""

from typing import Protocol

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    Session,
    TrackingEvent,
    Visitor,
)


class Ledger(Protocol):
    def owners(
        self, org_id: str, identifiers: list[Identifier]
    ) -> dict[Identifier, str]:
        """The customer id owning each identifier that has an owner."""
        ...

    def claim(self, org_id: str, identifier: Identifier, customer_id: str) -> bool:
        """Give `identifier` to `customer_id` unless someone owns it already.

        Returns True when this call made the claim.
        """
        ...

    def release(self, org_id: str, identifier: Identifier, customer_id: str) -> None:
        """Undo a claim made by this transaction."""
        ...

    def customer(self, org_id: str, customer_id: str) -> Customer | None:
        """The customer, locked against concurrent updates until commit."""
        ...

    def insert_customer(self, customer: Customer) -> None: ...

    def update_customer(self, customer: Customer) -> None: ...

    def touch_customer(self, org_id: str, customer_id: str, seen_at: int) -> None:
        """Move `lastSeenAt` forward to `seen_at` if it is later."""
        ...

    def visitor(self, org_id: str, tracking_id: str) -> Visitor | None: ...

    def insert_visitor(self, visitor: Visitor) -> bool:
        """Insert unless the trackingId exists; True when inserted."""
        ...

    def update_visitor(self, visitor: Visitor) -> None: ...

    def session(
        self, org_id: str, tracking_id: str, session_id: str
    ) -> Session | None: ...

    def session_around(
        self, org_id: str, tracking_id: str, at: int, gap: int
    ) -> Session | None:
        """The visitor's latest session with an event within `gap` of `at`."""
        ...

    def add_to_session(self, session: Session, at: int) -> Session:
        """Count one event at `at` in the session, creating it if new.

        Atomic: concurrent events for one session all land in one row. The
        returned session is the stored one (its `id` and `customer_id` may
        come from a row another transaction created).
        """
        ...

    def insert_event(self, event: TrackingEvent) -> None: ...

    def insert_change(self, record: ChangeRecord) -> None: ...

    def attribute_anonymous(
        self, org_id: str, tracking_id: str, customer_id: str, since: int
    ) -> None:
        """Give the visitor's anonymous events published at or after `since`,
        and the sessions holding them, to a customer."""
        ...
