"""Property tests of the decoder path behind `POST /v1/tracking/identityEvent`.

Whatever arrives, the server answers 201 or a 4xx with the canonical error
body, never a 5xx; and every body that follows SPEC 4 is accepted.
"""

import gzip
import json
import string
from datetime import UTC
from typing import Any

from httpx2 import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Api

IDENTITY_EVENT = "/v1/tracking/identityEvent"
IDENTITY_FIELDS = [
    "trackingId",
    "sessionId",
    "remember",
    "email",
    "phone",
    "externalId",
    "name",
    "company",
    "username",
    "signedUpAt",
    "birthdayAt",
    "gender",
    "locale",
    "timeZone",
    "location",
    "tags",
    "custom",
]
EVENT_FIELDS = ["name", "trackingId", "sessionId", "meta"]
PHONES = ["+14155550100", "+447911123456", "+33612345678", "+4915123456789"]
ZONES = ["UTC", "Europe/Oslo", "America/Sao_Paulo", "Asia/Kolkata"]
PLACEHOLDERS = {"", "undefined", "null", "none", "nan", "[object object]", "0"}

CHECKS = settings(
    max_examples=150,
    deadline=None,
    # One server per test; examples share its database on purpose, so
    # later examples meet the customers and visitors of earlier ones.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Text that strict JSON can carry: no NUL, no lone surrogates.
plain_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
)


# Ids may not hold control or line-breaking characters (they come back in
# headers), nor be a placeholder that a broken client sends.
CONTROL = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]))
PLACEHOLDERS = {"", "undefined", "null", "none", "nan", "[object object]", "0"}
ids = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters=CONTROL),
    min_size=1,
    max_size=256,
).filter(lambda value: value.strip().casefold() not in PLACEHOLDERS)


def bounded(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=min_size,
        max_size=max_size,
    )


