"""SPEC 8's mapping: Segment fields onto customers, visitors, sessions and
events, and event times corrected for the client's clock."""

import pytest

from harness import Api
from segment_helpers import (
    MINUTE,
    T0,
    Clock,
    customer_of,
    freeze,
    rejected,
    send,
    send_batch,
    timeline,
    tracking_events,
)
from trackway.domain.times import format_ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze(monkeypatch)


def test_identify_traits_fill_the_customer_fields(api: Api) -> None:
    traits = {
        "email": "Jane.Doe@Example.com",
        "phone": "+14155550100",
        "firstName": "Jane",
        "lastName": "Doe",
        "company": {"name": "Acme", "industry": "Rockets"},
        "username": "jane",
        "createdAt": "2024-01-04T11:45:38+01:00",
        "birthday": "1992-07-04",
        "gender": "Female",
        "address": {
            "street": "1 Main Street",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": 94103,
            "country": "US",
        },
        "plan": "pro",
        "seats": {"used": 3, "paid": 5},
    }
    context = {"locale": "en-US", "timezone": "America/Los_Angeles"}

    send(api, "identify", {"userId": "u-1", "traits": traits, "context": context})

    profile = customer_of(api, "u-1")["attributes"]
    assert profile["externalId"] == "u-1"
    assert profile["emails"][0]["email"] == "jane.doe@example.com"
    assert profile["phones"][0]["phone"] == "+14155550100"
    assert profile["name"] == "Jane Doe"
    assert profile["company"] == "Acme"
    assert profile["username"] == "jane"
    assert profile["signedUpAt"] == "2024-01-04T10:45:38.000Z"
    assert profile["birthdayAt"] == "1992-07-04"
    assert profile["gender"] == "f"
    assert profile["locale"] == "en-US"
    assert profile["timeZone"] == "America/Los_Angeles"
    assert profile["locations"] == [
        {
            "address": "1 Main Street",
            "cityName": "San Francisco",
            "regionName": "CA",
            "zipCode": "94103",
            "countryCode": "US",
        }
    ]
    assert profile["custom"] == {"plan": "pro", "seats": {"used": 3, "paid": 5}}


def test_a_name_trait_wins_and_keeps_first_and_last_in_custom(api: Api) -> None:
    traits = {"name": "J. Doe", "firstName": "Jane", "lastName": "Doe"}

    send(api, "identify", {"userId": "u-1", "traits": traits})

    profile = customer_of(api, "u-1")["attributes"]
    assert profile["name"] == "J. Doe"
    assert profile["custom"] == {"firstName": "Jane", "lastName": "Doe"}


def test_a_gender_that_is_not_m_or_f_is_kept_in_custom(api: Api) -> None:
    send(api, "identify", {"userId": "u-1", "traits": {"gender": "non-binary"}})

    profile = customer_of(api, "u-1")["attributes"]
    assert profile["gender"] is None
    assert profile["custom"] == {"gender": "non-binary"}


def test_an_anonymous_identify_waits_until_the_visitor_is_known(api: Api) -> None:
    send(api, "identify", {"anonymousId": "a-1", "traits": {"plan": "pro"}})

    send(api, "identify", {"anonymousId": "a-1", "userId": "u-1"})

    assert customer_of(api, "u-1")["attributes"]["custom"] == {"plan": "pro"}


def test_track_properties_are_the_event_meta_as_sent(api: Api) -> None:
    properties = {"total": 9.99, "items": [{"sku": "a-1", "qty": 2}], "coupon": None}

    send(api, "track", {"userId": "u-1", "event": "Order Completed",
                        "properties": properties})  # fmt: skip

    [event] = tracking_events(api, "u-1")
    assert event["trackingEvent"] == "tracking.Order Completed"
    assert event["meta"] == properties


