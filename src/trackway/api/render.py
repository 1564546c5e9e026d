"""JSON:API resources of SPEC 4.3 and 6, built as plain dicts.

Pure functions: they read the domain objects and nothing else. Times come
out as `2026-12-03T10:00:00.000Z`; links are relative paths. A function
named `*_resource` returns one resource; `document` and `list_document`
wrap resources into the bodies the endpoints send.
"""

from collections.abc import Sequence

import msgspec

from trackway.domain.model import (
    JSON,
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)
from trackway.domain.times import format_ms

Document = dict[str, JSON]
Resource = dict[str, JSON]

TRACKING_EVENT_NAME = "kustomer.tracking.identified.event"


# Decimals are numbers whose digits the client chose; they go out as
# numbers, digit for digit, not as strings.
_encoder = msgspec.json.Encoder(decimal_format="number")


def encode(document: Document) -> bytes:
    """The JSON bytes of a document."""
    return _encoder.encode(document)


def document(resource: Resource) -> Document:
    """`{"data": resource}`."""
    return {"data": resource}


def list_document(
    resources: Sequence[Resource], links: dict[str, str | None]
) -> Document:
    """`{"data": [resource, ...], "links": links, "meta": {}}`."""
    return {"data": list(resources), "links": links, "meta": {}}


def customer_resource(customer: Customer) -> Resource:
    """A customer; unset attributes are null, unset lists empty.

    ```
    {"type": "customer", "id": "<cid>",
     "attributes": {"name": "Jane Roe", "displayName": "Jane Roe",
       "company": null, "externalId": "u-1", "username": null,
       "emails": [{"type": "home", "email": "jane@example.com",
                   "verified": false}],
       "phones": [], "locations": [], "tags": [], "custom": {},
       "signedUpAt": null, "birthdayAt": "1990-05-17", "gender": null,
       "locale": null, "timeZone": null,
       "lastSeenAt": "2026-12-03T10:00:00.000Z",
       "createdAt": "...", "updatedAt": "...", "modifiedAt": "...",
       "rev": 2},
     "relationships": {"org": {"data": {"type": "org", "id": "<org>"},
                               "links": {"self": "/v1/orgs/<org>"}}},
     "links": {"self": "/v1/customers/<cid>"}}
    ```

    `displayName` is the name, else the first email, else the first
    phone, else the externalId, else null.
    """
    profile = customer.profile
    attributes: dict[str, JSON] = {
        "name": profile.get("name"),
        "displayName": display_name(customer),
        "company": profile.get("company"),
        "externalId": profile.get("externalId"),
        "username": profile.get("username"),
        "emails": list(profile.get("emails") or []),
        "phones": list(profile.get("phones") or []),
        "locations": list(profile.get("locations") or []),
        "tags": list(profile.get("tags") or []),
        "custom": dict(profile.get("custom") or {}),
        "signedUpAt": profile.get("signedUpAt"),
        "birthdayAt": profile.get("birthdayAt"),
        "gender": profile.get("gender"),
        "locale": profile.get("locale"),
        "timeZone": profile.get("timeZone"),
        "lastSeenAt": _time(customer.last_seen_at),
        "createdAt": format_ms(customer.created_at),
        "updatedAt": format_ms(customer.updated_at),
        "modifiedAt": format_ms(customer.modified_at),
        "rev": customer.rev,
    }
    return {
        "type": "customer",
        "id": customer.id,
        "attributes": attributes,
        "relationships": {"org": org_relationship(customer.org_id)},
        "links": {"self": customer_path(customer.id)},
    }


def display_name(customer: Customer) -> str | None:
    profile = customer.profile
    emails = profile.get("emails") or []
    phones = profile.get("phones") or []
    candidates = (
        profile.get("name"),
        emails[0].get("email") if emails else None,
        phones[0].get("phone") if phones else None,
        profile.get("externalId"),
    )
    return next((c for c in candidates if c), None)


def session_resource(session: Session) -> Resource:
    """A customer session; its link lists the session's events.

    ```
    {"type": "customer_session", "id": "<session resource id>",
     "attributes": {"sessionId": "<client or server sessionId>",
       "firstEventAt": "2026-12-03T10:00:00.000Z",
       "lastEventAt": "2026-12-03T10:12:30.500Z", "count": 7},
     "relationships": {
       "org": {"data": {"type": "org", "id": "<org>"},
               "links": {"self": "/v1/orgs/<org>"}},
       "customer": {"data": {"type": "customer", "id": "<cid>"},
                    "links": {"self": "/v1/customers/<cid>"}}},
     "links": {"self": "/v1/customers/<cid>/sessions/<id>/events"}}
    ```

    An anonymous session (no customer) has `"customer": {"data": null}`
    and `links.self` null.
    """
    owner = session.customer_id
    self_link = None
    if owner is not None:
        self_link = f"{customer_path(owner)}/sessions/{session.id}/events"
    return {
        "type": "customer_session",
        "id": session.id,
        "attributes": {
            "sessionId": session.session_id,
            "firstEventAt": format_ms(session.first_event_at),
            "lastEventAt": format_ms(session.last_event_at),
            "count": session.count,
        },
        "relationships": _org_and_customer(session.org_id, owner),
        "links": {"self": self_link},
    }