# Anything JSON can spell, and some things strict JSON refuses: NaN,
# infinities, huge integers, lone surrogates and NUL.
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**60, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["undefined", "null", "[object Object]", "\x00", "\ud800"])
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def shaped_like(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the real field names (and strangers) holding any value."""
    keys = st.sampled_from(fields) | st.text(max_size=6)
    return st.dictionaries(keys, json_values, max_size=6)


json_ish_bodies = (
    st.fixed_dictionaries(
        {"identity": shaped_like(IDENTITY_FIELDS), "event": shaped_like(EVENT_FIELDS)}
    )
    | st.dictionaries(st.sampled_from(["identity", "event", "extra"]), json_values)
    | json_values
)


def encode(value: Any) -> bytes:
    """JSON text of `value`, NaN and lone surrogates included (escaped)."""
    return json.dumps(value, allow_nan=True).encode()


# Valid bodies, field by field.

identifier_text = bounded(256, min_size=1).filter(
    lambda s: s.strip().casefold() not in PLACEHOLDERS
)
emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True).filter(
        lambda s: ".." not in s
    ),
    st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["com", "org", "io", "no"]),
)
date_times = st.datetimes(
    timezones=st.none() | st.just(UTC), allow_imaginary=False
).map(lambda moment: moment.isoformat())
dates = st.dates().map(lambda day: day.isoformat())
suffix_values: dict[str, st.SearchStrategy[Any]] = {
    "Num": st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False),
    "At": date_times,
    "Bool": st.booleans(),
    "Str": bounded(1024),
    "Txt": plain_text,
    "Url": st.builds("https://example.com/{}".format, st.text(string.ascii_letters)),
    "Id": plain_text,
    "": plain_text,
}


@st.composite
def typed_attributes(draw: st.DrawFn) -> dict[str, Any]:
    """meta or custom: keys whose suffix says the type of their value."""
    found = {}
    for _ in range(draw(st.integers(0, 5))):
        suffix = draw(st.sampled_from(sorted(suffix_values)))
        stem = draw(st.from_regex(r"[a-z][a-z0-9]{0,12}", fullmatch=True))
        value = draw(st.none() | suffix_values[suffix])
        found[stem + suffix] = value
    return found


locations = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["home", "work", "other"]),
        "name": bounded(256),
        "address": bounded(256),
        "latitude": st.floats(-90, 90),
        "longitude": st.floats(-180, 180),
        "countryCode": st.sampled_from(["NO", "BR", "US"]),
        "countryName": bounded(64),
        "regionCode": bounded(2),
        "cityName": bounded(128),
        "zipCode": bounded(30),
    },
)
identities = st.fixed_dictionaries(
    {},
    optional={
        "trackingId": ids,
        "sessionId": ids,
        "remember": st.booleans(),
        "email": emails,
        "phone": st.sampled_from(PHONES),
        "externalId": identifier_text,
        "name": bounded(256),
        "company": bounded(256),
        "username": bounded(256),
        "signedUpAt": date_times,
        "birthdayAt": dates | date_times,
        "gender": st.sampled_from(["m", "f"]),
        "locale": st.sampled_from(["en_US", "pt-BR", "nb"]),
        "timeZone": st.sampled_from(ZONES),
        "location": locations,
        "tags": st.lists(bounded(40), max_size=20, unique=True),
        "custom": typed_attributes(),
    },
)
events = st.fixed_dictionaries(
    {"name": st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{1,254}", fullmatch=True)},
    optional={
        "trackingId": ids,
        "sessionId": ids,
        "meta": typed_attributes(),
    },
)


def _ids_agree(body: dict[str, Any]) -> bool:
    """A combined call may name its ids on either side, but not two values."""
    return all(
        body["identity"].get(field, value) == value
        for field in ("trackingId", "sessionId")
        if (value := body["event"].get(field)) is not None
    )


valid_bodies = st.fixed_dictionaries({"identity": identities, "event": events}).filter(
    _ids_agree
)


def post(api: Api, content: bytes, **headers: str) -> Response:
    sent = {
        **api.headers(api.tracking_key),
        "Content-Type": "application/json",
        **headers,
    }
    return api.client.post(IDENTITY_EVENT, content=content, headers=sent)


def assert_answered(response: Response) -> None:
    """201, or a 4xx with the canonical error body; never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code == 201:
        return
    assert 400 <= response.status_code < 500, response.text
    [*errors] = response.json()["errors"]
    assert errors
    assert all(e["status"] == str(response.status_code) for e in errors)


@CHECKS
@given(value=json_ish_bodies)
def test_any_json_value_is_answered_without_a_server_error(
    api: Api, value: Any
) -> None:
    response = post(api, encode(value))

    assert_answered(response)


@CHECKS
@given(data=st.binary(max_size=512))
def test_any_bytes_are_answered_without_a_server_error(api: Api, data: bytes) -> None:
    response = post(api, data)

    assert_answered(response)
    assert response.status_code != 201


@CHECKS
@given(data=st.binary(max_size=512), media=st.sampled_from(["text/plain", "x/y"]))
def test_any_bytes_with_any_encoding_are_answered_without_a_server_error(
    api: Api, data: bytes, media: str
) -> None:
    response = post(api, data, **{"Content-Type": media, "Content-Encoding": "gzip"})

    assert_answered(response)


@CHECKS
@given(value=json_ish_bodies)
def test_any_gzip_json_value_is_answered_without_a_server_error(
    api: Api, value: Any
) -> None:
    response = post(api, gzip.compress(encode(value)), **{"Content-Encoding": "gzip"})

    assert_answered(response)


@CHECKS
@given(body=valid_bodies)
def test_every_valid_body_is_201(api: Api, body: dict[str, Any]) -> None:
    response = post(api, json.dumps(body, ensure_ascii=False).encode())

    assert response.status_code == 201, response.text
    attributes = response.json()["data"]["attributes"]
    identity = body["identity"]
    if "trackingId" in identity:
        assert attributes["trackingId"] == identity["trackingId"]
    if any(k in identity for k in ("email", "phone", "externalId")):
        assert attributes["status"] in ("created", "updated")
