"""Request Structs and `convert`: every limit is enforced, and the problem
names the field with a JSON pointer and a sentence."""

from typing import Any

import msgspec
import pytest

from trackway.api.body import convert
from trackway.api.schemas import Event, Identity, IdentityEventBody, Location
from trackway.domain.errors import Invalid, Problem


def problem_of(value: Any, schema: type[Any], prefix: str = "") -> Problem:
    with pytest.raises(Invalid) as raised:
        convert(value, schema, prefix)
    [problem] = raised.value.problems
    return problem


def both(identity: dict[str, Any] | None = None, **event: Any) -> dict[str, Any]:
    """An identityEvent body with a valid event unless `event` overrides."""
    return {"identity": identity or {}, "event": {"name": "signed-up", **event}}


def test_a_full_identity_event_converts_to_structs() -> None:
    body = both(
        {
            "trackingId": "t-1",
            "sessionId": "s-1",
            "remember": False,
            "email": "jane@example.com",
            "phone": "+14155550100",
            "externalId": "u-1",
            "name": "Jane Roe",
            "company": "Acme",
            "username": "jane",
            "signedUpAt": "2026-12-03T10:00:00Z",
            "birthdayAt": "1990-05-17",
            "gender": "f",
            "locale": "en_US",
            "timeZone": "Europe/Lisbon",
            "location": {"type": "home", "latitude": -90, "longitude": 180.0},
            "tags": ["vip"],
            "custom": {"planStr": "gold", "seatsNum": 9007199254740993},
        },
        trackingId="t-1",
        meta={"cartNum": 3},
    )

    converted = convert(body, IdentityEventBody)

    identity = converted.identity
    assert (
        identity.remember,
        identity.external_id,
        identity.gender,
    ) == (False, "u-1", "f")
    assert Location(type="home", latitude=-90.0, longitude=180.0) == identity.location
    assert identity.custom == {"planStr": "gold", "seatsNum": 9007199254740993}
    assert Event(name="signed-up", tracking_id="t-1", meta={"cartNum": 3}) == (
        converted.event
    )


def test_null_fields_read_as_not_given() -> None:
    identity = convert({"email": None, "location": None}, Identity)

    assert Identity() == identity


def test_converted_structs_encode_back_with_camel_case_and_no_defaults() -> None:
    identity = convert({"externalId": "u-1", "timeZone": "UTC"}, Identity)

    assert msgspec.to_builtins(identity) == {"externalId": "u-1", "timeZone": "UTC"}


def test_missing_event_is_required_at_its_pointer() -> None:
    problem = problem_of({"identity": {}}, IdentityEventBody)

    assert Problem("event is required", "/event") == problem


def test_missing_event_name_is_required_at_its_pointer() -> None:
    problem = problem_of({"identity": {}, "event": {}}, IdentityEventBody)

    assert Problem("event.name is required", "/event/name") == problem


def test_unknown_field_is_named_with_its_pointer() -> None:
    problem = problem_of(both(foo=1), IdentityEventBody)

    assert Problem("event.foo is not an allowed field", "/event/foo") == problem


def test_unknown_top_level_field_is_named() -> None:
    body = {**both(), "extra": True}

    problem = problem_of(body, IdentityEventBody)

    assert Problem("extra is not an allowed field", "/extra") == problem


def test_pointer_prefix_is_put_before_the_path() -> None:
    problem = problem_of({}, Event, "/batch/3")

    assert Problem("batch[3].name is required", "/batch/3/name") == problem


def test_a_body_of_the_wrong_type_names_the_body() -> None:
    problem = problem_of([], Event)

    assert Problem("body must be an object, not an array", "") == problem


STRING_256 = "x" * 257

IDENTITY_CASES = [
    ({"trackingId": ""}, "/trackingId", "trackingId must not be empty"),
    (
        {"trackingId": STRING_256},
        "/trackingId",
        "trackingId must be at most 256 characters",
    ),
    ({"sessionId": ""}, "/sessionId", "sessionId must not be empty"),
    ({"sessionId": STRING_256}, "/sessionId", "sessionId must be at most 256"),
    ({"remember": "yes"}, "/remember", "remember must be a boolean, not a string"),
    ({"remember": None}, "/remember", "remember must be a boolean, not null"),
    ({"email": 7}, "/email", "email must be a string, not an integer"),
    ({"email": STRING_256}, "/email", "email must be at most 256 characters"),
    ({"phone": STRING_256}, "/phone", "phone must be at most 256 characters"),
    ({"externalId": ""}, "/externalId", "externalId must not be empty"),
    ({"externalId": STRING_256}, "/externalId", "externalId must be at most 256"),
    ({"name": STRING_256}, "/name", "name must be at most 256 characters"),
    ({"company": STRING_256}, "/company", "company must be at most 256"),
    ({"username": STRING_256}, "/username", "username must be at most 256"),
    ({"signedUpAt": 1}, "/signedUpAt", "signedUpAt must be a string"),
    ({"birthdayAt": []}, "/birthdayAt", "birthdayAt must be a string, not an"),
    ({"gender": "x"}, "/gender", "gender must be one of: f, m"),
    ({"locale": "x" * 17}, "/locale", "locale must be at most 16 characters"),
    ({"timeZone": "x" * 65}, "/timeZone", "timeZone must be at most 64"),
    ({"tags": ["a"] * 21}, "/tags", "tags must have at most 20 items"),
    ({"tags": ["a", "b", "c", 4]}, "/tags/3", "tags[3] must be a string"),
    ({"tags": "vip"}, "/tags", "tags must be an array, not a string"),
    (
        {"custom": {f"k{i}": i for i in range(101)}},
        "/custom",
        "custom must have at most 100 keys",
    ),
    ({"custom": []}, "/custom", "custom must be an object, not an array"),
    ({"location": "home"}, "/location", "location must be an object"),
]

