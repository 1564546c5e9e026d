"""The JSON shapes of the API as msgspec Structs.

Request Structs validate bodies (through `trackway.api.body.convert`) and
generate the OpenAPI document, so the two cannot drift. JSON names are the
camelCase of the SPEC. In request Structs `null` is read as "not given"
(except `remember`, a boolean). Limits that need more than a type (placeholder
identifiers, meta suffix rules, a whole-string match of event names) are
checked again by the domain.

Response Structs describe what the renderers write: `{"data": resource}`
documents and `{"data": [...], "links": {...}, "meta": {}}` lists.
"""

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from trackway.domain.identifiers import CONTROL_CLASS

# The pattern is searched, not fully matched, by msgspec: the domain repeats
# the check with a full match so a trailing newline is refused.
EVENT_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_.-]+$"
MAX_KEYS = 100


_Id = Annotated[str, Meta(min_length=1, max_length=256)]
# The domain's rule, in the schema too so that the OpenAPI document says it.
ID_PATTERN = f"^[^{CONTROL_CLASS}]+$"
_ClientId = Annotated[str, Meta(min_length=1, max_length=256, pattern=ID_PATTERN)]
_Text256 = Annotated[str, Meta(max_length=256)]
_Text128 = Annotated[str, Meta(max_length=128)]
_Text64 = Annotated[str, Meta(max_length=64)]
_Text30 = Annotated[str, Meta(max_length=30)]
_CountryCode = Annotated[str, Meta(min_length=2, max_length=2)]
_RegionCode = Annotated[str, Meta(max_length=2)]
_Locale = Annotated[str, Meta(max_length=16, examples=["en_US", "pt-BR"])]
_TimeZone = Annotated[str, Meta(max_length=64, description="IANA zone name")]
_DateTime = Annotated[str, Meta(description="ISO-8601; no offset means UTC")]
_Birthday = Annotated[str, Meta(description="Date-time or YYYY-MM-DD")]
_Latitude = Annotated[float, Meta(ge=-90, le=90)]
_Longitude = Annotated[float, Meta(ge=-180, le=180)]
_Tags = Annotated[list[str], Meta(max_length=20, description="Unique tags")]
_Flat = Annotated[
    dict[str, Any],
    Meta(
        max_length=MAX_KEYS,
        description="Flat: values are strings, numbers, booleans or null. "
        "The key's suffix gives its type: Num, At, Bool, Str (<= 1024 "
        "chars), Txt, Url, Id; a key without one takes a string.",
    ),
]
# Documented here, checked by the domain rules, whose messages say what is
# wrong ("must start with a letter") rather than quote the pattern.
_EventName = Annotated[
    str,
    Meta(
        description="A letter, then letters, digits, '_', '.' or '-'",
        extra_json_schema={"pattern": EVENT_NAME_PATTERN, "maxLength": 255},
    ),
]


class _Request(
    msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, rename="camel"
):
    pass


class Location(_Request):
    """A place of the person; added to the customer's locations."""

    type: Literal["home", "work", "other"] | None = None
    name: _Text256 | None = None
    address: _Text256 | None = None
    address2: _Text256 | None = None
    address3: _Text256 | None = None
    latitude: _Latitude | None = None
    longitude: _Longitude | None = None
    country_code: _CountryCode | None = None
    country_name: _Text64 | None = None
    region_code: _RegionCode | None = None
    region_name: _Text128 | None = None
    city_name: _Text128 | None = None
    zip_code: _Text30 | None = None
    area_code: _Text30 | None = None


class Identity(_Request):
    """Who the visitor is. externalId, email and phone identify a customer;
    without any of them the traits wait on the visitor. trackingId is made
    by the server when absent; remember false binds for this session only.
    """

    tracking_id: _ClientId | None = None
    session_id: _ClientId | None = None
    remember: bool | msgspec.UnsetType = msgspec.UNSET
    email: _Text256 | None = None
    phone: _Text256 | None = None
    external_id: _Id | None = None
    name: _Text256 | None = None
    company: _Text256 | None = None
    username: _Text256 | None = None
    signed_up_at: _DateTime | None = None
    birthday_at: _Birthday | None = None
    gender: Literal["m", "f"] | None = None
    locale: _Locale | None = None
    time_zone: _TimeZone | None = None
    location: Location | None = None
    tags: _Tags | None = None
    custom: _Flat | None = None


class Event(_Request):
    """Something the visitor did."""

    name: _EventName
    tracking_id: _ClientId | None = None
    session_id: _ClientId | None = None
    meta: _Flat | None = None


class IdentityEventBody(_Request):
    """An identity and an event recorded against it, both or neither."""

    identity: Identity
    event: Event


