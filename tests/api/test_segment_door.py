"""The Segment door's HTTP contract: write keys, answers, gzip, limits."""

import gzip
import json
from typing import Any

import pytest

from harness import Api
from segment_helpers import basic, customer_of, rejected, send, send_batch

TRACK = {"userId": "u-1", "event": "Order Completed"}
KINDS = {
    "identify": {"userId": "u-1", "traits": {"name": "Jane"}},
    "track": TRACK,
    "page": {"userId": "u-1", "name": "Home"},
    "screen": {"userId": "u-1", "name": "Settings"},
    "group": {"userId": "u-1", "groupId": "g-1", "traits": {"name": "Acme"}},
    "alias": {"previousId": "anon-1", "userId": "u-1"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_single_call_answers_success(api: Api, kind: str) -> None:
    response = send(api, kind, KINDS[kind])

    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def test_a_batch_answers_how_many_were_accepted_and_rejected(api: Api) -> None:
    messages = [{"type": "track", **TRACK}, {"type": "track"}, 7]

    response = send_batch(api, messages)

    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 1, "rejected": 2}


def test_the_write_key_may_be_a_bearer_token(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tracking_key}"}

    response = api.client.post("/v1/track", json=TRACK, headers=headers)

    assert response.status_code == 200


def test_the_write_key_may_be_in_the_body(api: Api) -> None:
    body = {"writeKey": api.tracking_key, "batch": [{"type": "track", **TRACK}]}

    response = api.client.post("/v1/batch", json=body)

    assert response.json() == {"success": True, "accepted": 1, "rejected": 0}
    assert customer_of(api, "u-1")["attributes"]["externalId"] == "u-1"


def test_the_basic_password_is_ignored(api: Api) -> None:
    headers = {"Authorization": basic(api.tracking_key + ":ignored")["Authorization"]}

    response = api.client.post("/v1/track", json=TRACK, headers=headers)

    assert response.status_code == 200


def test_an_admin_key_is_a_write_key_too(api: Api) -> None:
    response = api.client.post("/v1/track", json=TRACK, headers=basic(api.admin_key))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest abc"},
        basic("tw_not_a_key"),
    ],
    ids=["none", "bad-base64", "other-scheme", "unknown-key"],
)
def test_a_missing_or_bad_write_key_is_401_and_stores_nothing(
    api: Api, headers: dict[str, str]
) -> None:
    response = api.client.post("/v1/track", json=TRACK, headers=headers)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "unauthorized"
    assert api.get("/v1/customers/externalId=u-1", api.read_key).status_code == 404


def test_an_unknown_key_in_the_body_is_401(api: Api) -> None:
    response = api.client.post("/v1/track", json={**TRACK, "writeKey": "nope"})

    assert response.status_code == 401


def test_a_key_without_the_tracking_role_is_403(api: Api) -> None:
    response = api.client.post("/v1/track", json=TRACK, headers=basic(api.read_key))

    assert response.status_code == 403


def test_a_header_key_is_checked_before_the_body_is_read(api: Api) -> None:
    headers = {**basic("tw_not_a_key"), "Content-Type": "application/json"}

    response = api.client.post("/v1/batch", content=b"not json", headers=headers)

    assert response.status_code == 401


def test_a_gzipped_batch_is_inflated(api: Api) -> None:
    body = json.dumps({"batch": [{"type": "track", **TRACK}]}).encode()
    headers = {
        **basic(api.tracking_key),
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }

    response = api.client.post(
        "/v1/batch", content=gzip.compress(body), headers=headers
    )

    assert response.json() == {"success": True, "accepted": 1, "rejected": 0}


def test_a_single_message_over_32_kb_is_413(api: Api) -> None:
    big = {**TRACK, "properties": {"text": "x" * 33_000}}

    response = send(api, "track", big)

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"


def test_a_batch_over_500_kb_is_413_and_stores_nothing(api: Api) -> None:
    message = {"type": "track", **TRACK, "properties": {"text": "x" * 20_000}}

    response = send_batch(api, [message] * 26)

    assert response.status_code == 413
    assert api.get("/v1/customers/externalId=u-1", api.read_key).status_code == 404


