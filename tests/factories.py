"""Rows written straight into the tables, for tests of the read side.

These bypass the identity rules on purpose: a read test states exactly the
rows it reads, whatever the write path would have made of a call.
"""

from pathlib import Path
from typing import Any

from trackway.domain.ids import new_id
from trackway.domain.model import (
    ChangeRecord,
    Customer,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.database import Database
from trackway.store.migrate import upgrade
from trackway.store.tables import (
    customers,
    events,
    idempotency,
    identifiers,
    sessions,
    visitors,
)

ORG = "0123456789abcdef01234567"
OTHER_ORG = "76543210fedcba9876543210"
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
MINUTE = 60_000


def new_database(tmp_path: Path) -> Database:
    """A fresh SQLite file in `tmp_path`, migrated to the latest schema."""
    url = f"sqlite:///{tmp_path / 'trackway.db'}"
    upgrade(url)
    return Database(url)


def add_customer(
    db: Database,
    org_id: str = ORG,
    profile: dict[str, Any] | None = None,
    *,
    customer_id: str | None = None,
    rev: int = 1,
    at: int = T0,
    last_seen_at: int | None = None,
) -> Customer:
    """A customer row, and identifier rows for its externalId, emails, phones."""
    customer = Customer(
        org_id=org_id,
        id=customer_id or new_id(at / 1000),
        rev=rev,
        profile=dict(profile or {}),
        created_at=at,
        updated_at=at,
        modified_at=at,
        last_seen_at=last_seen_at,
    )
    with db.write() as conn:
        conn.execute(
            customers.insert().values(
                org_id=customer.org_id,
                customer_id=customer.id,
                rev=customer.rev,
                profile=customer.profile,
                created_at=customer.created_at,
                updated_at=customer.updated_at,
                modified_at=customer.modified_at,
                last_seen_at=customer.last_seen_at,
            )
        )
        for kind, value in _identifiers(customer.profile):
            conn.execute(
                identifiers.insert().values(
                    org_id=org_id,
                    kind=kind.value,
                    value=value,
                    customer_id=customer.id,
                )
            )
    return customer


def add_session(
    db: Database,
    customer_id: str | None,
    org_id: str = ORG,
    *,
    tracking_id: str = "visitor-1",
    session_id: str | None = None,
    first_event_at: int = T0,
    last_event_at: int | None = None,
    count: int = 1,
    resource_id: str | None = None,
) -> Session:
    session = Session(
        org_id=org_id,
        tracking_id=tracking_id,
        session_id=session_id or new_id(first_event_at / 1000),
        id=resource_id or new_id(first_event_at / 1000),
        customer_id=customer_id,
        first_event_at=first_event_at,
        last_event_at=first_event_at if last_event_at is None else last_event_at,
        count=count,
    )
    with db.write() as conn:
        conn.execute(
            sessions.insert().values(
                org_id=session.org_id,
                tracking_id=session.tracking_id,
                session_id=session.session_id,
                id=session.id,
                customer_id=session.customer_id,
                first_event_at=session.first_event_at,
                last_event_at=session.last_event_at,
                count=session.count,
            )
        )
    return session


def add_event(
    db: Database,
    customer_id: str | None,
    org_id: str = ORG,
    *,
    name: str = "page-viewed",
    tracking_id: str = "visitor-1",
    session_id: str = "session-1",
    published_at: int = T0,
    meta: dict[str, Any] | None = None,
    real_ip: str | None = None,
    event_id: str | None = None,
) -> TrackingEvent:
    event = TrackingEvent(
        org_id=org_id,
        id=event_id or new_id(published_at / 1000),
        customer_id=customer_id,
        tracking_id=tracking_id,
        session_id=session_id,
        name=name,
        meta=dict(meta or {}),
        published_at=published_at,
        created_at=published_at + 5,
        real_ip=real_ip,
    )
    with db.write() as conn:
        conn.execute(
            events.insert().values(
                org_id=event.org_id,
                event_id=event.id,
                kind="tracking",
                customer_id=event.customer_id,
                tracking_id=event.tracking_id,
                session_id=event.session_id,
                name=event.name,
                meta=event.meta,
                real_ip=event.real_ip,
                published_at=event.published_at,
                created_at=event.created_at,
            )
        )
    return event


def add_change(
    db: Database,
    customer_id: str,
    org_id: str = ORG,
    *,
    kind: str = "update",
    changes: dict[str, Any] | None = None,
    published_at: int = T0,
    event_id: str | None = None,
) -> ChangeRecord:
    record = ChangeRecord(
        org_id=org_id,
        id=event_id or new_id(published_at / 1000),
        customer_id=customer_id,
        kind=kind,
        changes=changes,
        published_at=published_at,
        created_at=published_at,
    )
    with db.write() as conn:
        conn.execute(
            events.insert().values(
                org_id=record.org_id,
                event_id=record.id,
                kind=record.kind,
                customer_id=record.customer_id,
                changes=record.changes,
                published_at=record.published_at,
                created_at=record.created_at,
            )
        )
    return record


def add_visitor(
    db: Database,
    tracking_id: str,
    org_id: str = ORG,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    conflict: dict[str, Any] | None = None,
    pending: dict[str, Any] | None = None,
    at: int = T0,
) -> Visitor:
    visitor = Visitor(
        org_id=org_id,
        tracking_id=tracking_id,
        identity_id=new_id(at / 1000),
        created_at=at,
        updated_at=at,
        customer_id=customer_id,
        pending=pending,
        conflict=conflict,
        email=email,
        status="anonymous" if customer_id is None else "updated",
        status_at=at,
    )
    with db.write() as conn:
        conn.execute(
            visitors.insert().values(
                org_id=visitor.org_id,
                tracking_id=visitor.tracking_id,
                identity_id=visitor.identity_id,
                customer_id=visitor.customer_id,
                remember=visitor.remember,
                pending=visitor.pending,
                conflict=visitor.conflict,
                email=visitor.email,
                status=visitor.status,
                status_at=visitor.status_at,
                created_at=visitor.created_at,
                updated_at=visitor.updated_at,
            )
        )
    return visitor


def add_idempotency(
    db: Database,
    key: str,
    org_id: str = ORG,
    *,
    customer_id: str | None = None,
    body: str = "",
    at: int = T0,
) -> None:
    """A stored answer to an `Idempotency-Key` call."""
    with db.write() as conn:
        conn.execute(
            idempotency.insert().values(
                org_id=org_id,
                key=key,
                body_hash="0" * 64,
                status=201,
                headers={"content-type": "application/json"},
                body=body,
                customer_id=customer_id,
                created_at=at,
            )
        )


def _identifiers(profile: dict[str, Any]) -> list[tuple[IdentifierKind, str]]:
    found = []
    if "externalId" in profile:
        found.append((IdentifierKind.EXTERNAL_ID, profile["externalId"]))
    for entry in profile.get("emails", []):
        found.append((IdentifierKind.EMAIL, entry["email"]))
    for entry in profile.get("phones", []):
        found.append((IdentifierKind.PHONE, entry["phone"]))
    return found
