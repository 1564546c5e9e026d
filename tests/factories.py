"""Rows written straight into the tables, for tests of the read side.

These bypass the identity rules on purpose: a read test states exactly the
rows it reads, whatever the write path would have made of a call.
"""

from dataclasses import asdict
from typing import Any

from trackway.domain.ids import new_id
from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Identifier,
    IdentifierKind,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.store.database import Database
from trackway.store.ledger import SqlLedger
from trackway.store.tables import idempotency, sessions

ORG = "0123456789abcdef01234567"
OTHER_ORG = "76543210fedcba9876543210"
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
MINUTE = 60_000


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
        ledger = SqlLedger(conn)
        ledger.insert_customer(customer)
        for kind, value in _identifiers(customer.profile):
            ledger.claim(org_id, Identifier(kind, value), customer.id)
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
        # Any count and span, which the ledger's one-event upsert can't make.
        conn.execute(sessions.insert().values(asdict(session)))
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
        SqlLedger(conn).insert_event(event)
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
        SqlLedger(conn).insert_change(record)
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
        SqlLedger(conn).insert_visitor(visitor)
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
