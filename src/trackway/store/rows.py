"""Rows of the tables turned into the domain's dataclasses."""

from typing import Any

from sqlalchemy import Row

from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)


def customer_from_row(row: Row[Any]) -> Customer:
    return Customer(
        org_id=row.org_id,
        id=row.customer_id,
        rev=row.rev,
        profile=row.profile,
        created_at=row.created_at,
        updated_at=row.updated_at,
        modified_at=row.modified_at,
        last_seen_at=row.last_seen_at,
        trait_times=row.trait_times or {},
    )


def session_from_row(row: Row[Any]) -> Session:
    return Session(
        org_id=row.org_id,
        tracking_id=row.tracking_id,
        session_id=row.session_id,
        id=row.id,
        customer_id=row.customer_id,
        first_event_at=row.first_event_at,
        last_event_at=row.last_event_at,
        count=row._mapping["count"],  # `row.count` is tuple.count
    )


def visitor_from_row(row: Row[Any]) -> Visitor:
    return Visitor(
        org_id=row.org_id,
        tracking_id=row.tracking_id,
        identity_id=row.identity_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_id=row.customer_id,
        remember=bool(row.remember),
        bound_session_id=row.bound_session_id,
        pending=row.pending,
        conflict=row.conflict,
        email=row.email,
        status=row.status,
        status_at=row.status_at,
        session_id=row.session_id,
        session_at=row.session_at,
    )


def tracking_event_from_row(row: Row[Any]) -> TrackingEvent:
    return TrackingEvent(
        org_id=row.org_id,
        id=row.event_id,
        customer_id=row.customer_id,
        tracking_id=row.tracking_id,
        session_id=row.session_id,
        name=row.name,
        meta=row.meta if row.meta is not None else {},
        published_at=row.published_at,
        created_at=row.created_at,
        real_ip=row.real_ip,
    )


def stored_event(row: Row[Any]) -> TrackingEvent | ChangeRecord:
    """The domain object for a row of `events`."""
    if row.kind == "tracking":
        return tracking_event_from_row(row)
    return ChangeRecord(
        org_id=row.org_id,
        id=row.event_id,
        customer_id=row.customer_id,
        kind=row.kind,
        changes=row.changes,
        published_at=row.published_at,
        created_at=row.created_at,
    )
