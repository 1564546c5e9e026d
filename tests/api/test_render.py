"""The JSON:API resources, pinned field by field."""

from typing import Any

import pytest

from trackway.api import render
from trackway.domain.model import (
    ChangeRecord,
    Customer,
    Session,
    TrackingEvent,
    Visitor,
)

ORG = "0123456789abcdef01234567"
CID = "656c2d1f0a1b2c3d4e5f6a7b"
# 2026-12-03T10:00:00.000Z
T0 = 1_796_292_000_000
ORG_RELATIONSHIP = {
    "data": {"type": "org", "id": ORG},
    "links": {"self": f"/v1/orgs/{ORG}"},
}
CUSTOMER_RELATIONSHIP = {
    "data": {"type": "customer", "id": CID},
    "links": {"self": f"/v1/customers/{CID}"},
}


def _customer(profile: dict[str, Any], **times: Any) -> Customer:
    return Customer(
        org_id=ORG,
        id=CID,
        rev=times.get("rev", 1),
        profile=profile,
        created_at=T0,
        updated_at=T0 + 1,
        modified_at=T0 + 2,
        last_seen_at=times.get("last_seen_at"),
    )


class TestCustomerResource:
    def test_full_profile_is_rendered_attribute_by_attribute(self) -> None:
        email = {"type": "work", "email": "jane@example.com", "verified": False}
        phone = {"type": "other", "phone": "+14155550100", "verified": False}
        location = {"type": "home", "cityName": "Lisbon", "countryCode": "PT"}
        profile = {
            "name": "Jane Roe",
            "company": "Acme",
            "externalId": "user-42",
            "username": "jroe",
            "emails": [email],
            "phones": [phone],
            "locations": [location],
            "tags": ["vip"],
            "custom": {"planStr": "gold", "seatsNum": 9007199254740993},
            "signedUpAt": "2025-01-02T03:04:05.678Z",
            "birthdayAt": "1990-05-17",
            "gender": "f",
            "locale": "pt-BR",
            "timeZone": "Europe/Lisbon",
        }
        customer = _customer(profile, rev=4, last_seen_at=T0 + 60_000)

        resource = render.customer_resource(customer)

        assert resource == {
            "type": "customer",
            "id": CID,
            "attributes": {
                "name": "Jane Roe",
                "displayName": "Jane Roe",
                "company": "Acme",
                "externalId": "user-42",
                "username": "jroe",
                "emails": [email],
                "phones": [phone],
                "locations": [location],
                "tags": ["vip"],
                "custom": {"planStr": "gold", "seatsNum": 9007199254740993},
                "signedUpAt": "2025-01-02T03:04:05.678Z",
                "birthdayAt": "1990-05-17",
                "gender": "f",
                "locale": "pt-BR",
                "timeZone": "Europe/Lisbon",
                "lastSeenAt": "2026-12-03T10:01:00.000Z",
                "createdAt": "2026-12-03T10:00:00.000Z",
                "updatedAt": "2026-12-03T10:00:00.001Z",
                "modifiedAt": "2026-12-03T10:00:00.002Z",
                "rev": 4,
            },
            "relationships": {"org": ORG_RELATIONSHIP},
            "links": {"self": f"/v1/customers/{CID}"},
        }

    def test_unset_attributes_are_null_and_unset_lists_empty(self) -> None:
        resource = render.customer_resource(_customer({}))

        attributes = resource["attributes"]
        assert {k: v for k, v in attributes.items() if v is not None} == {
            "emails": [],
            "phones": [],
            "locations": [],
            "tags": [],
            "custom": {},
            "createdAt": "2026-12-03T10:00:00.000Z",
            "updatedAt": "2026-12-03T10:00:00.001Z",
            "modifiedAt": "2026-12-03T10:00:00.002Z",
            "rev": 1,
        }
        assert len(attributes) == 20

    @pytest.mark.parametrize(
        ("profile", "expected"),
        [
            ({"name": "Jane", "externalId": "u-1"}, "Jane"),
            (
                {
                    "emails": [{"email": "a@example.com"}, {"email": "b@x.io"}],
                    "phones": [{"phone": "+14155550100"}],
                },
                "a@example.com",
            ),
            (
                {"phones": [{"phone": "+14155550100"}], "externalId": "u-1"},
                "+14155550100",
            ),
            ({"externalId": "u-1"}, "u-1"),
            ({"company": "Acme"}, None),
        ],
    )
    def test_display_name_falls_back_name_email_phone_external_id(
        self, profile: dict[str, Any], expected: str | None
    ) -> None:
        resource = render.customer_resource(_customer(profile))

        assert resource["attributes"]["displayName"] == expected


class TestSessionResource:
    def test_session_is_rendered_with_a_link_to_its_events(self) -> None:
        session = Session(
            org_id=ORG,
            tracking_id="visitor-1",
            session_id="checkout-tab",
            id="656c2d1f0a1b2c3d4e5f0001",
            customer_id=CID,
            first_event_at=T0,
            last_event_at=T0 + 750_500,
            count=7,
        )

        resource = render.session_resource(session)

        assert resource == {
            "type": "customer_session",
            "id": "656c2d1f0a1b2c3d4e5f0001",
            "attributes": {
                "sessionId": "checkout-tab",
                "firstEventAt": "2026-12-03T10:00:00.000Z",
                "lastEventAt": "2026-12-03T10:12:30.500Z",
                "count": 7,
            },
            "relationships": {
                "org": ORG_RELATIONSHIP,
                "customer": CUSTOMER_RELATIONSHIP,
            },
            "links": {
                "self": f"/v1/customers/{CID}/sessions/656c2d1f0a1b2c3d4e5f0001/events"
            },
        }


