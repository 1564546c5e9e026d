"""Fuzzing the request decoder and validators of every write endpoint.

Valid bodies of the Kustomer tracking calls and the Segment calls are
mutated (bits flipped, text cut short, values swapped for ones of the
wrong type, raw tokens strict JSON refuses, odd unicode, duplicate keys,
deep nesting) or replaced by random bytes, then posted through the whole
app, plain or gzip, as JSON or as beacon text.

Whatever arrives: never a 5xx; every refusal is a 4xx in the canonical
error body; and a refused request stores nothing. The one exception is
by design (SPEC 8): a refused Segment message is kept in the rejected
messages, one row for the one message of a single call.

`test_strict_json.py` covers identityEvent with generated JSON values;
this file adds mutations of real bodies and the other endpoints.
"""

import gzip
import json
from typing import Any

import pytest
from httpx2 import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_input import assert_refused, row_counts
from test_strict_json import json_values

from harness import Api

EXAMPLES = 120
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # One server per test: its examples share its database on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
JANE = {
    "trackingId": "visitor-1",
    "email": "jane@example.com",
    "phone": "+14155550100",
    "externalId": "crm-42",
    "birthdayAt": "1990-05-17",
    "location": {"type": "home", "cityName": "Oslo", "latitude": 59.9},
    "tags": ["vip"],
    "custom": {"plan": "gold", "seatsNum": 3, "trialAt": "2026-01-02T03:04:05Z"},
}
CLICK = {"name": "button-clicked", "sessionId": "s-1", "meta": {"priceNum": 9.5}}
TRACK = {
    "type": "track",
    "anonymousId": "a-1",
    "userId": "u-1",
    "event": "Order Completed",
    "messageId": "m-1",
    "properties": {"total": 12.5, "items": [{"sku": "x"}]},
    "traits": {"email": "jane@example.com", "company": {"name": "Acme"}},
    "context": {"locale": "en-US", "timezone": "Europe/Oslo"},
    "timestamp": "2026-12-03T10:00:00.000Z",
}
SEEDS: dict[str, Any] = {
    "/v1/tracking/identity": JANE,
    "/v1/tracking/event": CLICK,
    "/v1/tracking/identityEvent": {"identity": JANE, "event": CLICK},
    "/v1/identify": {**TRACK, "type": "identify"},
    "/v1/track": TRACK,
    "/v1/page": {**TRACK, "type": "page", "name": "Home"},
    "/v1/screen": {**TRACK, "type": "screen", "name": "Home"},
    "/v1/group": {**TRACK, "type": "group", "groupId": "g-1"},
    "/v1/alias": {**TRACK, "type": "alias", "previousId": "a-1"},
    "/v1/batch": {"batch": [TRACK, {**TRACK, "type": "identify"}]},
}
SEGMENT_PATHS = {p for p in SEEDS if not p.startswith("/v1/tracking/")}
REJECTED = "rejected_messages"

# Tokens spliced in as raw JSON text where a value was.
RAW = [
    "NaN",
    "-Infinity",
    "1e400",
    "-1e-400",
    "1e9999999999999999999",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890.5",
    '"\\ud800"',
    '"a\\udfffb"',
    '"\\u0000"',
    '"\\u00"',
    "[" * 40 + "]" * 40,
    '{"a":' * 40 + "1" + "}" * 40,
    "[" * 5000,
    "tru",
    "01",
]
# Strings that are well-formed JSON but odd.
ODD_TEXT = [
    "",
    " ",
    "0",
    "undefined",
    "[object Object]",
    "\ufeffjane@example.com",
    "jane@example.com\n",
    "e\u0301\u0301\u0301",
    "\u202eevil",
    "a\u2028b",
    "\U0001f600" * 300,
    "x" * 5000,
    "\x7f\x1b[31m",
]
# Bytes that are not UTF-8, or are UTF-8 that JSON text must not hold.
ODD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def paths_of(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in `value`: object keys and array indexes from the root."""
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*at, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with `new` at `path`."""
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = new
    return copy


@st.composite
def wrong_value(draw: st.DrawFn, seed: Any) -> bytes:
    """One place of the body holding any JSON, odd text or a raw token."""
    path = draw(st.sampled_from(paths_of(seed)))
    kind = draw(st.sampled_from(["json", "text", "raw", "nested"]))
    if kind == "raw":
        marker = "\x01raw\x01"
        text = encode(replaced(seed, path, marker)).decode()
        raw = draw(st.sampled_from(RAW))
        return text.replace(json.dumps(marker), raw, 1).encode()
    if kind == "nested":
        depth = draw(st.sampled_from([31, 32, 33, 64]))
        new: Any = draw(json_values)
        for _ in range(depth):
            new = [new]
        return json.dumps(replaced(seed, path, new)).encode()
    new = draw(json_values) if kind == "json" else draw(st.sampled_from(ODD_TEXT))
    return json.dumps(replaced(seed, path, new)).encode()


@st.composite
def duplicated_key(draw: st.DrawFn, seed: Any) -> bytes:
    """The body with one of its own keys again, first, holding any value."""
    keys = sorted(seed) if isinstance(seed, dict) else ["x"]
    key = draw(st.sampled_from(keys))
    value = draw(json_values)
    again = f"{json.dumps(key)}: {json.dumps(value)}, "
    return b"{" + again.encode() + encode(seed)[1:]


@st.composite
def damaged(draw: st.DrawFn, text: bytes) -> bytes:
    """`text` with a few bits flipped, bytes spliced in, or its end cut."""
    data = bytearray(text)
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "cut", "splice"]))
        if how == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at:]
        else:
            data[at:at] = draw(st.sampled_from(ODD_BYTES))
    return bytes(data)


def mutated(seed: Any) -> st.SearchStrategy[bytes]:
    return (
        wrong_value(seed)
        | duplicated_key(seed)
        | damaged(encode(seed))
        | wrong_value(seed).flatmap(damaged)
        | st.binary(max_size=600)
    )


@st.composite
def requests(draw: st.DrawFn, path: str) -> tuple[bytes, dict[str, str]]:
    """A body for `path` and the headers it is sent with."""
    body = draw(mutated(SEEDS[path]))
    media = draw(st.sampled_from(["application/json", "text/plain"]))
    headers = {"Content-Type": media}
    if draw(st.booleans()):
        body = gzip.compress(body)
        if draw(st.integers(0, 4)) == 0:
            body = draw(damaged(body))
        headers["Content-Encoding"] = "gzip"
    return body, headers


def send(api: Api, path: str, body: bytes, headers: dict[str, str]) -> Response:
    sent = {**api.headers(api.tracking_key), **headers}
    return api.client.post(path, content=body, headers=sent)


def assert_nothing_stored(
    path: str, before: dict[str, int], after: dict[str, int]
) -> None:
    """Nothing stored, but for the one refused Segment message kept."""
    if path in SEGMENT_PATHS and path != "/v1/batch":
        assert after[REJECTED] - before[REJECTED] in (0, 1)
        before, after = dict(before), dict(after)
        del before[REJECTED], after[REJECTED]
    assert after == before


@pytest.mark.long
@pytest.mark.parametrize("path", sorted(SEEDS))
def test_mutated_bodies_are_stored_or_refused_cleanly(api: Api, path: str) -> None:
    """No 5xx; a refusal is a canonical 4xx and leaves every table as it was."""

    @FUZZ
    @given(request=requests(path))
    def answer(request: tuple[bytes, dict[str, str]]) -> None:
        before = row_counts(api.database)

        response = send(api, path, *request)

        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_refused(response, response.status_code)
            assert_nothing_stored(path, before, row_counts(api.database))

    answer()