def test_page_and_screen_record_their_events_with_name_and_category(
    api: Api,
) -> None:
    page = {"userId": "u-1", "name": "Pricing", "category": "Docs",
            "properties": {"url": "https://example.com/pricing"}}  # fmt: skip
    screen = {"userId": "u-1", "name": "Settings"}

    send(api, "page", page)
    send(api, "screen", screen)

    names = {e["trackingEvent"]: e["meta"] for e in tracking_events(api, "u-1")}
    assert names == {
        "tracking.Web-Page-Viewed": {
            "url": "https://example.com/pricing",
            "name": "Pricing",
            "category": "Docs",
        },
        "tracking.Screen-Viewed": {"name": "Settings"},
    }


@pytest.mark.parametrize("key", ["kustomer_session_id", "sessionId"])
def test_a_session_id_in_the_properties_names_the_session(api: Api, key: str) -> None:
    send(api, "track", {"userId": "u-1", "event": "Clicked",
                        "properties": {key: "tab-7"}})  # fmt: skip

    [event] = tracking_events(api, "u-1")
    assert event["sessionId"] == "tab-7"


def test_events_of_one_anonymous_visitor_go_to_the_customer_it_becomes(
    api: Api,
) -> None:
    send(api, "track", {"anonymousId": "a-1", "event": "Viewed Pricing"})

    send(api, "identify", {"anonymousId": "a-1", "userId": "u-1"})
    send(api, "track", {"anonymousId": "a-1", "event": "Signed Up"})

    events = tracking_events(api, "u-1")
    assert {e["trackingEvent"] for e in events} == {
        "tracking.Viewed Pricing",
        "tracking.Signed Up",
    }
    assert {e["trackingId"] for e in events} == {"a-1"}


def test_context_ip_is_the_events_real_ip(api: Api) -> None:
    message = {"userId": "u-1", "event": "Clicked", "context": {"ip": "203.0.113.9"}}

    send(api, "track", message)

    assert tracking_events(api, "u-1")[0]["realIp"] == "203.0.113.9"


def test_a_context_ip_that_is_no_address_is_rejected(api: Api) -> None:
    message = {"userId": "u-1", "event": "Clicked", "context": {"ip": "somewhere"}}

    assert send(api, "track", message).status_code == 400


def test_group_names_the_company_and_keeps_the_group_id(api: Api) -> None:
    message = {"userId": "u-1", "groupId": "g-7", "traits": {"name": "Acme"}}

    send(api, "group", message)

    profile = customer_of(api, "u-1")["attributes"]
    assert profile["company"] == "Acme"
    assert profile["custom"] == {"groupId": "g-7"}


def test_alias_gives_the_previous_visitor_to_the_users_customer(api: Api) -> None:
    send(api, "track", {"anonymousId": "a-1", "event": "Viewed Pricing"})

    send(api, "alias", {"previousId": "a-1", "userId": "u-1"})

    [event] = tracking_events(api, "u-1")
    assert event["trackingId"] == "a-1"


def test_alias_never_fuses_two_identified_customers(api: Api) -> None:
    send(api, "identify", {"userId": "u-1", "anonymousId": "a-1",
                           "traits": {"email": "one@example.com"}})  # fmt: skip
    send(api, "identify", {"userId": "u-2", "traits": {"email": "two@example.com"}})

    send(api, "alias", {"previousId": "a-1", "userId": "u-2"})

    first = customer_of(api, "u-1")["attributes"]
    second = customer_of(api, "u-2")["attributes"]
    assert [e["email"] for e in first["emails"]] == ["one@example.com"]
    assert [e["email"] for e in second["emails"]] == ["two@example.com"]
    assert second["externalId"] == "u-2"


