"""Each Segment message on its own: messageId de-duplication, the store of
rejected messages, and per-trait ordering of late identify calls."""

import itertools
from typing import Any

import pytest

from harness import Api
from segment_helpers import (
    MINUTE,
    T0,
    Clock,
    basic,
    customer_of,
    freeze,
    rejected,
    send,
    send_batch,
    timeline,
    tracking_events,
)
from trackway.domain import roles
from trackway.domain.times import format_ms
from trackway.store import accounts
from trackway.store import rejected as rejected_store

DAY = 24 * 60 * MINUTE
BATCH_SIZE = 4


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = freeze(monkeypatch)
    monkeypatch.setattr(rejected_store, "now_ms", frozen)
    return frozen


def click(n: int, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u-1", "event": f"Click {n}",
            "messageId": f"m-{n}", **extra}  # fmt: skip


def event_names(api: Api) -> list[str]:
    return sorted(e["trackingEvent"] for e in tracking_events(api, "u-1"))


@pytest.mark.parametrize(
    "first, repeat", list(itertools.combinations(range(BATCH_SIZE), 2))
)
def test_a_repeat_inside_a_batch_is_stored_once_wherever_it_stands(
    api: Api, first: int, repeat: int
) -> None:
    others = iter(range(1, BATCH_SIZE))
    messages = [click(0) if i in (first, repeat) else click(next(others))
                for i in range(BATCH_SIZE)]  # fmt: skip

    response = send_batch(api, messages)

    assert response.json() == {"success": True, "accepted": 4, "rejected": 0}
    assert event_names(api) == [f"tracking.Click {n}" for n in range(BATCH_SIZE - 1)]


def test_a_resent_batch_stores_nothing_new(api: Api) -> None:
    messages = [click(1), click(2)]
    send_batch(api, messages, sentAt="2026-12-03T10:00:00Z")

    response = send_batch(api, messages, sentAt="2026-12-03T10:00:05Z")

    assert response.json() == {"success": True, "accepted": 2, "rejected": 0}
    assert event_names(api) == ["tracking.Click 1", "tracking.Click 2"]


def test_a_message_id_reused_with_another_payload_is_rejected(api: Api) -> None:
    send_batch(api, [click(1)])

    response = send_batch(api, [click(1, properties={"changed": True})])

    assert response.json() == {"success": True, "accepted": 0, "rejected": 1}
    [refusal] = rejected(api)
    assert refusal["messageId"] == "m-1"
    assert "already used by a message with another payload" in refusal["reason"]
    assert refusal["message"]["properties"] == {"changed": True}
    assert event_names(api) == ["tracking.Click 1"]


def test_a_reused_message_id_in_one_batch_keeps_the_first(api: Api) -> None:
    messages = [click(1), click(1, event="Other"), click(2)]

    response = send_batch(api, messages)

    assert response.json() == {"success": True, "accepted": 2, "rejected": 1}
    assert [r["index"] for r in rejected(api)] == [1]


def test_a_single_call_reusing_a_message_id_is_409(api: Api) -> None:
    send(api, "track", click(1))

    response = send(api, "track", click(1, event="Other"))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "conflict"
    assert rejected(api)[0]["messageId"] == "m-1"


def test_message_ids_are_scoped_per_org(api: Api) -> None:
    other = accounts.create_org(api.database, "globex")
    key = accounts.create_key(api.database, other, [roles.TRACKING])
    send_batch(api, [click(1)])

    response = api.client.post("/v1/batch", json={"batch": [click(1)]},
                               headers=basic(key))  # fmt: skip

    assert response.json() == {"success": True, "accepted": 1, "rejected": 0}
    assert event_names(api) == ["tracking.Click 1"]


def test_a_message_id_is_forgotten_after_the_window(api: Api, clock: Clock) -> None:
    send_batch(api, [click(1)])
    clock.now = T0 + DAY + 1

    send_batch(api, [click(1, event="Again")])

    assert event_names(api) == ["tracking.Again", "tracking.Click 1"]
    assert rejected(api) == []


def test_valid_messages_of_a_batch_are_stored_beside_rejected_ones(
    api: Api, clock: Clock
) -> None:
    bad = {"type": "identify", "userId": "u-1", "traits": {"email": "undefined"},
           "messageId": "m-bad"}  # fmt: skip

    send_batch(api, [click(1), bad, click(2)])

    assert event_names(api) == ["tracking.Click 1", "tracking.Click 2"]
    [refusal] = rejected(api)
    assert refusal == {
        "receivedAt": format_ms(T0),
        "index": 1,
        "messageId": "m-bad",
        "reason": refusal["reason"],
        "message": bad,
    }
    assert refusal["reason"].startswith("traits.email")


def test_a_rejected_message_is_kept_without_its_write_key(api: Api) -> None:
    body = {"writeKey": api.tracking_key, "userId": "u-1"}

    api.client.post("/v1/track", json=body)

    [refusal] = rejected(api)
    assert refusal["message"] == {"userId": "u-1"}