def test_a_batch_of_more_than_1000_messages_is_400_and_stores_nothing(
    api: Api,
) -> None:
    """A small body can hold many thousands of tiny messages; the cap
    keeps one request from holding the writer for seconds."""
    response = send_batch(api, [{"type": "track", **TRACK}] * 1_001 + [0] * 5_000)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["detail"] == "batch must have at most 1000 items"
    assert error["source"] == {"pointer": "/batch"}
    assert api.get("/v1/customers/externalId=u-1", api.read_key).status_code == 404
    assert rejected(api) == []


def test_a_batch_of_1000_messages_is_stored_whole(api: Api) -> None:
    messages = [{"type": "track", **TRACK, "messageId": f"m-{n}"} for n in range(1_000)]

    response = send_batch(api, messages)

    assert response.json() == {"success": True, "accepted": 1_000, "rejected": 0}


def test_a_batch_message_over_32_kb_is_rejected_alone(api: Api) -> None:
    big = {"type": "track", **TRACK, "properties": {"text": "x" * 33_000}}
    small = {"type": "track", **TRACK}

    response = send_batch(api, [small, big])

    assert response.json() == {"success": True, "accepted": 1, "rejected": 1}
    [refusal] = rejected(api)
    assert refusal["index"] == 1
    assert "at most 32768 bytes" in refusal["reason"]


def test_a_body_that_is_not_a_batch_is_400(api: Api) -> None:
    response = api.client.post(
        "/v1/batch", json={"batch": {"type": "track"}}, headers=basic(api.tracking_key)
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == {"pointer": "/batch"}


def test_a_refused_single_call_is_400_naming_the_problem_and_is_kept(
    api: Api,
) -> None:
    response = send(api, "identify", {"userId": "u-1", "traits": {"email": "nope"}})

    assert response.status_code == 400
    detail = response.json()["errors"][0]["detail"]
    assert detail.startswith("traits.email is not a valid address")
    assert [r["reason"] for r in rejected(api)] == [detail]


def test_a_message_without_user_or_anonymous_id_is_rejected(api: Api) -> None:
    response = send(api, "track", {"event": "Clicked"})

    assert response.status_code == 400
    assert "userId or an anonymousId" in response.json()["errors"][0]["detail"]


def test_a_track_without_an_event_name_is_rejected(api: Api) -> None:
    response = send(api, "track", {"userId": "u-1"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "a track call needs an event name"


def test_a_batch_message_of_an_unknown_type_is_rejected(api: Api) -> None:
    send_batch(api, [{"type": "merge", "userId": "u-1"}])

    [refusal] = rejected(api)
    assert refusal["reason"] == (
        "type must be one of: alias, group, identify, page, screen, track"
    )


def test_a_null_message_is_rejected_alone(api: Api) -> None:
    good = {"type": "track", "userId": "u-1", "event": "Order Completed"}

    response = send_batch(api, [good, None])

    assert response.json() == {"success": True, "accepted": 1, "rejected": 1}
    [refused] = rejected(api)
    assert (refused["index"], refused["message"]) == (1, None)


def test_a_time_before_1970_once_corrected_is_rejected(api: Api) -> None:
    track = {**TRACK, "type": "track"}
    far = {
        **track,
        "timestamp": "0001-01-01T00:00:00Z",
        "sentAt": "9999-12-31T23:59:59Z",
    }

    response = send_batch(api, [far, track])

    assert response.json() == {"success": True, "accepted": 1, "rejected": 1}
    assert "before 1970" in rejected(api)[0]["reason"]


@pytest.mark.parametrize(
    "change",
    [
        {"anonymousId": "a\nb"},
        {"anonymousId": "undefined"},
        {"properties": {"sessionId": "s\u0001x"}},
        {"properties": {"kustomer_session_id": "null"}},
    ],
)
def test_a_message_with_an_unusable_visitor_or_session_id_is_rejected(
    api: Api, change: dict[str, Any]
) -> None:
    track = {**TRACK, "type": "track"}

    response = send_batch(api, [{**track, **change}, track])

    assert response.json() == {"success": True, "accepted": 1, "rejected": 1}
    [refused] = rejected(api)
    assert refused["index"] == 0