def test_the_event_time_is_corrected_for_the_clients_clock(
    api: Api, clock: Clock
) -> None:
    """The client's clock runs 1 hour fast; the event was 5 minutes before
    it sent the batch."""
    fast = T0 + 60 * MINUTE
    message = {"type": "track", "userId": "u-1", "event": "Clicked",
               "timestamp": format_ms(fast - 5 * MINUTE)}  # fmt: skip

    send_batch(api, [message], sentAt=format_ms(fast))

    [event] = tracking_events(api, "u-1")
    assert event["publishedAt"] == format_ms(T0 - 5 * MINUTE)


def test_a_message_sent_at_beats_the_batch_sent_at(api: Api, clock: Clock) -> None:
    message = {"type": "track", "userId": "u-1", "event": "Clicked",
               "timestamp": "2026-12-03T09:00:00Z",
               "sentAt": "2026-12-03T09:10:00Z"}  # fmt: skip

    send_batch(api, [message], sentAt="2026-12-03T12:00:00Z")

    [event] = tracking_events(api, "u-1")
    assert event["publishedAt"] == format_ms(T0 - 10 * MINUTE)


def test_without_sent_at_the_timestamp_is_taken_as_sent(api: Api, clock: Clock) -> None:
    message = {"userId": "u-1", "event": "Clicked", "timestamp": "2026-12-01T08:00"}

    send(api, "track", message)

    [event] = tracking_events(api, "u-1")
    assert event["publishedAt"] == "2026-12-01T08:00:00.000Z"


def test_without_a_timestamp_the_event_is_at_the_receive_time(
    api: Api, clock: Clock
) -> None:
    send(api, "track", {"userId": "u-1", "event": "Clicked"})

    [event] = tracking_events(api, "u-1")
    assert event["publishedAt"] == format_ms(T0)


def test_a_future_time_is_clamped_and_the_original_kept(api: Api, clock: Clock) -> None:
    future = "2027-01-01T00:00:00.000+00:00"
    message = {"userId": "u-1", "event": "Clicked", "timestamp": future}

    send(api, "track", message)

    [event] = tracking_events(api, "u-1")
    assert event["publishedAt"] == format_ms(T0)
    assert event["meta"] == {"originalTimestamp": future}


@pytest.mark.parametrize(
    "field, value",
    [
        ("timestamp", "yesterday"),
        ("timestamp", 1764756000),
        ("timestamp", "2026-02-30T10:00:00Z"),
        ("sentAt", "not a time"),
    ],
)
def test_an_unreadable_time_is_rejected_never_1970(
    api: Api, field: str, value: object
) -> None:
    message = {"type": "track", "userId": "u-1", "event": "Clicked", field: value}
    good = {"type": "track", "userId": "u-1", "event": "Kept"}

    response = send_batch(api, [message, good])

    assert response.json() == {"success": True, "accepted": 1, "rejected": 1}
    [refusal] = rejected(api)
    assert refusal["reason"].startswith(field)
    assert [e["trackingEvent"] for e in tracking_events(api, "u-1")] == [
        "tracking.Kept"
    ]


def test_identify_time_dates_the_change_record(api: Api, clock: Clock) -> None:
    message = {"userId": "u-1", "traits": {"name": "Jane"},
               "timestamp": "2026-12-03T09:30:00Z"}  # fmt: skip

    send(api, "identify", message)

    customer = customer_of(api, "u-1")
    [created] = timeline(api, customer["id"])
    assert created["name"] == "kustomer.customer.create"
    assert created["publishedAt"] == "2026-12-03T09:30:00.000Z"
    assert created["createdAt"] == format_ms(T0)


def test_identify_reads_traits_from_the_context_too(api: Api) -> None:
    """rudder-sdk-python sends identify traits as context.traits."""
    context = {"traits": {"email": "jane@example.com", "plan": "free"}}

    send(api, "identify", {"userId": "u-1", "context": context,
                           "traits": {"plan": "pro"}})  # fmt: skip

    profile = customer_of(api, "u-1")["attributes"]
    assert profile["emails"][0]["email"] == "jane@example.com"
    assert profile["custom"] == {"plan": "pro"}