# Responses (documentation, and a shape renderers may encode directly).

Time = Annotated[str, Meta(description="ISO-8601 UTC: 2026-12-03T10:00:00.000Z")]
ServerId = Annotated[str, Meta(pattern="^[0-9a-f]{24}$")]


class _Response(msgspec.Struct, omit_defaults=True, rename="camel"):
    pass


class SelfLink(_Response):
    self_: str = msgspec.field(name="self")


class MaybeSelfLink(_Response):
    """Null for what belongs to no customer (anonymous sessions, events)."""

    self_: str | None = msgspec.field(name="self")


class Reference(_Response):
    type: str
    id: str


class Relationship(_Response):
    data: Reference | None
    links: SelfLink | None = None


class IdentityAttributes(_Response):
    tracking_id: str
    status: Literal["created", "updated", "anonymous"]
    status_at: Time
    created_at: Time
    updated_at: Time
    session_id: str
    email: str | None


class IdentityRelationships(_Response):
    org: Relationship
    customer: Relationship


class IdentityResource(_Response):
    type: Literal["identity"]
    id: ServerId
    attributes: IdentityAttributes
    relationships: IdentityRelationships
    links: SelfLink


class IdentityDocument(_Response):
    data: IdentityResource


class EmailEntry(_Response):
    type: str
    email: str
    verified: bool


class PhoneEntry(_Response):
    type: str
    phone: str
    verified: bool


class CustomerAttributes(_Response):
    """Every attribute is present; unknown scalars are null."""

    name: str | None
    display_name: str | None
    company: str | None
    external_id: str | None
    username: str | None
    emails: list[EmailEntry]
    phones: list[PhoneEntry]
    locations: list[Location]
    tags: list[str]
    custom: dict[str, Any]
    signed_up_at: Time | None
    birthday_at: Annotated[str, Meta(description="YYYY-MM-DD")] | None
    gender: Literal["m", "f"] | None
    locale: str | None
    time_zone: str | None
    last_seen_at: Time | None
    created_at: Time
    updated_at: Time
    modified_at: Time
    rev: int


class OrgRelationships(_Response):
    org: Relationship


class CustomerResource(_Response):
    type: Literal["customer"]
    id: ServerId
    attributes: CustomerAttributes
    relationships: OrgRelationships
    links: SelfLink


class CustomerDocument(_Response):
    data: CustomerResource


class SessionAttributes(_Response):
    session_id: str
    first_event_at: Time
    last_event_at: Time
    count: int


class CustomerRelationships(_Response):
    org: Relationship
    customer: Relationship


class CustomerSession(_Response):
    type: Literal["customer_session"]
    id: ServerId
    attributes: SessionAttributes
    relationships: CustomerRelationships
    links: MaybeSelfLink


class CustomerEventAttributes(_Response):
    """A tracking event (trackingEvent, meta, sessionId, ...) or a change
    record (type "customer", changes: null on create)."""

    name: str
    published_at: Time
    created_at: Time
    tracking_event: str | None = None
    meta: dict[str, Any] | None = None
    session_id: str | None = None
    tracking_id: str | None = None
    real_ip: str | None = None
    location: dict[str, Any] | None = None
    app: str | None = None
    type: Literal["customer"] | None = None
    changes: dict[str, Any] | None = None


class CustomerEvent(_Response):
    type: Literal["customer_event"]
    id: ServerId
    attributes: CustomerEventAttributes
    relationships: CustomerRelationships
    links: MaybeSelfLink


class CustomerEventDocument(_Response):
    data: CustomerEvent


class PageLinks(_Response):
    """Relative links; prev and next are null at the ends."""

    self_: str = msgspec.field(name="self")
    first: str
    prev: str | None
    next: str | None


class CursorLinks(_Response):
    """Relative links; next is null on the last page. A cursor only walks
    towards older entries, so there is no prev."""

    self_: str = msgspec.field(name="self")
    first: str
    next: str | None


class CustomerSessionList(_Response):
    data: list[CustomerSession]
    links: PageLinks
    meta: dict[str, Any]


class CustomerEventList(_Response):
    data: list[CustomerEvent]
    links: PageLinks
    meta: dict[str, Any]


class Timeline(_Response):
    data: list[CustomerEvent]
    links: CursorLinks
    meta: dict[str, Any]


class ErrorSource(_Response):
    pointer: str


class ErrorObject(_Response):
    """One problem. `message` repeats `detail`; `source` is left out when
    the problem has no place in the body."""

    status: str
    code: str
    title: str
    detail: str
    message: str
    meta: dict[str, Any]
    source: ErrorSource | None = None


class ErrorBody(_Response):
    errors: list[ErrorObject]


class Status(_Response):
    status: Literal["ok"]
