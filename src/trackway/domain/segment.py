"""Segment messages in Trackway's words (SPEC 8).

A Segment message speaks for a visitor (`anonymousId` is the trackingId)
and maybe a person (`userId` is the externalId). These functions turn one
message, whose JSON shape the HTTP layer has checked, into the parts of an
identity call and an event call; the identity part is then checked by the
same rules as a Kustomer identity (`calls.identity_call`).

Choices the spec leaves open, documented in the README:

- A message without `anonymousId` speaks for the visitor named by its
  `userId`, so a server-side sender's events still form sessions.
- Event names are kept as sent (Segment's have spaces: "Order Completed").
- Traits with no customer field go to `custom`, values as sent.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from trackway.domain.errors import Invalid, Problem, invalid
from trackway.domain.identifiers import check_client_id
from trackway.domain.model import JSON, EventCall, IdentityCall, Traits
from trackway.domain.times import not_before_1970, parse_datetime

PAGE_EVENT = "Web-Page-Viewed"
SCREEN_EVENT = "Screen-Viewed"
MAX_EVENT_NAME = 255
MAX_CUSTOM_KEYS = 100
MAX_KEY_LENGTH = 128
# Traits named as in Segment's spec that become a customer field.
_RENAMED = {
    "email": "email",
    "phone": "phone",
    "username": "username",
    "createdAt": "signedUpAt",
    "birthday": "birthdayAt",
}
_GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}
# Segment's address keys and the location fields they fill.
_ADDRESS = {
    "street": "address",
    "city": "cityName",
    "state": "regionName",
    "postalCode": "zipCode",
}
_SESSION_PROPERTIES = ("kustomer_session_id", "sessionId")


@dataclass(frozen=True, slots=True)
class Moment:
    """When a message happened: `at`, and the time as sent when `at` had
    to be clamped to the receive time."""

    at: int
    clamped_from: str | None = None


@dataclass(slots=True)
class IdentityParts:
    """A Kustomer-shaped identity object, the traits for `custom`, and for
    each identity field the Segment field it came from (for messages)."""

    body: dict[str, JSON] = field(default_factory=dict)
    custom: dict[str, JSON] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value: JSON, source: str) -> None:
        self.body[name] = value
        self.sources[name] = source


def event_moment(
    timestamp: str | None, sent_at: str | None, received_at: int
) -> Moment:
    """The event time: `timestamp` moved by the client's clock error.

    With `sentAt`, the time is `receivedAt - (sentAt - timestamp)`. Without
    a timestamp it is the receive time. A time after the receive time is
    clamped to it. An unreadable time, or one before 1970 once corrected,
    raises Invalid, never becomes 1970.
    """
    sent = None if sent_at is None else parse_datetime(sent_at, "sentAt")
    if timestamp is None:
        return Moment(received_at)
    at = parse_datetime(timestamp, "timestamp")
    if sent is not None:
        at = received_at - (sent - at)
    # A time ahead is clamped below, not refused: a client's clock runs fast.
    not_before_1970(at, "timestamp (corrected by sentAt)")
    if at > received_at:
        return Moment(received_at, timestamp)
    return Moment(at)


def visitor_of(anonymous_id: str | None, user_id: str | None) -> str:
    """The trackingId a message speaks for; Invalid when it names none."""
    if anonymous_id is not None:
        return check_client_id(anonymous_id, "anonymousId", "anonymousId")
    if user_id is None:
        raise invalid("a message needs a userId or an anonymousId")
    return check_client_id(user_id, "userId", "userId")


def identify_parts(
    user_id: str | None,
    traits: Mapping[str, JSON],
    context: Mapping[str, JSON],
) -> IdentityParts:
    """The identity of an identify call: userId, traits, locale and zone."""
    parts = IdentityParts()
    if user_id is not None:
        parts.put("externalId", user_id, "userId")
    for key, value in traits.items():
        _trait(parts, key, value)
    _name(parts, traits)
    for key, name in (("locale", "locale"), ("timezone", "timeZone")):
        if context.get(key) is not None:
            parts.put(name, context[key], f"context.{key}")
    _check_custom(parts.custom)
    return parts


def identify_traits(
    traits: Mapping[str, JSON], context: Mapping[str, JSON]
) -> dict[str, JSON]:
    """An identify's traits: `context.traits` (where rudder-sdk-python puts
    them), overridden by the message's own `traits`."""
    in_context = context.get("traits")
    merged = dict(in_context) if isinstance(in_context, dict) else {}
    merged.update(traits)
    return merged


def group_parts(
    user_id: str | None, group_id: str | None, traits: Mapping[str, JSON]
) -> IdentityParts:
    """A group call names the person's company: its `name` trait becomes
    the company and `groupId` the custom key `groupId`."""
    if group_id is None:
        raise invalid("a group call needs a groupId")
    parts = IdentityParts(custom={"groupId": group_id})
    if user_id is not None:
        parts.put("externalId", user_id, "userId")
    if isinstance(traits.get("name"), str):
        parts.put("company", traits["name"], "traits.name")
    return parts