LOCATION_CASES = [
    ({"type": "moon"}, "/location/type", "location.type must be one of: home, other"),
    ({"name": STRING_256}, "/location/name", "must be at most 256"),
    ({"address": STRING_256}, "/location/address", "at most 256"),
    ({"address2": STRING_256}, "/location/address2", "at most 256"),
    ({"address3": STRING_256}, "/location/address3", "at most 256"),
    ({"latitude": 90.5}, "/location/latitude", "location.latitude must be at most 90"),
    ({"latitude": -91}, "/location/latitude", "must be at least -90"),
    ({"latitude": "1"}, "/location/latitude", "must be a number, not a string"),
    ({"longitude": 180.01}, "/location/longitude", "must be at most 180"),
    ({"longitude": -181}, "/location/longitude", "must be at least -180"),
    ({"countryCode": "P"}, "/location/countryCode", "must be at least 2 characters"),
    ({"countryCode": "PRT"}, "/location/countryCode", "at most 2 characters"),
    ({"countryName": "x" * 65}, "/location/countryName", "at most 64"),
    ({"regionCode": "abc"}, "/location/regionCode", "at most 2 characters"),
    ({"regionName": "x" * 129}, "/location/regionName", "at most 128"),
    ({"cityName": "x" * 129}, "/location/cityName", "at most 128"),
    ({"zipCode": "x" * 31}, "/location/zipCode", "at most 30"),
    ({"areaCode": "x" * 31}, "/location/areaCode", "at most 30"),
    ({"street": "x"}, "/location/street", "location.street is not an allowed field"),
]


@pytest.mark.parametrize(("identity", "pointer", "detail"), IDENTITY_CASES)
def test_each_identity_limit_is_enforced_at_its_pointer(
    identity: dict[str, Any], pointer: str, detail: str
) -> None:
    problem = problem_of(identity, Identity)

    assert pointer == problem.pointer
    assert problem.detail.startswith(detail)


@pytest.mark.parametrize(("location", "pointer", "detail"), LOCATION_CASES)
def test_each_location_limit_is_enforced_at_its_pointer(
    location: dict[str, Any], pointer: str, detail: str
) -> None:
    problem = problem_of({"location": location}, Identity)

    assert pointer == problem.pointer
    assert detail in problem.detail


@pytest.mark.parametrize(
    ("event", "pointer", "detail"),
    [
        ({"name": 5}, "/name", "name must be a string, not an integer"),
        ({"name": "ok", "trackingId": ""}, "/trackingId", "trackingId must not"),
        ({"name": "ok", "sessionId": STRING_256}, "/sessionId", "sessionId must"),
        (
            {"name": "ok", "meta": {f"k{i}": 1 for i in range(101)}},
            "/meta",
            "meta must have at most 100 keys",
        ),
        ({"name": "ok", "meta": "x"}, "/meta", "meta must be an object"),
    ],
)
def test_each_event_limit_is_enforced_at_its_pointer(
    event: dict[str, Any], pointer: str, detail: str
) -> None:
    problem = problem_of(event, Event)

    assert pointer == problem.pointer
    assert problem.detail.startswith(detail)


@pytest.mark.parametrize("name", ["1abc", "a", "a b", "a" * 256, "ab\n"])
def test_event_name_rules_are_left_to_the_domain_and_only_documented_here(
    name: str,
) -> None:
    """The domain's messages say what is wrong; the schema keeps the pattern
    for the OpenAPI document."""
    event = msgspec.convert({"name": name}, Event)

    schema = msgspec.json.schema(Event)["$defs"]["Event"]["properties"]["name"]
    assert event.name == name
    assert schema["pattern"] == "^[A-Za-z][A-Za-z0-9_.-]+$"
    assert schema["maxLength"] == 255


def test_limits_inside_identity_event_carry_the_outer_pointer() -> None:
    body = both({"location": {"latitude": 100}})

    problem = problem_of(body, IdentityEventBody)

    expected = Problem(
        "identity.location.latitude must be at most 90",
        "/identity/location/latitude",
    )
    assert expected == problem


@pytest.mark.parametrize("name", ["ab", "Checkout-Started", "a.b_c-d", "x" + "y" * 254])
def test_event_names_within_the_rules_are_accepted(name: str) -> None:
    assert name == convert({"name": name}, Event).name


def test_a_hundred_meta_keys_are_accepted() -> None:
    meta = {f"k{i}Num": i for i in range(100)}

    assert meta == convert({"name": "ok", "meta": meta}, Event).meta


def test_twenty_tags_are_accepted() -> None:
    tags = [f"t{i}" for i in range(20)]

    assert tags == convert({"tags": tags}, Identity).tags