def test_a_rejected_message_loses_a_write_key_nested_in_it(api: Api) -> None:
    key = api.tracking_key
    inner = {"userId": "u-1", "context": {"writeKey": key, "ip": "1.2.3.4"}}
    body = {"writeKey": key, "batch": [{"type": "track", **inner}]}

    api.client.post("/v1/batch", json=body)

    [refusal] = rejected(api)
    assert refusal["message"] == {
        "type": "track",
        "userId": "u-1",
        "context": {"ip": "1.2.3.4"},
    }


def test_rejected_messages_need_a_reader_key(api: Api) -> None:
    response = api.get("/v1/rejected", api.tracking_key)

    assert response.status_code == 403


def test_rejected_messages_are_listed_newest_first_in_pages(
    api: Api, clock: Clock
) -> None:
    for n in range(3):
        clock.now = T0 + n * MINUTE
        send(api, "track", {"event": f"Orphan {n}"})

    response = api.get("/v1/rejected?pageSize=2", api.read_key)

    body = response.json()
    assert [e["attributes"]["receivedAt"] for e in body["data"]] == [
        format_ms(T0 + 2 * MINUTE),
        format_ms(T0 + MINUTE),
    ]
    assert body["links"]["next"] == "/v1/rejected?page=2&pageSize=2"


def test_rejected_messages_are_purged_after_seven_days(api: Api, clock: Clock) -> None:
    send(api, "track", {"event": "Orphan"})
    clock.now = T0 + 7 * DAY + 1

    send(api, "track", {"event": "Later orphan"})

    assert [r["message"]["event"] for r in rejected(api)] == ["Later orphan"]
    clock.now = T0
    assert len(rejected(api)) == 1, "the old one was deleted, not only hidden"


def test_a_late_identify_does_not_overwrite_a_newer_trait(
    api: Api, clock: Clock
) -> None:
    newer = {"userId": "u-1", "traits": {"name": "Jane Roe", "plan": "gold"},
             "timestamp": format_ms(T0 - MINUTE)}  # fmt: skip
    older = {"userId": "u-1", "traits": {"name": "Jane Doe", "plan": "free",
             "company": "Acme"}, "timestamp": format_ms(T0 - 10 * MINUTE)}  # fmt: skip
    send(api, "identify", newer)

    send(api, "identify", older)

    customer = customer_of(api, "u-1")
    profile = customer["attributes"]
    assert (profile["name"], profile["custom"]) == ("Jane Roe", {"plan": "gold"})
    assert profile["company"] == "Acme"
    late = timeline(api, customer["id"])[-1]
    assert late["publishedAt"] == format_ms(T0 - 10 * MINUTE)
    assert late["changes"]["attributes"] == {
        "company": {"op": "add", "before": None, "after": "Acme"},
        "name": {"op": "replace", "before": "Jane Roe", "after": "Jane Doe",
                 "applied": False},
        "custom.plan": {"op": "replace", "before": "gold", "after": "free",
                        "applied": False},
    }  # fmt: skip


def test_a_late_identify_loses_to_a_kustomer_call_received_after_it(
    api: Api, clock: Clock
) -> None:
    send(api, "identify", {"userId": "u-1", "traits": {"name": "Jane"}})
    kustomer = {"externalId": "u-1", "name": "Jane Roe"}
    assert api.post("/v1/tracking/identity", kustomer).status_code == 201

    late = {"userId": "u-1", "traits": {"name": "Jane Doe"},
            "timestamp": format_ms(T0 - 30 * MINUTE)}  # fmt: skip
    send(api, "identify", late)

    assert customer_of(api, "u-1")["attributes"]["name"] == "Jane Roe"


def test_a_later_identify_overwrites_as_usual(api: Api, clock: Clock) -> None:
    send(api, "identify", {"userId": "u-1", "traits": {"name": "Jane"},
                           "timestamp": format_ms(T0 - 10 * MINUTE)})  # fmt: skip

    send(api, "identify", {"userId": "u-1", "traits": {"name": "Jane Roe"},
                           "timestamp": format_ms(T0 - MINUTE)})  # fmt: skip

    customer = customer_of(api, "u-1")
    assert customer["attributes"]["name"] == "Jane Roe"
    assert customer["attributes"]["rev"] == 2


def test_erasure_forgets_rejected_messages_that_name_the_customer(
    api: Api,
) -> None:
    send(api, "identify", {"userId": "u-1", "traits": {"email": "jane@example.com"}})
    send(api, "identify", {"userId": "u-1", "traits": {"email": "jane@example.com",
                           "phone": "not a phone"}})  # fmt: skip
    customer = customer_of(api, "u-1")

    api.client.delete(f"/v1/customers/{customer['id']}", headers=api.headers())

    assert rejected(api) == []