def alias_parts(previous_id: str | None, user_id: str | None) -> IdentityParts:
    """Alias binds the visitor `previousId` to the customer of `userId`.

    It is an identity call, so SPEC 5.1 holds: a visitor already bound to
    another customer is rebound, and no two customers are ever fused.
    """
    if previous_id is None or user_id is None:
        raise invalid("an alias call needs a previousId and a userId")
    parts = IdentityParts()
    check_client_id(previous_id, "previousId", "previousId")
    parts.put("trackingId", previous_id, "previousId")
    parts.put("externalId", user_id, "userId")
    return parts


def person_parts(user_id: str | None) -> IdentityParts | None:
    """For a track, page or screen call: who did it, when it says."""
    if user_id is None:
        return None
    parts = IdentityParts()
    parts.put("externalId", user_id, "userId")
    return parts


def with_custom(call: IdentityCall, custom: dict[str, JSON]) -> IdentityCall:
    """`call` with Segment's custom traits, and ordered by its time."""
    fields = dict(call.traits.fields)
    if custom:
        fields["custom"] = custom
    call.traits = Traits(fields)
    call.keep_newer_traits = True
    return call


def event_name(kind: str, event: str | None) -> str:
    """The name a track, page or screen call records."""
    if kind == "page":
        return PAGE_EVENT
    if kind == "screen":
        return SCREEN_EVENT
    if not event or not event.strip():
        raise invalid("a track call needs an event name")
    if len(event) > MAX_EVENT_NAME:
        raise invalid(f"event must be at most {MAX_EVENT_NAME} characters")
    return event


def event_meta(
    kind: str,
    properties: Mapping[str, JSON],
    name: str | None,
    category: str | None,
    moment: Moment,
) -> dict[str, JSON]:
    """The properties as sent; a page or screen adds its name and category
    unless the properties carry them, and a clamped time its original."""
    meta = dict(properties)
    if kind in ("page", "screen"):
        for key, value in (("name", name), ("category", category)):
            if value is not None:
                meta.setdefault(key, value)
    if moment.clamped_from is not None:
        meta["originalTimestamp"] = moment.clamped_from
    return meta


def session_of(properties: Mapping[str, JSON]) -> str | None:
    """The sessionId a call names in its properties, if any."""
    for key in _SESSION_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if not isinstance(value, int | str):
            raise invalid(f"properties.{key} must be a string of 1 to 256 characters")
        return check_client_id(str(value), f"properties.{key}")
    return None


def segment_event(
    name: str,
    tracking_id: str,
    session_id: str | None,
    meta: dict[str, JSON],
    moment: Moment,
    real_ip: str | None,
) -> EventCall:
    return EventCall(
        name=name,
        tracking_id=tracking_id,
        session_id=session_id,
        meta=meta,
        published_at=moment.at,
        real_ip=real_ip,
    )


def in_segment_terms(error: Invalid, sources: Mapping[str, str]) -> Invalid:
    """`error` with identity field names replaced by the message's own."""
    problems = []
    for problem in error.problems:
        detail = problem.detail
        for name in sorted(sources, key=len, reverse=True):
            if detail.startswith(name):
                detail = sources[name] + detail[len(name) :]
                break
        problems.append(Problem(detail, problem.pointer))
    return Invalid(*problems)


def _trait(parts: IdentityParts, key: str, value: JSON) -> None:
    source = f"traits.{key}"
    if key in _RENAMED:
        parts.put(_RENAMED[key], value, source)
    elif key == "name":
        parts.put("name", value, source)
    elif key == "company":
        _company(parts, value)
    elif key == "gender" and _gender(value) is not None:
        parts.put("gender", _gender(value), source)
    elif key == "address" and isinstance(value, dict):
        parts.put("location", _location(value), "traits.address")
    elif key not in ("firstName", "lastName"):
        parts.custom[key] = value


def _company(parts: IdentityParts, value: JSON) -> None:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        parts.put("company", value["name"], "traits.company.name")
    elif isinstance(value, str) or value is None:
        parts.put("company", value, "traits.company")
    else:
        parts.custom["company"] = value


def _gender(value: JSON) -> str | None:
    if not isinstance(value, str):
        return None
    return _GENDERS.get(value.strip().lower())


def _name(parts: IdentityParts, traits: Mapping[str, JSON]) -> None:
    """`firstName` and `lastName` make the name when there is no `name`;
    beside a `name` they are kept in `custom`."""
    halves = {k: traits[k] for k in ("firstName", "lastName") if k in traits}
    written = [v for v in halves.values() if isinstance(v, str) and v.strip()]
    if traits.get("name") is None and written and len(written) == len(halves):
        parts.put("name", " ".join(v.strip() for v in written), "traits.firstName")
    else:
        parts.custom.update(halves)


def _location(address: Mapping[str, JSON]) -> dict[str, JSON]:
    location: dict[str, JSON] = {}
    for key, name in _ADDRESS.items():
        if address.get(key) is not None:
            location[name] = _text(address[key])
    country = address.get("country")
    if isinstance(country, str) and len(country) == 2 and country.isalpha():
        location["countryCode"] = country.upper()
    elif country is not None:
        location["countryName"] = _text(country)
    return location


def _text(value: JSON) -> JSON:
    # A postal code sent as a number is still a postal code.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_custom(custom: Mapping[str, JSON]) -> None:
    if len(custom) > MAX_CUSTOM_KEYS:
        raise invalid(f"traits has more than {MAX_CUSTOM_KEYS} custom traits")
    for key in custom:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            detail = f"trait names must be 1 to {MAX_KEY_LENGTH} characters"
            raise invalid(detail)
