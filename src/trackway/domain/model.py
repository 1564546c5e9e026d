"""The things Trackway keeps: customers, visitors, sessions, events.

Times are integer milliseconds since the epoch (UTC). A customer's profile is
a dict keyed by the attribute names of the API (`name`, `emails`, `custom`,
...), so diffs and change records speak the same words as the API.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JSON = Any
Profile = dict[str, JSON]


class IdentifierKind(StrEnum):
    EXTERNAL_ID = "externalId"
    EMAIL = "email"
    PHONE = "phone"


# When identifiers of one call belong to different customers, the first kind
# in this order picks the customer.
PRECEDENCE = (IdentifierKind.EXTERNAL_ID, IdentifierKind.EMAIL, IdentifierKind.PHONE)

SCALAR_FIELDS = (
    "name",
    "company",
    "username",
    "signedUpAt",
    "birthdayAt",
    "gender",
    "locale",
    "timeZone",
)
LIST_LIMITS = {"emails": 10, "phones": 10, "locations": 10, "tags": 20}


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: IdentifierKind
    value: str


@dataclass(slots=True)
class Traits:
    """What one identity call says about a person, already validated.

    `fields` holds scalars, `externalId`, and the lists `emails`, `phones`,
    `locations` and `tags` as plain values; `custom` maps keys to values,
    where None clears the key.
    """

    fields: dict[str, JSON] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.fields


@dataclass(slots=True)
class IdentityCall:
    tracking_id: str | None
    session_id: str | None
    remember: bool | None  # None: not given
    identifiers: list[Identifier]
    traits: Traits
    # True when the call's time is the client's (Segment): a trait given
    # later than that time is kept rather than overwritten.
    keep_newer_traits: bool = False


@dataclass(slots=True)
class EventCall:
    name: str
    tracking_id: str | None
    session_id: str | None
    meta: dict[str, JSON]
    published_at: int
    real_ip: str | None = None


@dataclass(slots=True)
class Customer:
    org_id: str
    id: str
    rev: int
    profile: Profile
    created_at: int
    updated_at: int
    modified_at: int
    last_seen_at: int | None = None
    # When each scalar trait and custom key was last given ("name",
    # "custom.plan"), in epoch milliseconds.
    trait_times: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Visitor:
    """A trackingId and its identity record (one per org and trackingId).

    `customer_id` is the customer the visitor is bound to. With `remember`
    false the binding holds only while `bound_session_id` is the session.
    `pending` holds traits given while the visitor was anonymous.
    """

    org_id: str
    tracking_id: str
    identity_id: str
    created_at: int
    updated_at: int
    customer_id: str | None = None
    remember: bool = True
    bound_session_id: str | None = None
    pending: dict[str, JSON] | None = None
    conflict: dict[str, JSON] | None = None
    email: str | None = None
    status: str = "anonymous"
    status_at: int = 0
    session_id: str | None = None
    session_at: int | None = None

    def bound_customer(self, session_id: str | None) -> str | None:
        """The customer this visitor's calls in `session_id` belong to."""
        if self.customer_id is None:
            return None
        if self.remember or self.bound_session_id == session_id:
            return self.customer_id
        return None


@dataclass(slots=True)
class Session:
    org_id: str
    tracking_id: str
    session_id: str
    id: str
    customer_id: str | None
    first_event_at: int
    last_event_at: int
    count: int


@dataclass(slots=True)
class TrackingEvent:
    org_id: str
    id: str
    customer_id: str | None
    tracking_id: str
    session_id: str
    name: str
    meta: dict[str, JSON]
    published_at: int
    created_at: int
    real_ip: str | None = None


@dataclass(slots=True)
class ChangeRecord:
    """A `kustomer.customer.create` or `.update` entry of the timeline."""

    org_id: str
    id: str
    customer_id: str
    kind: str  # "create" or "update"
    changes: dict[str, JSON] | None
    published_at: int
    created_at: int