def event_resource(event: TrackingEvent | ChangeRecord) -> Resource:
    """A `customer_event`: a tracking event or a change record.

    Tracking event:

    ```
    {"type": "customer_event", "id": "<event id>",
     "attributes": {"name": "kustomer.tracking.identified.event",
       "trackingEvent": "tracking.checkout-started",
       "publishedAt": "2026-12-03T10:00:00.000Z",
       "createdAt": "2026-12-03T10:00:00.010Z",
       "meta": {"cartNum": 3}, "sessionId": "<sessionId>",
       "trackingId": "<trackingId>", "realIp": "203.0.113.9",
       "location": null, "app": null},
     "relationships": {"org": {...}, "customer": {...}},
     "links": {"self": "/v1/customers/<cid>/events/<event id>"}}
    ```

    Change record: the same envelope with

    ```
    "attributes": {"name": "kustomer.customer.update", "type": "customer",
      "publishedAt": "...", "createdAt": "...",
      "changes": {"attributes": {"name": {"op": "replace",
                                          "before": "Jane",
                                          "after": "Jane Roe"}}}}
    ```

    where `name` is `kustomer.customer.create` with `changes` null for the
    record of creation. `org` and `customer` are shaped as in
    `session_resource`; an anonymous tracking event has customer data null
    and `links.self` null.
    """
    if isinstance(event, TrackingEvent):
        attributes = _tracking_attributes(event)
    else:
        attributes = _change_attributes(event)
    owner = event.customer_id
    self_link = None
    if owner is not None:
        self_link = f"{customer_path(owner)}/events/{event.id}"
    return {
        "type": "customer_event",
        "id": event.id,
        "attributes": attributes,
        "relationships": _org_and_customer(event.org_id, owner),
        "links": {"self": self_link},
    }


def identity_resource(visitor: Visitor, session_id: str) -> Resource:
    """The identity record of a visitor after an identity call.

    ```
    {"type": "identity", "id": "<identity id>",
     "attributes": {"trackingId": "<trackingId>", "sessionId": "<sessionId>",
       "email": "jane@example.com", "status": "created",
       "statusAt": "2026-12-03T10:00:00.000Z",
       "createdAt": "2026-12-03T09:00:00.000Z",
       "updatedAt": "2026-12-03T10:00:00.000Z"},
     "relationships": {
       "org": {"data": {"type": "org", "id": "<org>"},
               "links": {"self": "/v1/orgs/<org>"}},
       "customer": {"data": {"type": "customer", "id": "<cid>"},
                    "links": {"self": "/v1/customers/<cid>"}}},
     "links": {"self": "/v1/tracking/identity/<identity id>"}}
    ```

    With status `anonymous` the customer relationship is `{"data": null}`,
    even for a visitor bound earlier: the call resolved to no one.
    """
    resolved = None if visitor.status == "anonymous" else visitor.customer_id
    return {
        "type": "identity",
        "id": visitor.identity_id,
        "attributes": {
            "trackingId": visitor.tracking_id,
            "sessionId": session_id,
            "email": visitor.email,
            "status": visitor.status,
            "statusAt": format_ms(visitor.status_at),
            "createdAt": format_ms(visitor.created_at),
            "updatedAt": format_ms(visitor.updated_at),
        },
        "relationships": _org_and_customer(visitor.org_id, resolved),
        "links": {"self": f"/v1/tracking/identity/{visitor.identity_id}"},
    }


def org_relationship(org_id: str) -> JSON:
    """The org's data and link.

    `{"data": {"type": "org", "id": "<org>"},
      "links": {"self": "/v1/orgs/<org>"}}`
    """
    return {
        "data": {"type": "org", "id": org_id},
        "links": {"self": f"/v1/orgs/{org_id}"},
    }


def customer_relationship(customer_id: str | None) -> JSON:
    """The customer's data and link, or `{"data": null}` for no customer."""
    if customer_id is None:
        return {"data": None}
    return {
        "data": {"type": "customer", "id": customer_id},
        "links": {"self": customer_path(customer_id)},
    }


def customer_path(customer_id: str) -> str:
    return f"/v1/customers/{customer_id}"


def _org_and_customer(org_id: str, customer_id: str | None) -> JSON:
    return {
        "org": org_relationship(org_id),
        "customer": customer_relationship(customer_id),
    }


def _tracking_attributes(event: TrackingEvent) -> dict[str, JSON]:
    return {
        "name": TRACKING_EVENT_NAME,
        "trackingEvent": f"tracking.{event.name}",
        "publishedAt": format_ms(event.published_at),
        "createdAt": format_ms(event.created_at),
        "meta": event.meta,
        "sessionId": event.session_id,
        "trackingId": event.tracking_id,
        "realIp": event.real_ip,
        # Trackway resolves no geolocation and knows no app.
        "location": None,
        "app": None,
    }


def _change_attributes(record: ChangeRecord) -> dict[str, JSON]:
    return {
        "name": f"kustomer.customer.{record.kind}",
        "type": "customer",
        "publishedAt": format_ms(record.published_at),
        "createdAt": format_ms(record.created_at),
        "changes": None if record.kind == "create" else record.changes,
    }


def _time(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)
