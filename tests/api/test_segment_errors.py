"""Refusals of the Segment door have the one canonical error body too."""

from collections.abc import Callable

import pytest
from httpx2 import Response
from test_error_shape import assert_canonical

from harness import Api
from segment_helpers import basic, send

TRACK = {"userId": "u-1", "event": "Clicked"}

Refusal = Callable[[Api], tuple[Response, str | None]]


def invalid_message(api: Api) -> tuple[Response, str | None]:
    return send(api, "track", {"userId": "u-1"}), api.tracking_key


def missing_key(api: Api) -> tuple[Response, str | None]:
    return api.client.post("/v1/track", json=TRACK), None


def unknown_key(api: Api) -> tuple[Response, str | None]:
    key = "tw_0123456789abcdef01234567_never-issued"
    return api.client.post("/v1/batch", json={"batch": []}, headers=basic(key)), key


def reader_key(api: Api) -> tuple[Response, str | None]:
    response = api.client.post("/v1/page", json=TRACK, headers=basic(api.read_key))
    return response, api.read_key


def writer_reading_rejected(api: Api) -> tuple[Response, str | None]:
    return api.get("/v1/rejected", api.tracking_key), api.tracking_key


def wrong_method(api: Api) -> tuple[Response, str | None]:
    response = api.client.get("/v1/batch", headers=basic(api.tracking_key))
    return response, api.tracking_key


def reused_message_id(api: Api) -> tuple[Response, str | None]:
    send(api, "track", {**TRACK, "messageId": "m-1"})
    changed = {**TRACK, "messageId": "m-1", "event": "Other"}
    return send(api, "track", changed), api.tracking_key


def too_large(api: Api) -> tuple[Response, str | None]:
    big = {**TRACK, "properties": {"text": "x" * 40_000}}
    return send(api, "track", big), api.tracking_key


def not_json(api: Api) -> tuple[Response, str | None]:
    headers = {**basic(api.tracking_key), "Content-Type": "application/xml"}
    response = api.client.post("/v1/batch", content=b"<batch/>", headers=headers)
    return response, api.tracking_key


REFUSALS: dict[str, tuple[int, Refusal]] = {
    "invalid message": (400, invalid_message),
    "missing key": (401, missing_key),
    "unknown key": (401, unknown_key),
    "key without the tracking role": (403, reader_key),
    "write key reading rejected messages": (403, writer_reading_rejected),
    "wrong method": (405, wrong_method),
    "reused messageId": (409, reused_message_id),
    "message over 32 KB": (413, too_large),
    "not JSON": (415, not_json),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_every_segment_refusal_has_the_canonical_body(api: Api, case: str) -> None:
    status, refuse = REFUSALS[case]

    response, key = refuse(api)

    assert_canonical(response, status, key)