class TestEventResource:
    def test_tracking_event_is_an_identified_event(self) -> None:
        event = TrackingEvent(
            org_id=ORG,
            id="656c2d1f0a1b2c3d4e5f0002",
            customer_id=CID,
            tracking_id="visitor-1",
            session_id="checkout-tab",
            name="checkout-started",
            meta={"cartNum": 3, "couponStr": "WINTER"},
            published_at=T0,
            created_at=T0 + 10,
            real_ip="203.0.113.9",
        )

        resource = render.event_resource(event)

        assert resource == {
            "type": "customer_event",
            "id": "656c2d1f0a1b2c3d4e5f0002",
            "attributes": {
                "name": "kustomer.tracking.identified.event",
                "trackingEvent": "tracking.checkout-started",
                "publishedAt": "2026-12-03T10:00:00.000Z",
                "createdAt": "2026-12-03T10:00:00.010Z",
                "meta": {"cartNum": 3, "couponStr": "WINTER"},
                "sessionId": "checkout-tab",
                "trackingId": "visitor-1",
                "realIp": "203.0.113.9",
                "location": None,
                "app": None,
            },
            "relationships": {
                "org": ORG_RELATIONSHIP,
                "customer": CUSTOMER_RELATIONSHIP,
            },
            "links": {"self": f"/v1/customers/{CID}/events/656c2d1f0a1b2c3d4e5f0002"},
        }

    def test_update_record_carries_its_changes(self) -> None:
        changes = {
            "attributes": {
                "name": {"op": "replace", "before": "Jane", "after": "Jane Roe"}
            }
        }
        record = ChangeRecord(
            org_id=ORG,
            id="656c2d1f0a1b2c3d4e5f0003",
            customer_id=CID,
            kind="update",
            changes=changes,
            published_at=T0,
            created_at=T0,
        )

        resource = render.event_resource(record)

        assert resource == {
            "type": "customer_event",
            "id": "656c2d1f0a1b2c3d4e5f0003",
            "attributes": {
                "name": "kustomer.customer.update",
                "type": "customer",
                "publishedAt": "2026-12-03T10:00:00.000Z",
                "createdAt": "2026-12-03T10:00:00.000Z",
                "changes": changes,
            },
            "relationships": {
                "org": ORG_RELATIONSHIP,
                "customer": CUSTOMER_RELATIONSHIP,
            },
            "links": {"self": f"/v1/customers/{CID}/events/656c2d1f0a1b2c3d4e5f0003"},
        }

    def test_create_record_has_null_changes(self) -> None:
        record = ChangeRecord(
            org_id=ORG,
            id="656c2d1f0a1b2c3d4e5f0004",
            customer_id=CID,
            kind="create",
            changes=None,
            published_at=T0,
            created_at=T0,
        )

        attributes = render.event_resource(record)["attributes"]

        assert attributes["name"] == "kustomer.customer.create"
        assert attributes["changes"] is None


class TestIdentityResource:
    def _visitor(self, status: str, customer_id: str | None) -> Visitor:
        return Visitor(
            org_id=ORG,
            tracking_id="visitor-1",
            identity_id="656c2d1f0a1b2c3d4e5f0005",
            created_at=T0 - 3_600_000,
            updated_at=T0,
            customer_id=customer_id,
            email="jane@example.com" if customer_id else None,
            status=status,
            status_at=T0,
        )

    def test_identified_visitor_names_its_customer(self) -> None:
        visitor = self._visitor("created", CID)

        resource = render.identity_resource(visitor, "session-9")

        assert resource == {
            "type": "identity",
            "id": "656c2d1f0a1b2c3d4e5f0005",
            "attributes": {
                "trackingId": "visitor-1",
                "sessionId": "session-9",
                "email": "jane@example.com",
                "status": "created",
                "statusAt": "2026-12-03T10:00:00.000Z",
                "createdAt": "2026-12-03T09:00:00.000Z",
                "updatedAt": "2026-12-03T10:00:00.000Z",
            },
            "relationships": {
                "org": ORG_RELATIONSHIP,
                "customer": CUSTOMER_RELATIONSHIP,
            },
            "links": {"self": "/v1/tracking/identity/656c2d1f0a1b2c3d4e5f0005"},
        }

    def test_anonymous_call_names_no_customer_even_for_a_bound_visitor(
        self,
    ) -> None:
        visitor = self._visitor("anonymous", CID)

        resource = render.identity_resource(visitor, "session-9")

        assert resource["relationships"]["customer"] == {"data": None}


def test_list_document_wraps_resources_with_links_and_empty_meta() -> None:
    links: dict[str, str | None] = {"self": "/v1/x?page=1", "next": None}

    body = render.list_document([{"id": "a"}, {"id": "b"}], links)

    assert body == {"data": [{"id": "a"}, {"id": "b"}], "links": links, "meta": {}}


def test_document_wraps_one_resource() -> None:
    assert render.document({"id": "a"}) == {"data": {"id": "a"}}
